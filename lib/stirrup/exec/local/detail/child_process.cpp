#include "stirrup/exec/local/detail/child_process.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
// Boost.Process 1.81 headers use these without including them.
#include <boost/asio/detail/throw_error.hpp>
#include <boost/optional.hpp>
#include <boost/process/v2/process.hpp>

#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/output_capture.hpp"
#include "stirrup/exec/detail/spawn.hpp"
#include "stirrup/exec/local/detail/supervisor.hpp"
#include "stirrup/exec/local/supervisor/protocol.h"

namespace stirrup::detail {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

asio::awaitable<void> drain(asio::readable_pipe& pipe, OutputCapture& capture)
{
    std::array<char, 16 * 1024> buf;
    for (;;) {
        auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        capture.append(std::string_view(buf.data(), n));
        if (ec == asio::error::eof)
            break;
        // A cancellation stays as Asio reports it, so is_cancellation knows it.
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec);
        if (ec)
            throw SystemError(std::error_code(ec), "reading command output");
    }
    capture.finish();
}

// Waits until the leader has exited, without reaping it: while it is an
// unreaped zombie its pid, which is also the group id, cannot be reused, so
// killing the group afterwards can never hit an unrelated process.
asio::awaitable<void> wait_exited(asio::posix::stream_descriptor& pidfd)
{
    co_await pidfd.async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable);
}

int python_returncode(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return 0;
}

} // namespace

asio::awaitable<ChildProcessResult> run_child_process(const ChildProcessSpec& spec)
{
    auto ex = co_await asio::this_coro::executor;
    FdPair out = make_pipe();
    FdPair err = make_pipe();
    const pid_t pid = spawn_session_leader({spec.argv, spec.cwd, spec.env, -1, out.write.get(), err.write.get()});
    if (spec.on_spawn)
        spec.on_spawn(pid);
    out.write.reset();
    err.write.reset();

    const int raw_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (raw_pidfd < 0) {
        const auto ec = last_errno();
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw SystemError(ec, "pidfd_open");
    }
    // The process object owns one pidfd and reaps; our copy is only watched
    // for readability, which signals exit without reaping.
    boost::process::v2::process proc(ex, pid, raw_pidfd);
    asio::posix::stream_descriptor pidfd(ex, ::dup(raw_pidfd));
    asio::readable_pipe out_pipe(ex, out.read.release());
    asio::readable_pipe err_pipe(ex, err.read.release());
    OutputCapture out_capture(spec.capture_chars_each_side, spec.capture_chars_each_side);
    OutputCapture err_capture(spec.capture_chars_each_side, spec.capture_chars_each_side);

    ChildProcessResult result;
    asio::awaitable<void> run = (drain(out_pipe, out_capture) && drain(err_pipe, err_capture) && wait_exited(pidfd));
    const auto raced = co_await detail::race_for(std::move(run), spec.timeout);
    result.timed_out = raced.timed_out;
    const std::exception_ptr failure = raced.failure;

    if (failure || result.timed_out) {
        ::kill(-pid, SIGKILL);
        // Cleanup must run to the end even though this coroutine was cancelled.
        co_await asio::this_coro::reset_cancellation_state();
        auto [ec] =
            co_await pidfd.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
        (void)ec;
    }
    proc.wait(); // the leader has exited: this only reaps it
    if (failure)
        std::rethrow_exception(failure);

    result.exit_code = python_returncode(proc.native_exit_code());
    result.stdout_dropped_chars = out_capture.dropped_chars();
    result.stderr_dropped_chars = err_capture.dropped_chars();
    result.stdout_text = out_capture.take_text();
    result.stderr_text = err_capture.take_text();
    co_return result;
}

namespace {

// The supervisor's channel is a socket pair, not pipes: a process in the
// environment can open a pipe through /proc/<pid>/fd/N (as a writer, keeping
// the host's end from ever reaching end of file, or as a reader, stealing
// records), but not a socket. `read` is the host's end.
FdPair make_channel()
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw SystemError(last_errno(), "socketpair");
    return {UniqueFd{fds[0]}, UniqueFd{fds[1]}};
}

constexpr int first_free_fd = STIRRUP_SUPERVISOR_CHANNEL_FD + 1;
/// How long a supervisor told to finish may take before it is SIGKILLed
/// itself (which orphans whatever it had not killed yet).
constexpr std::chrono::seconds supervisor_grace{10};

// posix_spawn applies its dup2s in order: a source among the targets (0-3)
// could be overwritten before it is copied. Such a source is first copied
// above them.
int lifted(int fd, std::vector<UniqueFd>& keep)
{
    if (fd >= first_free_fd)
        return fd;
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, first_free_fd);
    if (high < 0)
        throw SystemError(last_errno(), "fcntl(F_DUPFD_CLOEXEC)");
    keep.emplace_back(high);
    return high;
}

pid_t spawn_supervisor(const SupervisorSet& set, const ChildProcessSpec& spec, int out_fd, int err_fd, int channel_fd)
{
    if (spec.argv.empty())
        throw SpawnError(std::make_error_code(std::errc::invalid_argument), "");
    std::vector<UniqueFd> keep;
    out_fd = lifted(out_fd, keep);
    err_fd = lifted(err_fd, keep);
    channel_fd = lifted(channel_fd, keep);

    // Its own session (the host's death reaches it through the control socket).
    SpawnAttributes sa;
    sa.own_session(out_fd, err_fd);
    ::posix_spawn_file_actions_adddup2(&sa.actions_, channel_fd, STIRRUP_SUPERVISOR_CHANNEL_FD);
    // The command's directory is the supervisor's to enter (a failure there
    // is the command's, as with a plain spawn); it holds on to none.
    ::posix_spawn_file_actions_addchdir_np(&sa.actions_, "/");

    std::vector<std::string> args{"stirrup-supervisor"};
    if (!spec.cwd.empty()) {
        args.emplace_back("--cwd");
        args.push_back(std::filesystem::absolute(spec.cwd).string());
    }
    if (set.cgroup_procs()) {
        args.emplace_back("--cgroup");
        args.push_back(*set.cgroup_procs());
    }
    args.emplace_back("--");
    args.insert(args.end(), spec.argv.begin(), spec.argv.end());
    auto argv = c_strings(args);
    auto envp = c_strings(spec.env);

    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, set.program().c_str(), &sa.actions_, &sa.attr_, argv.data(), envp.data());
    if (rc != 0)
        throw SystemError(std::error_code(rc, std::system_category()),
                          "cannot run the command supervisor " + set.program() +
                              " (STIRRUP_SUPERVISOR or LocalCodeExecOptions::supervisor_path can name an installed "
                              "stirrup-supervisor)");
    return pid;
}

struct SupervisorReport {
    bool started = false;
    int command_pid = -1;
    bool exited = false; ///< the command's wait status is known
    int status = 0;
    bool lingering = false;
    int spawn_errno = 0;
    int setup_errno = 0;
    int setup_step = 0;
};

asio::awaitable<void> read_reports(asio::readable_pipe& pipe, SupervisorReport& report, const ChildProcessSpec& spec)
{
    for (;;) {
        std::int32_t record[STIRRUP_SUPERVISOR_RECORD_INTS] = {};
        auto [ec, n] =
            co_await asio::async_read(pipe, asio::buffer(record, sizeof record), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::eof)
            co_return; // the supervisor is gone
        // A cancellation stays as Asio reports it, so is_cancellation knows it.
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec);
        if (ec)
            throw SystemError(std::error_code(ec), "reading the command supervisor's status");
        switch (record[0]) {
        case STIRRUP_SUPERVISOR_STARTED:
            report.started = true;
            report.command_pid = record[1];
            if (spec.on_spawn)
                spec.on_spawn(record[1]);
            break;
        case STIRRUP_SUPERVISOR_SPAWN_FAILED:
            report.spawn_errno = record[1];
            co_return;
        case STIRRUP_SUPERVISOR_SETUP_FAILED:
            report.setup_errno = record[1];
            report.setup_step = record[2];
            co_return;
        case STIRRUP_SUPERVISOR_EXITED:
            report.exited = true;
            report.status = record[1];
            report.lingering = record[2] != 0;
            // A supervisor with nothing left exits now: its end of file
            // (usually already there) saves waiting for its pidfd.
            if (report.lingering)
                co_return;
            break;
        default:
            throw SystemError(std::make_error_code(std::errc::protocol_error),
                              "unexpected record from the command supervisor");
        }
    }
}

// Waits until the supervisor has exited (without reaping it); SIGKILLs it
// when it does not within the grace.
asio::awaitable<void> wait_supervisor_exit(SupervisorSet::Entry& entry)
{
    UniqueFd fd = entry.open_pidfd();
    if (!fd) {
        entry.reap(false); // no pidfd (EMFILE?): wait the plain way
        co_return;
    }
    asio::posix::stream_descriptor pidfd(co_await asio::this_coro::executor, fd.release());
    auto exited = pidfd.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
    const auto raced = co_await detail::race_for(std::move(exited), supervisor_grace);
    if (!raced.timed_out)
        co_return;
    entry.force_kill();
    auto [ec] =
        co_await pidfd.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
    (void)ec;
}

// The supervisor died by a signal (killed from inside the environment, or by
// us after its grace) before it reported its command's end: the command's
// process group is all that can still be reached. A pid still in use must
// still lead its own session, as the command did (else it was recycled);
// a pid no process has can still name the command's group, and no other
// (the kernel does not reuse a number while a group of that id exists).
void kill_orphaned_command(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in) {
        ::kill(-pid, SIGKILL);
        return;
    }
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return;
    char state = 0;
    long ppid = 0, pgrp = 0, session = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &session) == 4 && session == pid)
        ::kill(-pid, SIGKILL);
}

} // namespace

asio::awaitable<ChildProcessResult> run_supervised(const ChildProcessSpec& spec, std::shared_ptr<SupervisorSet> set)
{
    auto ex = co_await asio::this_coro::executor;
    FdPair out = make_pipe();
    FdPair err = make_pipe();
    FdPair channel = make_channel();
    const pid_t pid = spawn_supervisor(*set, spec, out.write.get(), err.write.get(), channel.write.get());
    out.write.reset();
    err.write.reset();
    channel.write.reset();

    // The entry owns the host's end (a lingering supervisor lives as long
    // as it is open); the reads below borrow it.
    const auto entry = set->add(pid, UniqueFd(channel.read.release()));
    asio::readable_pipe out_pipe(ex, out.read.release());
    asio::readable_pipe err_pipe(ex, err.read.release());
    asio::readable_pipe status_pipe(ex, entry->channel.get());
    struct Borrowed {
        asio::readable_pipe& pipe;
        ~Borrowed()
        {
            boost::system::error_code ignored;
            pipe.release(ignored);
        }
    } borrowed{status_pipe};
    OutputCapture out_capture(spec.capture_chars_each_side, spec.capture_chars_each_side);
    OutputCapture err_capture(spec.capture_chars_each_side, spec.capture_chars_each_side);

    SupervisorReport report;
    ChildProcessResult result;
    asio::awaitable<void> run =
        (drain(out_pipe, out_capture) && drain(err_pipe, err_capture) && read_reports(status_pipe, report, spec));
    const auto raced = co_await detail::race_for(std::move(run), spec.timeout);
    result.timed_out = raced.timed_out;
    const std::exception_ptr failure = raced.failure;

    // Cleanup runs to the end even though this coroutine was cancelled.
    co_await asio::this_coro::reset_cancellation_state();
    const bool killing = failure || result.timed_out;
    if (killing)
        entry->finish(); // the command's whole subtree, however it detached
    if (killing || !report.exited || !report.lingering) {
        // Unless killing, it has closed its end of the channel: it is
        // exiting, if not yet a zombie.
        if (killing || !entry->reap(true)) {
            co_await wait_supervisor_exit(*entry);
            entry->reap(false);
        }
        set->remove(entry);
        const bool supervisor_killed = WIFSIGNALED(entry->status);
        if (supervisor_killed && report.command_pid > 0 && !report.exited)
            kill_orphaned_command(report.command_pid);
    } else {
        // Background jobs outlive the command until the environment stops.
        set->linger(entry);
    }
    if (failure)
        std::rethrow_exception(failure);
    if (result.timed_out)
        co_return result;
    if (report.spawn_errno)
        throw SpawnError(std::error_code(report.spawn_errno, std::system_category()), spec.argv[0]);
    if (report.setup_errno)
        throw SystemError(std::error_code(report.setup_errno, std::system_category()),
                          report.setup_step == STIRRUP_SUPERVISOR_STEP_CGROUP
                              ? "the command supervisor could not join the environment's cgroup"
                              : "the command supervisor could not start");
    if (!report.started)
        throw SystemError(std::make_error_code(std::errc::no_child_process),
                          "the command supervisor exited before starting the command (wait status " +
                              std::to_string(entry->status) + ")");

    // A supervisor killed from inside the environment never reports how the
    // command ended: its own end stands for it.
    result.exit_code = python_returncode(report.exited ? report.status : entry->status);
    result.stdout_dropped_chars = out_capture.dropped_chars();
    result.stderr_dropped_chars = err_capture.dropped_chars();
    result.stdout_text = out_capture.take_text();
    result.stderr_text = err_capture.take_text();
    co_return result;
}

} // namespace stirrup::detail
