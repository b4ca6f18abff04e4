#include "stirrup/tools/mcp/mcp_tool_provider.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <set>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/limiter.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/tools/detail/image_normalize.hpp"
#include "stirrup/tools/detail/png_chunks.hpp"
#include "stirrup/tools/mcp/detail/json_schema.hpp"
#include "stirrup/tools/mcp/detail/server_connection.hpp"

namespace stirrup {
namespace asio = boost::asio;
namespace json = boost::json;
using detail::mcp::ServerConnection;

namespace {

/// Runs `make(i)` for every index at once and waits for all of them; the
/// first failure (in index order) is rethrown after all have ended.
template <class Make>
asio::awaitable<void> for_all(std::size_t n, Make make)
{
    if (n == 0)
        co_return;
    auto ex = co_await asio::this_coro::executor;
    using Op = decltype(asio::co_spawn(ex, make(std::size_t{0}), asio::deferred));
    std::vector<Op> ops;
    for (std::size_t i = 0; i < n; ++i)
        ops.push_back(asio::co_spawn(ex, make(i), asio::deferred));
    auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                               .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    (void)order;
    for (auto& e : errors)
        if (e)
            std::rethrow_exception(e);
}

} // namespace

struct McpToolProvider::Impl {
    asio::any_io_executor ex;
    McpOptions options;
    std::vector<std::shared_ptr<ServerConnection>> servers;
    AsyncSemaphore gate{1};
    std::size_t users = 0; // under gate

    // The compiled schema of every tool, keyed by its agent name; rebuilt on
    // each (re)connection of its server.
    mutable std::mutex mutex;
    std::map<std::string, std::shared_ptr<const detail::mcp::JsonSchema>> schemas;

    ServerConnection* find(std::string_view name) const
    {
        for (const auto& s : servers)
            if (s->config().name == name)
                return s.get();
        return nullptr;
    }

    void compile_schemas(const ServerConnection& server)
    {
        std::map<std::string, std::shared_ptr<const detail::mcp::JsonSchema>> fresh;
        for (const auto& t : server.tools()) {
            const std::string name = server.config().name + "__" + t.name;
            try {
                fresh[name] =
                    std::make_shared<const detail::mcp::JsonSchema>(detail::mcp::JsonSchema::compile(t.input_schema));
            } catch (const std::exception& e) {
                // The model may still call it; the server checks the arguments.
                if (options.log)
                    options.log(LogLevel::warning, server.config().name,
                                "tool '" + t.name + "': its inputSchema cannot be checked here: " + e.what());
            }
        }
        std::lock_guard lock(mutex);
        for (auto& [k, v] : fresh)
            schemas[k] = std::move(v);
    }

    std::shared_ptr<const detail::mcp::JsonSchema> schema(const std::string& tool) const
    {
        std::lock_guard lock(mutex);
        auto it = schemas.find(tool);
        return it == schemas.end() ? nullptr : it->second;
    }
};

McpToolProvider::McpToolProvider(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

McpToolProvider::~McpToolProvider()
{
    // Not closed: the servers are closed in the background (a stdio server
    // is killed by its transport's destructor if the loop is gone).
    for (auto& s : impl_->servers)
        asio::co_spawn(
            impl_->ex, [s]() -> asio::awaitable<void> { co_await s->close(); }, asio::detached);
}

std::shared_ptr<McpToolProvider> McpToolProvider::make(asio::any_io_executor ex, McpConfig config, McpOptions options)
{
    auto impl = std::make_shared<Impl>();
    impl->ex = ex;
    if (!options.http_client) {
        bool needs_http = false;
        for (const auto& s : config.servers)
            needs_http = needs_http || s.transport == McpTransport::sse || s.transport == McpTransport::streamable_http;
        if (needs_http)
            options.http_client = std::make_shared<net::HttpClient>(ex, options.http);
    }
    detail::mcp::ConnectionOptions co;
    co.client_name = options.client_name;
    co.client_version = options.client_version;
    co.http = options.http_client;
    co.log = options.log;
    std::set<std::string> names;
    for (auto& s : config.servers) {
        if (!names.insert(s.name).second)
            throw ConfigError("MCP config: server '" + s.name + "' is listed twice");
        impl->servers.push_back(std::make_shared<ServerConnection>(std::move(s), ex, co));
    }
    impl->options = std::move(options);
    return std::make_shared<McpToolProvider>(std::move(impl));
}

std::shared_ptr<McpToolProvider> McpToolProvider::from_config(asio::any_io_executor ex,
                                                              const std::filesystem::path& path,
                                                              const std::vector<std::string>& server_names,
                                                              McpOptions options)
{
    return make(std::move(ex), McpConfig::load(path, server_names), std::move(options));
}

asio::awaitable<void> McpToolProvider::connect()
{
    auto impl = impl_;
    auto permit = co_await impl->gate.acquire();
    if (impl->users > 0) {
        ++impl->users;
        co_return;
    }
    std::exception_ptr failure;
    try {
        // Named: GCC 12 mishandles a lambda temporary inside co_await.
        auto connect_one = [impl](std::size_t i) -> asio::awaitable<void> {
            co_await impl->servers[i]->connect();
            impl->compile_schemas(*impl->servers[i]);
        };
        co_await for_all(impl->servers.size(), connect_one);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        // All or nothing: the servers that did connect are closed again.
        co_await asio::this_coro::reset_cancellation_state();
        auto close_one = [impl](std::size_t i) { return impl->servers[i]->close(); };
        co_await for_all(impl->servers.size(), close_one);
        std::rethrow_exception(failure);
    }
    impl->users = 1;
}

asio::awaitable<void> McpToolProvider::close()
{
    auto impl = impl_;
    co_await asio::this_coro::reset_cancellation_state();
    auto permit = co_await impl->gate.acquire();
    if (impl->users == 0 || --impl->users > 0)
        co_return;
    auto close_one = [impl](std::size_t i) { return impl->servers[i]->close(); };
    co_await for_all(impl->servers.size(), close_one);
}

std::vector<McpToolInfo> McpToolProvider::tool_infos() const
{
    std::vector<McpToolInfo> out;
    for (const auto& s : impl_->servers)
        for (auto& t : s->tools())
            out.push_back({s->config().name, std::move(t.name), std::move(t.description), std::move(t.input_schema)});
    return out;
}

namespace {

asio::awaitable<Content> to_content(detail::mcp::CallOutcome outcome)
{
    std::vector<ContentPart> parts;
    for (auto& b : outcome.blocks) {
        switch (b.kind) {
        case detail::mcp::ResultBlock::Kind::text:
            parts.emplace_back(std::move(b.text));
            break;
        case detail::mcp::ResultBlock::Kind::image: {
            // Checked and sized as view_image does: the bytes come from a
            // server and go to the model. One that cannot be decoded becomes
            // a note, so the rest of the result still reaches the model.
            ImageBlock png;
            std::string error;
            std::function<void()> normalize = [&] {
                try {
                    png = detail::normalize_image(detail::drop_damaged_ancillary_chunks(b.data));
                } catch (const detail::ImageError& e) {
                    error = e.what();
                }
            };
            co_await detail::offload(std::move(normalize));
            if (error.empty())
                parts.emplace_back(std::move(png));
            else
                parts.emplace_back("[" + b.mime_type + " image not shown: " + error + "]");
            break;
        }
        case detail::mcp::ResultBlock::Kind::audio:
            parts.emplace_back(AudioBlock{std::move(b.data), std::move(b.mime_type)});
            break;
        }
    }
    if (parts.empty())
        co_return Content(std::string());
    if (parts.size() == 1 && std::holds_alternative<std::string>(parts.front()))
        co_return Content(std::move(std::get<std::string>(parts.front())));
    co_return Content(std::move(parts));
}

asio::awaitable<ToolResult> call(std::shared_ptr<McpToolProvider::Impl> impl, ServerConnection* server,
                                 std::string tool, json::object arguments, ToolContext* context)
{
    if (!server->connected()) {
        // Lost since the last call: one reconnection (shared with whoever
        // else finds it lost) before giving up.
        co_await server->connect();
        impl->compile_schemas(*server);
    }
    detail::mcp::ProgressFn progress;
    if (context)
        progress = [context, name = server->config().name + "__" + tool](std::string_view text) {
            context->log(LogLevel::info, name + ": " + std::string(text));
        };
    json::object params{{"name", tool}, {"arguments", std::move(arguments)}};
    std::string method = "tools/call";
    const json::value result = co_await server->request(std::move(method), std::move(params),
                                                        server->config().call_timeout, std::move(progress));
    auto outcome = detail::mcp::parse_call_result(result, tool);
    const bool is_error = outcome.is_error;
    ToolResult out;
    out.content = co_await to_content(std::move(outcome));
    out.success = !is_error;
    out.metadata = ToolMetadata::use_count();
    co_return out;
}

} // namespace

std::vector<Tool> McpToolProvider::tools() const
{
    std::vector<Tool> out;
    for (const auto& s : impl_->servers) {
        for (const auto& t : s->tools()) {
            Tool tool;
            tool.name = s->config().name + "__" + t.name;
            tool.description = t.description && !t.description->empty()
                                   ? *t.description
                                   : "Tool '" + t.name + "' from " + s->config().name;
            // The schema goes to the model as the server wrote it.
            tool.parameters_schema = json::serialize(t.input_schema);
            tool.parse_arguments = [impl = impl_, name = tool.name](const json::value& arguments) {
                if (!arguments.is_object())
                    throw InvalidToolArguments("the arguments must be a JSON object", true);
                if (auto schema = impl->schema(name)) {
                    auto errors = schema->validate(arguments);
                    if (!errors.empty()) {
                        std::string why;
                        for (const auto& e : errors)
                            why += (why.empty() ? "" : "; ") + e;
                        throw InvalidToolArguments(why, true);
                    }
                }
                return arguments.get_object();
            };
            tool.execute = [impl = impl_, server = s.get(), name = t.name](json::object arguments,
                                                                           ToolContext& context) {
                return call(impl, server, name, std::move(arguments), &context);
            };
            out.push_back(std::move(tool));
        }
    }
    return out;
}

asio::awaitable<Content> McpToolProvider::call_tool(std::string_view server, std::string_view tool,
                                                    json::object arguments)
{
    auto impl = impl_;
    ServerConnection* s = impl->find(server);
    if (!s)
        throw McpError("Server '" + std::string(server) + "' not connected");
    if (auto schema = impl->schema(std::string(server) + "__" + std::string(tool))) {
        auto errors = schema->validate(arguments);
        if (!errors.empty())
            throw InvalidToolArguments(errors.front(), true);
    }
    ToolResult r = co_await call(impl, s, std::string(tool), std::move(arguments), nullptr);
    if (!r.success)
        throw McpError("MCP tool '" + std::string(tool) + "' failed: " + content_text(r.content));
    co_return std::move(r.content);
}

namespace {

class StartedMcpTools final : public StartedTools {
public:
    explicit StartedMcpTools(std::shared_ptr<McpToolProvider> provider) : provider_(std::move(provider))
    {
        tools = provider_->tools();
    }
    ~StartedMcpTools() override
    {
        if (provider_)
            asio::co_spawn(
                executor_, [p = provider_]() -> asio::awaitable<void> { co_await p->close(); }, asio::detached);
    }

    asio::awaitable<void> stop() override
    {
        auto p = std::move(provider_);
        if (p)
            co_await p->close();
    }

    asio::any_io_executor executor_;

private:
    std::shared_ptr<McpToolProvider> provider_;
};

} // namespace

asio::awaitable<std::unique_ptr<StartedTools>> McpToolProvider::start(CodeExecProvider*) const
{
    auto self = std::const_pointer_cast<McpToolProvider>(shared_from_this());
    co_await self->connect();
    auto started = std::make_unique<StartedMcpTools>(self);
    started->executor_ = co_await asio::this_coro::executor;
    co_return started;
}

} // namespace stirrup
