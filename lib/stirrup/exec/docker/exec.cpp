// Commands in the Docker backend: one exec per command, its output
// demultiplexed as it streams, and, on a timeout or a cancellation, a second
// exec that kills everything the first one started (the engine has no exec
// kill, and dropping the connection leaves the process running).

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/docker.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/detail/cancellation.hpp"
#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/output_capture.hpp"
#include "stirrup/exec/docker/detail/exec_rules.hpp"

namespace stirrup {
namespace asio = boost::asio;

namespace {

// The engine needs a moment after the stream ends to record the exit code
// (it is normally set before, but other engines have raced here).
constexpr int exit_code_polls = 100;
constexpr Milliseconds exit_code_poll_interval{20};
// Stirrup's safety net around the in-container timeout (fail_after(t + 10)).
constexpr Milliseconds client_grace{std::chrono::seconds(10)};
constexpr Milliseconds helper_timeout{std::chrono::seconds(30)};
constexpr std::size_t helper_output_limit = 64 * 1024;

struct Capture {
    detail::OutputCapture out;
    detail::OutputCapture err;

    explicit Capture(std::size_t each_side) : out(each_side, each_side), err(each_side, each_side) {}

    void operator()(detail::docker::StreamId id, std::string_view piece)
    {
        (id == detail::docker::StreamId::stderr_stream ? err : out).append(piece);
    }
};

CommandResult api_error_result(const std::string& message)
{
    CommandResult r;
    r.exit_code = 1;
    r.stderr_text = message;
    r.error_kind = "docker_api_error";
    r.advice = std::string(detail::docker::docker_api_error_advice);
    return r;
}

} // namespace

awaitable<std::pair<int, std::string>> DockerCodeExec::run_helper(std::vector<std::string> argv, std::string user)
{
    require_running_for_files(static_cast<bool>(container_id_));
    detail::docker::ExecConfig config;
    config.cmd = std::move(argv);
    config.user = std::move(user);
    config.working_dir = "/";
    const std::string exec_id = co_await client_->exec_create(*container_id_, std::move(config));
    std::string output;
    auto sink = [&output](detail::docker::StreamId, std::string_view piece) {
        if (output.size() < helper_output_limit)
            output.append(piece.substr(0, helper_output_limit - output.size()));
    };
    awaitable<void> helper = client_->exec_start(exec_id, sink);
    const auto raced = co_await detail::race_for(std::move(helper), helper_timeout);
    if (raced.timed_out)
        throw Error("Docker backend: a helper command did not finish within 30 s");
    if (raced.failure)
        std::rethrow_exception(raced.failure);
    for (int i = 0; i < exit_code_polls; ++i) {
        const detail::docker::ExecState st = co_await client_->exec_inspect(exec_id);
        if (st.exit_code && !st.running)
            co_return std::make_pair(*st.exit_code, std::move(output));
        asio::steady_timer wait(co_await asio::this_coro::executor, exit_code_poll_interval);
        co_await wait.async_wait(asio::use_awaitable);
    }
    throw Error("Docker backend: the engine reported no exit code for a helper command");
}

awaitable<void> DockerCodeExec::kill_exec_processes(const std::string& marker)
{
    std::string problem;
    try {
        const auto r = co_await run_helper(detail::docker::kill_marked_argv(marker));
        if (r.first != 0)
            problem = "exit code " + std::to_string(r.first) + ": " + r.second;
    } catch (const std::exception& e) {
        problem = e.what();
    }
    if (!problem.empty())
        warn("could not kill the processes of a timed-out or cancelled command in container " +
             container_id_.value_or("?") + ": " + problem);
}

awaitable<CommandResult> DockerCodeExec::execute(PreparedCommand cmd, Milliseconds timeout)
{
    require_running(static_cast<bool>(container_id_));
    const std::string marker = detail::random_hex(24);
    detail::docker::ExecConfig config;
    config.cmd = detail::docker::timeout_wrapped_argv(cmd, timeout);
    config.env.push_back(std::string(detail::docker::exec_marker_name) + "=" + marker);
    config.working_dir = docker_options_.working_dir;
    config.user = docker_options_.user;

    std::string exec_id;
    std::optional<std::string> api_error;
    try {
        exec_id = co_await client_->exec_create(*container_id_, std::move(config));
    } catch (const detail::docker::ApiError& e) {
        api_error = e.what();
    }
    if (api_error)
        co_return api_error_result(*api_error);

    Capture capture(options().capture_chars_each_side);
    auto sink = [&capture](detail::docker::StreamId id, std::string_view piece) { capture(id, piece); };
    awaitable<void> command = client_->exec_start(exec_id, sink);
    const auto raced = co_await detail::race_for(std::move(command), timeout + client_grace);
    const bool client_timed_out = raced.timed_out;
    const std::exception_ptr failure = raced.failure;
    const bool cancelled = raced.cancelled;

    if (cancelled || client_timed_out || failure) {
        // Whatever happens to the caller, the command must not outlive this.
        co_await asio::this_coro::reset_cancellation_state();
        co_await kill_exec_processes(marker);
        if (cancelled)
            throw boost::system::system_error(asio::error::operation_aborted);
        if (client_timed_out)
            co_return detail::docker::client_timeout_result(timeout);
        try {
            std::rethrow_exception(failure);
        } catch (const detail::docker::ApiError& e) {
            api_error = e.what();
        }
        co_return api_error_result(*api_error);
    }

    std::optional<int> exit_code;
    for (int i = 0; i < exit_code_polls && !exit_code; ++i) {
        const detail::docker::ExecState st = co_await client_->exec_inspect(exec_id);
        if (st.exit_code && !st.running) {
            exit_code = st.exit_code;
            break;
        }
        asio::steady_timer wait(co_await asio::this_coro::executor, exit_code_poll_interval);
        co_await wait.async_wait(asio::use_awaitable);
    }
    if (!exit_code) {
        CommandResult r;
        r.exit_code = 1;
        r.stderr_text = "the Docker engine reported no exit code for the command";
        r.error_kind = "execution_error";
        co_return r;
    }
    capture.out.finish();
    capture.err.finish();
    const auto out_dropped = capture.out.dropped_chars();
    const auto err_dropped = capture.err.dropped_chars();
    std::string out_text = capture.out.take_text();
    std::string err_text = capture.err.take_text();
    // An engine error replaces the output with the engine's text.
    const bool engine_error = detail::docker::engine_exec_error(*exit_code, out_text, err_text).has_value();
    CommandResult result =
        detail::docker::exec_command_result(*exit_code, std::move(out_text), std::move(err_text), timeout);
    if (!engine_error) {
        result.stdout_dropped_chars = out_dropped;
        result.stderr_dropped_chars = err_dropped;
    }
    if (result.error_kind == "timeout") {
        // timeout(1) killed its process group; commands that left it
        // (setsid, daemons) are killed here.
        co_await kill_exec_processes(marker);
    }
    co_return result;
}

} // namespace stirrup
