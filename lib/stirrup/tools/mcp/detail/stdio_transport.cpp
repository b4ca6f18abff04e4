// The stdio transport: the server is a child process speaking
// newline-delimited JSON-RPC on its stdin and stdout; its stderr is logged.
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/core/detail/errno_code.hpp"
#include "stirrup/core/detail/offload.hpp"
#include "stirrup/exec/detail/spawn.hpp"
#include "stirrup/tools/mcp/detail/transport.hpp"

extern char** environ;

namespace stirrup::detail::mcp {
namespace asio = boost::asio;
using Outbox = asio::experimental::concurrent_channel<void(boost::system::error_code, std::string)>;

namespace {

// What a server inherits, as the official SDKs give it: enough to find
// programs and a home, none of the service's own secrets.
constexpr std::array<std::string_view, 6> kInheritedVariables{"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"};
constexpr std::size_t kStderrTail = 2048;
constexpr std::size_t kLoggedLine = 2000;

std::vector<std::string> server_environment(const McpServerConfig& c)
{
    std::map<std::string, std::string> env;
    for (auto name : kInheritedVariables) {
        const char* v = std::getenv(std::string(name).c_str());
        // A value starting "()" is an exported shell function: a security risk.
        if (v && std::string_view(v).substr(0, 2) != "()")
            env[std::string(name)] = v;
    }
    for (const auto& [k, v] : c.env)
        env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

std::string describe_status(int status)
{
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status));
    return "ended";
}

// The parts shared with the coroutines the transport starts (the writer, the
// stderr reader): they may outlive a transport destroyed without close().
struct State {
    explicit State(asio::any_io_executor ex) : stdin_socket(ex), stdout_pipe(ex), stderr_pipe(ex), pidfd(ex) {}

    asio::local::stream_protocol::socket stdin_socket;
    asio::readable_pipe stdout_pipe;
    asio::readable_pipe stderr_pipe;
    asio::posix::stream_descriptor pidfd;
    std::shared_ptr<Outbox> outbox;
    pid_t pid = -1;
    bool reaped = false;
    std::string stderr_tail;
};

asio::awaitable<void> write_loop(std::shared_ptr<State> s, LogFn log)
{
    // Whatever is queued when a write starts goes out in that one write: many
    // sessions calling at once cost one syscall, not one each.
    constexpr std::size_t kBatchBytes = 256 * 1024;
    std::string batch;
    for (;;) {
        auto [ec, msg] = co_await s->outbox->async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec)
            co_return; // closed
        batch.clear();
        batch += msg;
        batch += '\n';
        while (batch.size() < kBatchBytes && s->outbox->try_receive([&](boost::system::error_code e, std::string more) {
            if (!e) {
                batch += more;
                batch += '\n';
            }
        })) {
        }
        auto [wec, n] =
            co_await asio::async_write(s->stdin_socket, asio::buffer(batch), asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (wec) {
            if (wec != asio::error::operation_aborted && log)
                log(LogLevel::warning, "cannot write to the server's stdin: " + wec.message());
            s->outbox->close();
            co_return;
        }
    }
}

asio::awaitable<void> stderr_loop(std::shared_ptr<State> s, LogFn log)
{
    std::array<char, 8192> buf;
    std::string line;
    for (;;) {
        auto [ec, n] = co_await s->stderr_pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        const std::string_view got(buf.data(), n);
        s->stderr_tail.append(got);
        if (s->stderr_tail.size() > kStderrTail)
            s->stderr_tail.erase(0, s->stderr_tail.size() - kStderrTail);
        for (char c : got) {
            if (c == '\n') {
                if (log && !line.empty())
                    log(LogLevel::info, "stderr: " + line);
                line.clear();
            } else if (line.size() < kLoggedLine) {
                line += c;
            }
        }
        if (ec)
            co_return;
    }
}

class StdioTransport final : public Transport {
public:
    StdioTransport(McpServerConfig config, TransportContext context)
        : config_(std::move(config)), context_(std::move(context)), framer_(config_.max_message_bytes),
          state_(std::make_shared<State>(context_.executor))
    {
    }

    ~StdioTransport() override
    {
        // Destroyed without close(): nothing may outlive the provider.
        if (state_->pid > 0 && !state_->reaped) {
            ::kill(-state_->pid, SIGKILL);
            const pid_t pid = state_->pid;
            offload_detached([pid] { ::waitpid(pid, nullptr, 0); });
        }
    }

    asio::awaitable<void> open() override
    {
        int sv[2];
        // The server's stdin is a socket, not a pipe: the host writes with
        // MSG_NOSIGNAL, so a server that dies does not SIGPIPE the service.
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            throw McpError("MCP server '" + config_.name + "': socketpair: " + last_errno().message());
        UniqueFd in_host(sv[0]), in_child(sv[1]);
        FdPair out = make_pipe();
        FdPair err = make_pipe();

        SpawnSpec spec;
        spec.argv.push_back(config_.command);
        spec.argv.insert(spec.argv.end(), config_.args.begin(), config_.args.end());
        if (config_.cwd)
            spec.cwd = *config_.cwd;
        spec.env = server_environment(config_);
        spec.stdin_fd = in_child.get();
        spec.stdout_fd = out.write.get();
        spec.stderr_fd = err.write.get();
        try {
            state_->pid = spawn_session_leader(spec);
        } catch (const SpawnError& e) {
            throw McpError("MCP server '" + config_.name + "': " + e.what());
        }
        in_child.reset();
        out.write.reset();
        err.write.reset();
        const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, state_->pid, 0));
        if (pidfd < 0) {
            const auto ec = last_errno();
            ::kill(-state_->pid, SIGKILL);
            ::waitpid(state_->pid, nullptr, 0);
            state_->reaped = true;
            throw McpError("MCP server '" + config_.name + "': pidfd_open: " + ec.message());
        }
        state_->pidfd.assign(pidfd);
        ::shutdown(in_host.get(), SHUT_RD);
        state_->stdin_socket.assign(asio::local::stream_protocol(), in_host.release());
        state_->stdout_pipe.assign(out.read.release());
        state_->stderr_pipe.assign(err.read.release());
        state_->outbox = std::make_shared<Outbox>(context_.executor, 256);
        asio::co_spawn(context_.executor, write_loop(state_, context_.log), asio::detached);
        asio::co_spawn(context_.executor, stderr_loop(state_, context_.log), asio::detached);
        co_return;
    }

    asio::awaitable<void> send(std::string message, const boost::json::value*) override
    {
        auto outbox = state_->outbox;
        if (!outbox || !outbox->is_open())
            throw McpError("MCP server '" + config_.name + "' is not running");
        const boost::system::error_code ok;
        auto [ec] = co_await outbox->async_send(ok, std::move(message), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec);
        if (ec)
            throw McpError("MCP server '" + config_.name + "' does not read its stdin any more");
    }

    asio::awaitable<std::optional<Inbound>> receive() override
    {
        std::array<char, 64 * 1024> buf;
        while (lines_.empty()) {
            auto [ec, n] =
                co_await state_->stdout_pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted)
                throw boost::system::system_error(ec);
            try {
                lines_buffer_.clear();
                framer_.feed(std::string_view(buf.data(), n), lines_buffer_);
                for (auto& l : lines_buffer_)
                    lines_.push_back(std::move(l));
            } catch (const MessageTooLarge&) {
                throw McpError("MCP server '" + config_.name + "' wrote a line longer than " +
                               std::to_string(config_.max_message_bytes) + " bytes to stdout");
            }
            if (ec && lines_.empty()) {
                // Awaited apart from the throw: GCC 12 destroys a co_await's
                // result twice inside a throw-expression.
                const std::string why = co_await ended();
                throw McpError(why);
            }
        }
        Inbound in;
        in.messages = parse_messages(lines_.front());
        lines_.pop_front();
        co_return in;
    }

    asio::awaitable<void> close() override
    {
        co_await asio::this_coro::reset_cancellation_state();
        if (closed_)
            co_return;
        closed_ = true;
        if (state_->outbox)
            state_->outbox->close();
        boost::system::error_code ignored;
        state_->stdin_socket.close(ignored);
        if (state_->pid > 0 && !state_->reaped) {
            // The polite way first (the MCP spec's order), then the group.
            if (!co_await exited_within(config_.stop_grace)) {
                ::kill(-state_->pid, SIGTERM);
                if (!co_await exited_within(config_.stop_grace)) {
                    ::kill(-state_->pid, SIGKILL);
                    co_await exited_within(std::chrono::seconds(10));
                }
            }
            // The leader is a zombie until reaped, so its group id cannot have
            // been reused: whatever it left in the group dies with it.
            ::kill(-state_->pid, SIGKILL);
            ::waitpid(state_->pid, nullptr, 0);
            state_->reaped = true;
        }
        state_->stdout_pipe.close(ignored);
        state_->stderr_pipe.close(ignored);
        state_->pidfd.close(ignored);
    }

private:
    asio::awaitable<bool> exited_within(std::chrono::milliseconds d)
    {
        auto wait = state_->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable);
        const auto r = co_await race_for(std::move(wait), d);
        co_return r.finished();
    }

    // Why stdout ended: the exit status if the process ends soon after, and
    // the end of what it wrote to stderr.
    asio::awaitable<std::string> ended()
    {
        std::string why = "MCP server '" + config_.name + "' closed its stdout";
        if (co_await exited_within(std::chrono::milliseconds(500))) {
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(state_->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid != 0) {
                const int status = info.si_code == CLD_EXITED ? (info.si_status & 0xff) << 8 : info.si_status;
                why = "MCP server '" + config_.name + "' " + describe_status(status);
            }
        }
        std::string tail = state_->stderr_tail;
        while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r'))
            tail.pop_back();
        if (!tail.empty())
            why += " (stderr: " + tail + ")";
        co_return why;
    }

    McpServerConfig config_;
    TransportContext context_;
    LineFramer framer_;
    std::vector<std::string> lines_buffer_;
    std::deque<std::string> lines_;
    std::shared_ptr<State> state_;
    bool closed_ = false;
};

} // namespace

std::unique_ptr<Transport> make_stdio_transport(const McpServerConfig& config, TransportContext context)
{
    return std::make_unique<StdioTransport>(config, std::move(context));
}

} // namespace stirrup::detail::mcp
