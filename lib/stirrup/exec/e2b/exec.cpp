// Commands in the E2B backend: one process.Process/Start stream per command,
// its output decoded as it streams. envd kills a command at its
// Connect-Timeout-Ms; if envd has not reported that a moment later, or the
// caller cancels, or the stream breaks, the client SIGKILLs the process
// itself, because closing the stream does not stop it.

#include "stirrup/exec/e2b/detail/client.hpp"
#include "stirrup/exec/e2b/e2b.hpp"

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
#include "stirrup/exec/e2b/detail/connect.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup {
namespace asio = boost::asio;
using detail::e2b::E2BError;
using detail::e2b::ErrorCategory;

namespace {

// Stirrup's advice for envd's invalid_argument (a command envd could not start).
constexpr std::string_view invalid_argument_advice =
    "Avoid NUL/control bytes and nested 'bash -lc'; use a quoted heredoc or base64 write.";

struct Capture {
    detail::OutputCapture out;
    detail::OutputCapture err;
    explicit Capture(std::size_t each_side) : out(each_side, each_side), err(each_side, each_side) {}
};

// Opens the stream and reads it to its end-stream message; a broken stream
// fails as an E2BError.
struct ReadStream {
    detail::e2b::Envd* envd;
    std::string request_json;
    Milliseconds timeout;
    detail::e2b::StartStreamReader* reader;
    Capture* capture;

    awaitable<void> operator()() const
    {
        std::exception_ptr failure;
        try {
            net::HttpStream stream = co_await envd->start_process(request_json, timeout);
            const auto sink = [this](int id, std::string_view bytes) {
                (id == 2 ? capture->err : capture->out).append(bytes);
            };
            for (;;) {
                std::optional<std::string> piece = co_await stream.read_some();
                if (!piece)
                    break;
                reader->feed(*piece, sink);
                if (reader->finished())
                    break;
            }
            if (!reader->finished())
                throw E2BError(ErrorCategory::transport, 0,
                               "the connection to the E2B sandbox ended in the middle of a command "
                               "(no Connect end-stream message)");
            // Drain to the end of the HTTP body so the connection goes back
            // to the pool (there is nothing after the end-stream message).
            for (;;) {
                std::optional<std::string> rest = co_await stream.read_some();
                if (!rest)
                    break;
                reader->feed(*rest, sink); // throws: data after the end
            }
        } catch (const detail::e2b::ProtocolError& e) {
            failure = std::make_exception_ptr(E2BError(
                ErrorCategory::protocol, 200, std::string("E2B envd sent an invalid process stream: ") + e.what()));
        } catch (const net::HttpTransportError& e) {
            failure = std::make_exception_ptr(E2BError(
                ErrorCategory::transport, 0,
                std::string("the connection to the E2B sandbox broke in the middle of a command: ") + e.what()));
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure)
            std::rethrow_exception(failure);
    }
};

CommandResult timeout_result(Capture& capture, Milliseconds timeout)
{
    capture.out.finish();
    capture.err.finish();
    CommandResult r;
    r.exit_code = 1;
    r.stdout_dropped_chars = capture.out.dropped_chars();
    r.stdout_text = capture.out.take_text();
    r.stderr_dropped_chars = capture.err.dropped_chars();
    std::string err = capture.err.take_text();
    const std::string message = detail::docker::timed_out_message(timeout);
    r.stderr_text = err.empty() ? message : err + "\n" + message;
    r.error_kind = "timeout";
    return r;
}

} // namespace

awaitable<void> E2BCodeExec::kill_process(std::optional<std::uint32_t> pid, std::string tag)
{
    std::string problem;
    try {
        // The pid is certain once known; before the start event only the tag
        // names the process (if envd started it at all).
        const std::string body = pid ? detail::e2b::kill_by_pid_json(*pid) : detail::e2b::kill_by_tag_json(tag);
        co_await envd().send_signal(body);
    } catch (const E2BError& e) {
        // Gone with its sandbox: nothing left to kill.
        if (e.category() != ErrorCategory::sandbox_gone)
            problem = e.what();
    } catch (const std::exception& e) {
        problem = e.what();
    }
    if (!problem.empty())
        warn("could not kill a timed-out or cancelled command (" +
             (pid ? "pid " + std::to_string(*pid) : "tag " + tag) + ") in E2B sandbox " + sandbox_id_.value_or("?") +
             ": " + problem);
}

awaitable<CommandResult> E2BCodeExec::execute(PreparedCommand cmd, Milliseconds timeout)
{
    // An allowed argv is re-quoted for the sandbox's shell exactly as Stirrup does.
    std::string command = cmd.argv ? detail::e2b::quote_argv_for_shell(*cmd.argv) : std::move(cmd.shell);
    co_return co_await run_shell(std::move(command), timeout);
}

awaitable<CommandResult> E2BCodeExec::run_shell(std::string command, Milliseconds timeout)
{
    require_running(static_cast<bool>(sandbox_id_));
    const std::string tag = "stirrup-" + detail::random_hex(16);
    detail::e2b::StartStreamReader reader;
    Capture capture(options().capture_chars_each_side);
    ReadStream op{&envd(), detail::e2b::start_request_json(command, tag), timeout, &reader, &capture};

    awaitable<void> stream = op();
    const auto raced = co_await detail::race_for(std::move(stream), timeout + e2b_options_.command_grace);
    const bool client_timed_out = raced.timed_out;
    const std::exception_ptr failure = raced.failure;
    const bool cancelled = raced.cancelled;
    const bool running = !reader.end().has_value();

    if (cancelled || client_timed_out || (failure && running)) {
        // Whatever happens to the caller, the command must not outlive this.
        co_await asio::this_coro::reset_cancellation_state();
        bool gone = false;
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const E2BError& e) {
                gone = e.category() == ErrorCategory::sandbox_gone;
            } catch (...) {
            }
        }
        if (!gone)
            co_await kill_process(reader.pid(), tag);
        if (cancelled)
            throw boost::system::system_error(asio::error::operation_aborted);
        if (client_timed_out)
            co_return timeout_result(capture, timeout);
    }
    if (failure)
        std::rethrow_exception(failure);

    if (const auto& err = reader.error()) {
        if (err->code == "deadline_exceeded")
            co_return timeout_result(capture, timeout);
        if (err->code == "invalid_argument") {
            CommandResult r;
            r.exit_code = 1;
            r.stderr_text = err->code + ": " + err->message;
            r.error_kind = "invalid_argument";
            r.advice = std::string(invalid_argument_advice);
            co_return r;
        }
        if (err->code == "unavailable")
            throw E2BError(ErrorCategory::sandbox_gone, 200,
                           "E2B sandbox " + *sandbox_id_ + " is not running any more: " + err->message);
        throw E2BError(err->code == "unauthenticated" ? ErrorCategory::authentication : ErrorCategory::protocol, 200,
                       "E2B envd ended a command with " + err->code + ": " + err->message);
    }
    if (!reader.end())
        throw E2BError(ErrorCategory::protocol, 200, "E2B envd ended a command stream without the process's end event");

    capture.out.finish();
    capture.err.finish();
    CommandResult r;
    r.exit_code = reader.end()->exit_code;
    r.stdout_dropped_chars = capture.out.dropped_chars();
    r.stdout_text = capture.out.take_text();
    r.stderr_dropped_chars = capture.err.dropped_chars();
    r.stderr_text = capture.err.take_text();
    co_return r;
}

} // namespace stirrup
