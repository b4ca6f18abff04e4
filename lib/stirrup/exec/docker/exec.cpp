// Commands in the Docker backend: one exec per command, its output
// demultiplexed as it streams, and, on a timeout or a cancellation, a second
// exec that kills everything the first one started (the engine has no exec
// kill, and dropping the connection leaves the process running).

#include "stirrup/exec/docker/docker.hpp"


#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker/detail/exec_rules.hpp"
#include "stirrup/exec/detail/output_capture.hpp"
#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/core/detail/timer_limit.hpp"
#include "stirrup/core/detail/cancellation.hpp"

namespace stirrup {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

// The engine needs a moment after the stream ends to record the exit code
// (it is normally set before, but other engines have raced here).
constexpr int exit_code_polls = 100;
constexpr Milliseconds exit_code_poll_interval{20};
// Stirrup's safety net around the in-container timeout (fail_after(t + 10)).
constexpr Milliseconds client_grace{std::chrono::seconds(10)};
constexpr Milliseconds helper_timeout{std::chrono::seconds(30)};
constexpr std::size_t helper_output_limit = 64 * 1024;


// Runs an operation to completion and hands back what it threw, so that it
// can race a timer with || (which waits for one *success*) without a failure
// of the operation turning into a wait for the timer.
awaitable<std::exception_ptr> captured(awaitable<void> op)
{
    std::exception_ptr failure;
    try {
        co_await std::move(op);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return failure;
}

struct Capture {
    OutputCapture out;
    OutputCapture err;

    explicit Capture(std::size_t each_side) : out(each_side, each_side), err(each_side, each_side) {}

    void operator()(docker::StreamId id, std::string_view piece)
    {
        (id == docker::StreamId::stderr_stream ? err : out).append(piece);
    }
};

CommandResult api_error_result(const std::string& message)
{
    CommandResult r;
    r.exit_code = 1;
    r.stderr_text = message;
    r.error_kind = "docker_api_error";
    r.advice = std::string(docker::docker_api_error_advice);
    return r;
}

} // namespace

awaitable<std::pair<int, std::string>> DockerCodeExec::run_helper(std::vector<std::string> argv, std::string user)
{
    if (!container_id_)
        throw NotStartedError("ExecutionEnvironment not started.");
    docker::ExecConfig config;
    config.cmd = std::move(argv);
    config.user = std::move(user);
    config.working_dir = "/";
    const std::string exec_id = co_await client_->exec_create(*container_id_, std::move(config));
    std::string output;
    auto sink = [&output](docker::StreamId, std::string_view piece) {
        if (output.size() < helper_output_limit)
            output.append(piece.substr(0, helper_output_limit - output.size()));
    };
    asio::steady_timer timer(co_await asio::this_coro::executor, helper_timeout);
    auto which = co_await (captured(client_->exec_start(exec_id, sink)) || timer.async_wait(asio::use_awaitable));
    if (which.index() == 1)
        throw Error("Docker backend: a helper command did not finish within 30 s");
    if (auto failure = std::get<0>(which))
        std::rethrow_exception(failure);
    for (int i = 0; i < exit_code_polls; ++i) {
        const docker::ExecState st = co_await client_->exec_inspect(exec_id);
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
        const auto r = co_await run_helper(docker::kill_marked_argv(marker));
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
    if (!container_id_)
        throw NotStartedError(
            "ExecutionEnvironment not started. Ensure current Agent is equipped with a CodeExecToolProvider.");
    const std::string marker = random_hex(24);
    docker::ExecConfig config;
    config.cmd = docker::timeout_wrapped_argv(cmd, timeout);
    config.env.push_back(std::string(docker::exec_marker_name) + "=" + marker);
    config.working_dir = docker_options_.working_dir;
    config.user = docker_options_.user;

    std::string exec_id;
    std::optional<std::string> api_error;
    try {
        exec_id = co_await client_->exec_create(*container_id_, std::move(config));
    } catch (const docker::ApiError& e) {
        api_error = e.what();
    }
    if (api_error)
        co_return api_error_result(*api_error);

    Capture capture(options().capture_chars_each_side);
    auto sink = [&capture](docker::StreamId id, std::string_view piece) { capture(id, piece); };
    asio::steady_timer deadline(co_await asio::this_coro::executor, clamp_timer(timeout + client_grace));
    bool client_timed_out = false;
    std::exception_ptr failure;
    try {
        auto which =
            co_await (captured(client_->exec_start(exec_id, sink)) || deadline.async_wait(asio::use_awaitable));
        if (which.index() == 1)
            client_timed_out = true;
        else
            failure = std::get<0>(which);
    } catch (...) {
        // Both branches failed: the caller cancelled us.
        failure = std::current_exception();
    }
    const bool cancelled = failure && is_cancellation(failure);

    if (cancelled || client_timed_out || failure) {
        // Whatever happens to the caller, the command must not outlive this.
        co_await asio::this_coro::reset_cancellation_state();
        co_await kill_exec_processes(marker);
        if (cancelled)
            throw boost::system::system_error(asio::error::operation_aborted);
        if (client_timed_out)
            co_return docker::client_timeout_result(timeout);
        try {
            std::rethrow_exception(failure);
        } catch (const docker::ApiError& e) {
            api_error = e.what();
        }
        co_return api_error_result(*api_error);
    }

    std::optional<int> exit_code;
    for (int i = 0; i < exit_code_polls && !exit_code; ++i) {
        const docker::ExecState st = co_await client_->exec_inspect(exec_id);
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
    const bool engine_error = docker::engine_exec_error(*exit_code, out_text, err_text).has_value();
    CommandResult result = docker::exec_command_result(*exit_code, std::move(out_text), std::move(err_text), timeout);
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
