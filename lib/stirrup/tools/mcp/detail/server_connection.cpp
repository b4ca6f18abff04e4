#include "stirrup/tools/mcp/detail/server_connection.hpp"

#include <algorithm>
#include <set>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "stirrup/core/detail/cancellation.hpp"
#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/core/detail/timer_limit.hpp"
#include "stirrup/tools/mcp/detail/jsonrpc.hpp"

namespace stirrup::detail::mcp {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// What ends a request: its result, the server's error answer, or the loss
// of the connection (its reason).
struct Lost {
    std::string reason;
};
struct TimedOut {};
using Outcome = std::variant<json::value, RpcError, Lost, TimedOut>;
using OutcomeChannel = asio::experimental::concurrent_channel<void(boost::system::error_code, Outcome)>;

std::string seconds_text(std::chrono::milliseconds d)
{
    const auto ms = d.count();
    if (ms % 1000 == 0)
        return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

constexpr std::size_t kMaxToolPages = 1000;

} // namespace

struct ServerConnection::Pending {
    explicit Pending(asio::any_io_executor ex) : channel(std::move(ex), 1) {}
    OutcomeChannel channel;
    ProgressFn progress;
    /// When the sweeper fails it; max: bounded by its caller instead.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

ServerConnection::ServerConnection(McpServerConfig config, asio::any_io_executor ex, ConnectionOptions options)
    : config_(std::move(config)), strand_(asio::make_strand(ex)), options_(std::move(options))
{
}

ServerConnection::~ServerConnection() = default;

bool ServerConnection::connected() const
{
    std::lock_guard lock(mutex_);
    return connected_;
}

std::vector<ToolInfo> ServerConnection::tools() const
{
    std::lock_guard lock(mutex_);
    return tools_;
}

std::size_t ServerConnection::in_flight() const
{
    std::lock_guard lock(mutex_);
    return pending_.size();
}

void ServerConnection::log(LogLevel level, std::string_view text) const
{
    if (options_.log)
        options_.log(level, config_.name, text);
}

std::unique_ptr<Transport> ServerConnection::make_transport()
{
    TransportContext context{strand_, options_.http, [self = weak_from_this()](LogLevel level, std::string_view text) {
                                 if (auto s = self.lock())
                                     s->log(level, text);
                             }};
    switch (config_.transport) {
    case McpTransport::stdio:
        return make_stdio_transport(config_, std::move(context));
    case McpTransport::streamable_http:
        return make_streamable_http_transport(config_, std::move(context));
    case McpTransport::sse:
        return make_sse_transport(config_, std::move(context));
    case McpTransport::websocket:
        return make_websocket_transport(config_, std::move(context));
    }
    throw McpError("unknown MCP transport");
}

asio::awaitable<void> ServerConnection::connect()
{
    auto permit = co_await gate_.acquire();
    if (connected())
        co_return;
    auto self = shared_from_this();
    co_await asio::co_spawn(strand_, open_on_strand(), asio::use_awaitable);
}

asio::awaitable<void> ServerConnection::open_on_strand()
{
    TransportPtr t = make_transport();
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        generation = ++generation_;
        transport_ = t;
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.connect_timeout;
    std::optional<std::string> failure;
    auto remaining = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    };
    try {
        auto open = t->open();
        auto opened = co_await race_until(std::move(open), deadline);
        if (opened.timed_out)
            throw McpError("timed out after " + seconds_text(config_.connect_timeout));
        if (opened.failure)
            std::rethrow_exception(opened.failure);
        asio::co_spawn(strand_, read_loop(t, generation), asio::detached);
        {
            auto timer = std::make_shared<asio::steady_timer>(strand_);
            {
                std::lock_guard lock(mutex_);
                sweep_timer_ = timer;
            }
            asio::co_spawn(strand_, sweep(timer, generation), asio::detached);
        }

        const json::value init_params = initialize_params(options_.client_name, options_.client_version);
        // GCC 12 miscompiles temporaries made from literals or braces inside
        // a co_await expression: the arguments are named first.
        std::string method = "initialize";
        const ProgressFn no_progress;
        const json::value init = co_await request_on(t, method, init_params, remaining(), no_progress);
        ServerInfo info = parse_initialize_result(init, config_.name);
        const json::value none;
        co_await t->send(write_notification("notifications/initialized", none), nullptr);
        t->initialized(info.protocol_version);

        std::vector<ToolInfo> tools;
        std::optional<std::string> cursor;
        std::set<std::string> seen_cursors;
        for (std::size_t page = 0;; ++page) {
            if (page == kMaxToolPages)
                throw McpError("tools/list has more than " + std::to_string(kMaxToolPages) + " pages");
            const json::value list_params = tools_list_params(cursor);
            method = "tools/list";
            const json::value result = co_await request_on(t, method, list_params, remaining(), no_progress);
            ToolsPage p = parse_tools_page(result, config_.name);
            for (auto& tool : p.tools)
                tools.push_back(std::move(tool));
            if (!p.next_cursor)
                break;
            if (!seen_cursors.insert(*p.next_cursor).second)
                throw McpError("tools/list repeats the cursor '" + *p.next_cursor + "'");
            cursor = std::move(p.next_cursor);
        }
        std::lock_guard lock(mutex_);
        if (generation != generation_)
            throw McpError("the connection was closed while it was being set up");
        info_ = std::move(info);
        tools_ = std::move(tools);
        connected_ = true;
        co_return;
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            failure = e.what();
        // Cancelled: the transport is closed below, the cancellation passed on.
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (failure) {
        lost(generation, *failure);
        co_await t->close();
        throw McpError("cannot connect to MCP server '" + config_.name + "': " + *failure);
    }
    lost(generation, "connecting was cancelled");
    co_await t->close();
    throw boost::system::system_error(asio::error::operation_aborted);
}

asio::awaitable<void> ServerConnection::close()
{
    auto self = shared_from_this();
    co_await asio::this_coro::reset_cancellation_state();
    auto permit = co_await gate_.acquire();
    co_await asio::co_spawn(strand_, close_on_strand(), asio::use_awaitable);
}

asio::awaitable<void> ServerConnection::close_on_strand()
{
    TransportPtr t;
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        t = std::move(transport_);
        generation = generation_;
    }
    lost(generation, "the MCP connection to '" + config_.name + "' was closed");
    {
        std::lock_guard lock(mutex_);
        ++generation_;
    }
    if (t)
        co_await t->close();
}

void ServerConnection::lost(std::uint64_t generation, const std::string& reason)
{
    std::map<std::int64_t, std::shared_ptr<Pending>> failed;
    {
        std::lock_guard lock(mutex_);
        if (generation != generation_)
            return;
        connected_ = false;
        failed.swap(pending_);
        if (sweep_timer_)
            sweep_timer_->cancel();
        sweep_timer_.reset();
    }
    for (auto& [id, p] : failed)
        p->channel.try_send(boost::system::error_code{}, Outcome(Lost{reason}));
}

asio::awaitable<void> ServerConnection::read_loop(TransportPtr t, std::uint64_t generation)
{
    auto self = shared_from_this();
    std::string reason = "MCP server '" + config_.name + "' closed the connection";
    // The failure is taken out of the handler before it is read: GCC 12
    // frees an exception from a co_await twice when a coroutine's handler
    // catches it by type.
    std::exception_ptr failure;
    for (;;) {
        std::optional<Inbound> in;
        try {
            in = co_await t->receive();
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure || !in)
            break;
        handle(*in, t);
    }
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const McpError& e) {
            reason = e.what();
        } catch (const boost::system::system_error& e) {
            if (e.code() == asio::error::operation_aborted)
                reason = "the MCP connection to '" + config_.name + "' was closed";
            else
                reason = "MCP server '" + config_.name + "': " + e.what();
        } catch (const std::exception& e) {
            reason = "MCP server '" + config_.name + "': " + e.what();
        }
    }
    bool current = false;
    {
        std::lock_guard lock(mutex_);
        current = generation == generation_ && connected_;
    }
    if (current)
        log(LogLevel::warning, reason);
    lost(generation, reason);
    // A dead server is cleaned up now, not at the next call (a crashed
    // process must be reaped; its group may still hold children).
    co_await t->close();
}

void ServerConnection::send_detached(TransportPtr t, std::string message)
{
    auto op = [](TransportPtr t, std::string message) -> asio::awaitable<void> {
        try {
            co_await t->send(std::move(message), nullptr);
        } catch (...) {
            // The connection is going away: its loss is reported by the reader.
        }
    };
    asio::co_spawn(strand_, op(std::move(t), std::move(message)), asio::detached);
}

std::shared_ptr<ServerConnection::Pending> ServerConnection::take_pending(const json::value& id)
{
    if (!id.is_int64())
        return nullptr;
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id.get_int64());
    if (it == pending_.end())
        return nullptr;
    auto p = std::move(it->second);
    pending_.erase(it);
    return p;
}

void ServerConnection::handle(const Inbound& in, const TransportPtr& t)
{
    if (in.failed_request)
        if (auto p = take_pending(*in.failed_request))
            p->channel.try_send(boost::system::error_code{}, Outcome(Lost{in.failure}));
    for (const Message& m : in.messages) {
        switch (m.kind) {
        case MessageKind::result:
        case MessageKind::error: {
            auto p = take_pending(m.id);
            if (!p) {
                // A late answer to a request that timed out lands here too.
                log(LogLevel::warning, "answer to an unknown request id " + id_text(m.id) + " ignored");
                break;
            }
            if (m.kind == MessageKind::result)
                p->channel.try_send(boost::system::error_code{}, Outcome(m.payload));
            else
                p->channel.try_send(boost::system::error_code{}, Outcome(m.error));
            break;
        }
        case MessageKind::request:
            // This client declares no capabilities: sampling, elicitation,
            // roots and anything else are refused at once, so that the
            // server does not wait for an answer that never comes.
            if (m.method == "ping")
                send_detached(t, write_result(m.id, json::object{}));
            else
                send_detached(t, write_error(m.id, kMethodNotFound, "Method not found: " + m.method));
            break;
        case MessageKind::notification:
            handle_notification(m);
            break;
        case MessageKind::invalid:
            log(LogLevel::warning, "ignored a message that is not JSON-RPC: " + m.problem);
            break;
        }
    }
}

void ServerConnection::handle_notification(const Message& m)
{
    const auto* params = m.payload.if_object();
    if (m.method == "notifications/progress" && params) {
        const auto* token = params->if_contains("progressToken");
        std::shared_ptr<Pending> p;
        if (token && token->is_int64()) {
            std::lock_guard lock(mutex_);
            auto it = pending_.find(token->get_int64());
            if (it != pending_.end())
                p = it->second;
        }
        std::string text = "progress";
        if (const auto* v = params->if_contains("progress"); v && v->is_number())
            text += " " + json::serialize(*v);
        if (const auto* v = params->if_contains("total"); v && v->is_number())
            text += "/" + json::serialize(*v);
        if (const auto* v = params->if_contains("message"); v && v->is_string())
            text += ": " + std::string(v->get_string());
        if (p && p->progress)
            p->progress(text);
        else
            log(LogLevel::debug, text);
        return;
    }
    if (m.method == "notifications/message" && params) {
        std::string level = "info";
        if (const auto* v = params->if_contains("level"); v && v->is_string())
            level = std::string(v->get_string());
        LogLevel l = LogLevel::info;
        if (level == "debug")
            l = LogLevel::debug;
        else if (level == "warning")
            l = LogLevel::warning;
        else if (level == "error" || level == "critical" || level == "alert" || level == "emergency")
            l = LogLevel::error;
        std::string text;
        if (const auto* v = params->if_contains("logger"); v && v->is_string())
            text = std::string(v->get_string()) + ": ";
        if (const auto* v = params->if_contains("data"))
            text += v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
        log(l, text);
        return;
    }
    // cancelled, list_changed, resources/updated...: nothing to act on here.
    log(LogLevel::debug, "notification " + m.method);
}

asio::awaitable<json::value> ServerConnection::request(std::string method, json::value params,
                                                       std::chrono::milliseconds timeout, ProgressFn progress)
{
    TransportPtr t;
    {
        std::lock_guard lock(mutex_);
        if (!connected_)
            throw McpError("MCP server '" + config_.name + "' is not connected");
        t = transport_;
    }
    co_return co_await request_on(std::move(t), std::move(method), std::move(params), timeout, std::move(progress));
}

asio::awaitable<json::value> ServerConnection::request_on(TransportPtr t, std::string method, json::value params,
                                                          std::chrono::milliseconds timeout, ProgressFn progress)
{
    auto self = shared_from_this();
    auto p = std::make_shared<Pending>(co_await asio::this_coro::executor);
    p->progress = std::move(progress);
    // A transport whose send() returns at once is bounded by the sweeper (no
    // timer, no race per call: most of a call's cost otherwise); one whose
    // send() carries the answer (streamable HTTP) by a race around both.
    const bool answers_on_send = t->answers_on_send();
    if (!answers_on_send)
        p->deadline = std::chrono::steady_clock::now() + clamp_timer(timeout);
    std::int64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        pending_.emplace(id, p);
    }
    if (p->progress) {
        if (!params.is_object())
            params = json::object{};
        params.get_object()["_meta"] = json::object{{"progressToken", id}};
    }
    const json::value id_value = id;
    std::string text = write_request(id, method, params);

    std::optional<Outcome> out;
    bool timed_out = false;
    bool cancelled = false;
    std::exception_ptr failure;
    if (answers_on_send) {
        auto exchange = [](TransportPtr t, std::string text, const json::value* id_value,
                           std::shared_ptr<Pending> p) -> asio::awaitable<Outcome> {
            co_await t->send(std::move(text), id_value);
            co_return co_await p->channel.async_receive(asio::use_awaitable);
        };
        auto raced = co_await race_for(exchange(t, std::move(text), &id_value, p), timeout);
        out = std::move(raced.value);
        timed_out = raced.timed_out;
        failure = raced.failure;
        cancelled = raced.cancelled;
    } else {
        try {
            co_await t->send(std::move(text), &id_value);
        } catch (...) {
            failure = std::current_exception();
        }
        if (!failure) {
            auto [ec, got] = co_await p->channel.async_receive(asio::as_tuple(asio::use_awaitable));
            if (ec)
                cancelled = true;
            else if (std::holds_alternative<TimedOut>(got))
                timed_out = true;
            else
                out = std::move(got);
        }
    }
    {
        std::lock_guard lock(mutex_);
        pending_.erase(id);
    }
    if (out) {
        if (auto* result = std::get_if<json::value>(&*out))
            co_return std::move(*result);
        if (auto* error = std::get_if<RpcError>(&*out))
            throw McpRpcError(error->code, "MCP server '" + config_.name + "' answered " + method + " with error " +
                                               std::to_string(error->code) + ": " + error->message);
        throw McpError(std::get<Lost>(*out).reason);
    }
    // A cancelled channel wait fails with channel_cancelled, not
    // operation_aborted: the caller's own state says whether it was cancelled.
    const auto cs = co_await asio::this_coro::cancellation_state;
    cancelled = cancelled || cs.cancelled() != asio::cancellation_type::none;
    if (!timed_out && !cancelled)
        std::rethrow_exception(failure);
    // Timed out or cancelled: the server is told to stop working on it.
    json::object cancel{{"requestId", id}};
    cancel["reason"] = timed_out ? "timed out" : "cancelled by the client";
    send_detached(t, write_notification("notifications/cancelled", cancel));
    if (timed_out)
        throw McpError("MCP server '" + config_.name + "' did not answer " + method + " within " +
                       seconds_text(timeout));
    throw boost::system::system_error(asio::error::operation_aborted);
}

asio::awaitable<void> ServerConnection::sweep(std::shared_ptr<asio::steady_timer> timer, std::uint64_t generation)
{
    auto self = shared_from_this();
    // Fine enough for the bounds it enforces: a twentieth of the shortest.
    const auto shortest = std::min(config_.call_timeout, config_.connect_timeout);
    const auto period = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(shortest / 20),
                                   std::chrono::milliseconds(10), std::chrono::milliseconds(500));
    for (;;) {
        timer->expires_after(period);
        auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec; // cancelled: the check below says whether to go on
        std::vector<std::shared_ptr<Pending>> expired;
        {
            std::lock_guard lock(mutex_);
            if (generation != generation_ || sweep_timer_ != timer)
                co_return;
            const auto now = std::chrono::steady_clock::now();
            for (auto it = pending_.begin(); it != pending_.end();) {
                if (it->second->deadline <= now) {
                    expired.push_back(std::move(it->second));
                    it = pending_.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (auto& p : expired)
            p->channel.try_send(boost::system::error_code{}, Outcome(TimedOut{}));
    }
}

} // namespace stirrup::detail::mcp
