#include "stirrup/exec/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>
#include <sstream>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
// Boost.Process 1.81 headers use these without including them.
#include <boost/asio/detail/throw_error.hpp>
#include <boost/optional.hpp>
#include <boost/process/v2/process.hpp>

#include "stirrup/exec/output_capture.hpp"
#include "stirrup/core/timer_limit.hpp"

namespace stirrup {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

SpawnError::SpawnError(std::error_code ec, std::string program)
    : SystemError(ec, "cannot start '" + program + "'"), program_(std::move(program))
{
}

namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept
    {
        reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~Fd() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

struct Pipe {
    Fd read, write;
};

Pipe make_pipe()
{
    int fds[2];
    // CLOEXEC: concurrent spawns must not inherit each other's pipe ends, or
    // a command's EOF would wait for an unrelated child to exit.
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw SystemError(last_error(), "pipe2");
    return {Fd{fds[0]}, Fd{fds[1]}};
}

class SpawnAttributes {
public:
    SpawnAttributes()
    {
        ::posix_spawnattr_init(&attr_);
        ::posix_spawn_file_actions_init(&actions_);
    }
    ~SpawnAttributes()
    {
        ::posix_spawnattr_destroy(&attr_);
        ::posix_spawn_file_actions_destroy(&actions_);
    }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    posix_spawnattr_t attr_;
    posix_spawn_file_actions_t actions_;
};

// posix_spawn (clone+exec in glibc) rather than a fork-based launcher: it does
// not copy the parent's page tables, it reports exec failures as a return
// value, and it never calls io_context::notify_fork, which is unsafe while
// other threads run the same io_context.
pid_t spawn(const ChildProcessSpec& spec, int out_fd, int err_fd)
{
    if (spec.argv.empty())
        throw SpawnError(std::make_error_code(std::errc::invalid_argument), "");
    SpawnAttributes sa;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    // A new session makes the child leader of its own process group, so a
    // timeout can kill its grandchildren too; signal state is reset because a
    // server usually ignores SIGPIPE and that must not leak into commands.
    ::posix_spawnattr_setflags(&sa.attr_, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setsigmask(&sa.attr_, &none);
    ::posix_spawnattr_setsigdefault(&sa.attr_, &all);
    const std::string cwd = spec.cwd.string();
    if (!cwd.empty())
        ::posix_spawn_file_actions_addchdir_np(&sa.actions_, cwd.c_str());
    ::posix_spawn_file_actions_addopen(&sa.actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&sa.actions_, out_fd, STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&sa.actions_, err_fd, STDERR_FILENO);

    std::vector<char*> argv;
    argv.reserve(spec.argv.size() + 1);
    for (const auto& a : spec.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(spec.env.size() + 1);
    for (const auto& e : spec.env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &sa.actions_, &sa.attr_, argv.data(), envp.data());
    if (rc != 0)
        throw SpawnError(std::error_code(rc, std::system_category()), spec.argv[0]);
    return pid;
}

asio::awaitable<void> drain(asio::readable_pipe& pipe, OutputCapture& capture)
{
    std::array<char, 16 * 1024> buf;
    for (;;) {
        auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        capture.append(std::string_view(buf.data(), n));
        if (ec == asio::error::eof)
            break;
        if (ec)
            throw boost::system::system_error(ec, "reading command output");
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
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    const pid_t pid = spawn(spec, out.write.get(), err.write.get());
    if (spec.on_spawn)
        spec.on_spawn(pid);
    out.write.reset();
    err.write.reset();

    const int raw_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (raw_pidfd < 0) {
        const auto ec = last_error();
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

    asio::steady_timer timer(ex);
    // A timeout of hours must not overflow the clock arithmetic.
    timer.expires_after(clamp_timer(spec.timeout));

    ChildProcessResult result;
    std::exception_ptr failure;
    try {
        auto which = co_await ((drain(out_pipe, out_capture) && drain(err_pipe, err_capture) && wait_exited(pidfd))
                               || timer.async_wait(asio::use_awaitable));
        result.timed_out = which.index() == 1;
    } catch (const asio::multiple_exceptions& e) {
        // Every branch failed, as they all do when the caller cancels: report
        // the first cause (operation_aborted), not the (nested) wrappers.
        failure = e.first_exception();
        for (;;) {
            try {
                std::rethrow_exception(failure);
            } catch (const asio::multiple_exceptions& inner) {
                failure = inner.first_exception();
                continue;
            } catch (...) {
            }
            break;
        }
    } catch (...) {
        failure = std::current_exception();
    }

    if (failure || result.timed_out) {
        ::kill(-pid, SIGKILL);
        // Cleanup must run to the end even though this coroutine was cancelled.
        co_await asio::this_coro::reset_cancellation_state();
        auto [ec] = co_await pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                                              asio::as_tuple(asio::use_awaitable));
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

// Plain read(2): a /proc file of a process that exits meanwhile fails with
// ESRCH mid-read, which libstdc++'s filebuf turns into an exception.
std::optional<std::string> read_small_file(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        ::close(fd);
        if (n < 0)
            return std::nullopt;
        return out;
    }
}

bool environ_has(const std::string& environ, const std::string& marker)
{
    std::size_t pos = 0;
    while (pos < environ.size()) {
        const std::size_t end = std::min(environ.find('\0', pos), environ.size());
        if (std::string_view(environ).substr(pos, end - pos) == marker)
            return true;
        pos = end + 1;
    }
    return false;
}

struct ProcStat {
    char state = '?';
    long session = 0;
};

// /proc/PID/stat: the command name (field 2) may hold spaces and parentheses,
// so the fields are counted after its last ')'.
std::optional<ProcStat> read_proc_stat(const std::string& proc_dir)
{
    auto stat = read_small_file(proc_dir + "/stat");
    if (!stat)
        return std::nullopt;
    const auto close = stat->rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(stat->substr(close + 2)); // state ppid pgrp session ...
    ProcStat out;
    long ppid = 0, pgrp = 0;
    if (!(fields >> out.state >> ppid >> pgrp >> out.session))
        return std::nullopt;
    return out;
}

std::size_t sweep_once(const ProcessMark& mark)
{
    std::size_t killed = 0;
    const uid_t me = ::getuid();
    const pid_t self = ::getpid();
    DIR* dir = ::opendir("/proc");
    if (!dir)
        return 0;
    while (dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (!end || *end != '\0' || pid <= 0 || pid == self)
            continue;
        const std::string base = std::string("/proc/") + entry->d_name;
        struct stat st{};
        if (::stat(base.c_str(), &st) != 0 || (me != 0 && st.st_uid != me))
            continue;
        const auto stat = read_proc_stat(base);
        if (!stat || stat->state == 'Z') // gone, or dead and waiting for its parent
            continue;
        const auto env = read_small_file(base + "/environ");
        bool ours = env && environ_has(*env, mark.env_marker);
        if (!ours && (!env || env->empty()))
            ours = std::find(mark.sessions.begin(), mark.sessions.end(), stat->session) != mark.sessions.end();
        if (ours && ::kill(static_cast<pid_t>(pid), SIGKILL) == 0)
            ++killed;
    }
    ::closedir(dir);
    return killed;
}

} // namespace

std::size_t kill_marked_processes(const ProcessMark& mark)
{
    std::size_t total = 0;
    for (int pass = 0; pass < 20; ++pass) {
        const std::size_t n = sweep_once(mark);
        total += n;
        if (n == 0)
            break;
    }
    return total;
}

} // namespace stirrup
