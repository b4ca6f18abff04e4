// The E2B backend's lifecycle (the sandbox a session runs in, from the
// creation gate to the kill) and its files. Commands are in e2b_exec.cpp.

#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/exec/e2b/detail/client.hpp"

#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/core/detail/shielded.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker/detail/labels.hpp"
#include "stirrup/exec/output_paths.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/pycompat/detail/shlex.hpp"

namespace stirrup {
namespace asio = boost::asio;
using detail::e2b::E2BError;
using detail::e2b::ErrorCategory;

namespace {

std::optional<std::string> process_getenv(const char* name)
{
    const char* v = std::getenv(name);
    if (!v)
        return std::nullopt;
    return std::string(v);
}

// The sandbox's metadata: the caller's, then the owner keys the Docker
// backend labels its containers with (library, owner process and its start
// time, session, creation time), which win.
std::map<std::string, std::string> sandbox_metadata(const std::string& session_id,
                                                    const std::map<std::string, std::string>& user)
{
    auto m = user;
    for (auto& [k, v] : detail::docker::ownership_labels(session_id))
        m[k] = v;
    m["stirrup.library"] = "stirrup-cpp";
    return m;
}

void kill_in_background(detail::e2b::Endpoints endpoints, net::HttpClientOptions http_options, Milliseconds timeout,
                        std::string sandbox_id, std::function<void(std::string_view)> warn)
{
    try {
        asio::io_context io;
        auto http = std::make_shared<net::HttpClient>(io.get_executor(), http_options);
        detail::e2b::ClientOptions co;
        co.request_timeout = timeout;
        detail::e2b::ControlPlane control(http, std::move(endpoints), co);
        std::exception_ptr failure;
        asio::co_spawn(io, control.kill(sandbox_id), [&](std::exception_ptr e, bool) { failure = e; });
        io.run();
        if (failure)
            std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        warn("E2B sandbox " + sandbox_id + " could not be killed: " + e.what() +
             " (E2B kills it at the end of its lifetime)");
    }
}

} // namespace

struct E2BCodeExec::Remote {
    std::optional<detail::e2b::ControlPlane> control;
    std::optional<detail::e2b::Envd> envd;
    detail::e2b::SandboxInfo info;
};

const std::string& E2BCodeExec::envd_version() const noexcept
{
    return remote_->info.envd_version;
}

E2BCodeExec::E2BCodeExec(E2BCodeExecOptions options)
    : CodeExecProvider(options), e2b_options_(std::move(options)), session_id_(detail::random_hex(16)),
      remote_(std::make_unique<Remote>())
{
    if (e2b_options_.template_id.empty())
        throw ConfigError("E2B template must not be empty");
    if (e2b_options_.lifetime <= Milliseconds::zero())
        throw ConfigError("E2B sandbox lifetime must be positive");
    if (e2b_options_.request_timeout <= Milliseconds::zero())
        throw ConfigError("E2B request timeout must be positive");
    if (e2b_options_.max_create_retries < 0)
        throw ConfigError("max_create_retries must not be negative");
}

std::unique_ptr<E2BCodeExec> E2BCodeExec::make(E2BCodeExecOptions options)
{
    return std::unique_ptr<E2BCodeExec>(new E2BCodeExec(std::move(options)));
}

E2BCodeExec::~E2BCodeExec()
{
    if (!sandbox_id_ || !remote_->control)
        return;
    warn("E2BCodeExec destroyed while started (stop() was not awaited); killing sandbox " + *sandbox_id_ +
         " in the background");
    detail::offload_detached(
        [endpoints = remote_->control->endpoints(), http_options = e2b_options_.http_options,
         timeout = e2b_options_.request_timeout, id = *sandbox_id_,
         on_warning = options().on_warning] { kill_in_background(endpoints, http_options, timeout, id, on_warning); });
}

std::string E2BCodeExec::code_exec_description() const
{
    return e2b_options_.description.value_or(CodeExecProvider::code_exec_description());
}

detail::e2b::Envd& E2BCodeExec::envd()
{
    require_running_for_files(static_cast<bool>(remote_->envd));
    return *remote_->envd;
}

awaitable<void> E2BCodeExec::do_start()
{
    const auto& o = e2b_options_;
    auto endpoints = detail::e2b::resolve_endpoints(o.api_url, o.domain, o.sandbox_url, o.api_key, process_getenv);
    if (endpoints.api_key.empty())
        throw ConfigError("E2B needs an API key: set E2B_API_KEY (or E2BCodeExecOptions::api_key)");
    const auto ex = co_await asio::this_coro::executor;
    http_ = o.http ? o.http : std::make_shared<net::HttpClient>(ex, o.http_options);
    detail::e2b::ClientOptions client_options;
    client_options.request_timeout = o.request_timeout;
    client_options.max_create_retries = o.max_create_retries;
    client_options.max_retry_after = o.max_retry_after;
    remote_->control.emplace(http_, endpoints, client_options);

    // Stirrup's order: enter the gate, create, leave the gate. A live limit
    // keeps the permit until the sandbox is killed.
    if (o.creation_gate)
        permit_ = co_await o.creation_gate->acquire();

    detail::e2b::CreateRequest request;
    request.template_id = o.template_id;
    request.timeout_seconds = detail::e2b::lifetime_seconds(o.lifetime);
    request.metadata = sandbox_metadata(session_id_, o.metadata);
    request.env_vars = o.env_vars;
    request.secure = o.secure;
    request.allow_internet_access = o.allow_internet_access;

    // Creating a sandbox must not be abandoned half-way: once the request is
    // out, E2B may have made it, and only its answer says which sandbox to
    // kill. Shielded, it completes, and a cancelled start kills what it made.
    awaitable<detail::e2b::SandboxInfo> create = remote_->control->create(std::move(request));
    detail::e2b::SandboxInfo info = co_await detail::shielded(std::move(create));
    remote_->info = std::move(info);
    sandbox_id_ = remote_->info.sandbox_id;
    remote_->envd.emplace(http_, detail::e2b::envd_base_url(endpoints, remote_->info.sandbox_id, remote_->info.domain),
                          detail::e2b::envd_headers(remote_->info.sandbox_id, remote_->info.envd_access_token),
                          remote_->info.envd_version, o.request_timeout);
    // Cancelled while the create was in flight: the base's start calls
    // do_stop, which kills the sandbox just made.
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
}

awaitable<void> E2BCodeExec::do_stop()
{
    co_await asio::this_coro::reset_cancellation_state();
    std::exception_ptr failure;
    if (sandbox_id_ && remote_->control) {
        try {
            co_await remote_->control->kill(*sandbox_id_); // false: already gone, which is what we want
        } catch (const std::exception& e) {
            failure = std::make_exception_ptr(E2BError(
                ErrorCategory::transport, 0,
                "E2B sandbox " + *sandbox_id_ + " could not be killed: " + e.what() +
                    " (E2B kills it at the end of its lifetime, " +
                    std::to_string(detail::e2b::lifetime_seconds(e2b_options_.lifetime)) + " s after creation)"));
        }
    }
    sandbox_id_.reset();
    remote_->envd.reset();
    permit_.release();
    // A client this provider made belongs to the loop it started on.
    if (!e2b_options_.http)
        http_.reset();
    remote_->control.reset();
    if (failure)
        std::rethrow_exception(failure);
}

awaitable<void> E2BCodeExec::extend_lifetime(Milliseconds lifetime)
{
    require_started();
    require_running_for_files(sandbox_id_ && remote_->control);
    co_await remote_->control->set_timeout(*sandbox_id_, detail::e2b::lifetime_seconds(lifetime));
}

awaitable<std::string> E2BCodeExec::file_path(std::string path)
{
    require_started();
    const std::string absolute = posix_normalize(detail::e2b::sandbox_path(path));
    if (!e2b_options_.confine_files_to_home)
        co_return absolute;
    if (!detail::e2b::inside_home(absolute))
        throw PathError("Path is outside execution environment: " + path);
    // Symlinks may lead out: resolve in the sandbox (-m: the path need not exist).
    const CommandResult r =
        co_await run_shell("realpath -zm -- " + detail::shell::quote(absolute), e2b_options_.request_timeout);
    std::optional<std::string> resolved;
    if (r.exit_code == 0 && !r.error_kind)
        resolved = detail::e2b::parse_realpath_output(r.stdout_text);
    if (!resolved)
        throw PathError("Could not resolve path in the E2B sandbox: " + path + ": " + r.stderr_text);
    if (!detail::e2b::inside_home(*resolved))
        throw PathError("Path is outside execution environment: " + path);
    co_return *resolved;
}

awaitable<std::string> E2BCodeExec::read_file(std::string path)
{
    const std::string p = co_await file_path(path);
    co_return co_await envd().read_file(p, options().transfer_limits.max_file_bytes);
}

awaitable<void> E2BCodeExec::write_file(std::string path, std::string data)
{
    const std::string p = co_await file_path(path);
    co_await envd().write_file(p, std::move(data));
}

awaitable<bool> E2BCodeExec::file_exists(std::string path)
{
    const std::string p = co_await file_path(path);
    const auto entry = co_await envd().stat(p);
    co_return entry && entry->type == detail::e2b::EntryInfo::Type::file;
}

awaitable<bool> E2BCodeExec::is_directory(std::string path)
{
    const std::string p = co_await file_path(path);
    const auto entry = co_await envd().stat(p);
    co_return entry && entry->type == detail::e2b::EntryInfo::Type::directory;
}

awaitable<std::vector<std::string>> E2BCodeExec::list_files(std::string dir)
{
    const std::string root = co_await file_path(dir);
    // Depth bounds the walk envd does; deeper trees than this are not
    // what an agent's outputs look like.
    constexpr std::uint32_t depth = 64;
    const auto entries = co_await envd().list_dir(root, depth);
    if (!entries)
        co_return std::vector<std::string>{};
    co_return detail::e2b::relative_files(*entries, root);
}

awaitable<std::uint64_t> E2BCodeExec::read_file_to(std::string path, FileSink& sink)
{
    // `path` is what resolve_output_source returned: resolved, a file.
    const auto entry = co_await envd().stat(path);
    if (!entry)
        throw FileNotFoundError("File not found: " + path);
    const std::uint64_t allowed = sink.begin(static_cast<std::uint64_t>(std::max<std::int64_t>(0, entry->size)));
    co_return co_await envd().read_file_to(path, allowed, sink.data);
}

std::vector<OutputSourceRoot> E2BCodeExec::output_source_roots() const
{
    return {OutputSourceRoot{std::string(detail::e2b::home_dir), std::nullopt}};
}

std::string E2BCodeExec::uploaded_dest_path(const std::string& dest) const
{
    return detail::e2b::sandbox_path(dest);
}

awaitable<std::string> E2BCodeExec::resolve_output_source(std::string path)
{
    require_started();
    const std::string target = detail::e2b::sandbox_path(path);
    const CommandResult r = co_await run_shell(detail::e2b::realpath_command(target), options().shell_timeout);
    std::optional<std::string> resolved;
    if (r.exit_code == 0 && !r.error_kind)
        resolved = detail::e2b::parse_realpath_output(r.stdout_text);
    if (!resolved)
        throw PathError("Could not resolve E2B output source: " + path);
    if (!detail::e2b::inside_home(*resolved))
        // Stirrup's text, and the words every backend's escape error shares.
        throw PathError("E2B output source is outside E2B execution root: " + path +
                        " (outside execution environment " + std::string(detail::e2b::home_dir) + ")");
    const auto entry = co_await envd().stat(*resolved);
    if (!entry)
        throw FileNotFoundError("File not found: " + path);
    if (entry->type != detail::e2b::EntryInfo::Type::file)
        throw PathError("Path is not a file (type: " + std::string(detail::e2b::type_name(entry->type)) + ")");
    co_return *resolved;
}

std::shared_ptr<CodeExecToolProvider> e2b_code_exec(E2BCodeExecOptions options)
{
    return std::make_shared<CodeExecToolProvider>(
        "E2BCodeExecToolProvider",
        [options]() -> std::unique_ptr<CodeExecProvider> { return E2BCodeExec::make(options); });
}

} // namespace stirrup
