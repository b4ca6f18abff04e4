#include "stirrup/exec/detail/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "stirrup/core/detail/errno_code.hpp"

namespace stirrup::detail {

SpawnError::SpawnError(std::error_code ec, std::string program)
    : SystemError(ec, "cannot start '" + program + "'"), program_(std::move(program))
{
}

FdPair make_pipe()
{
    int fds[2];
    // CLOEXEC: concurrent spawns must not inherit each other's pipe ends, or
    // a command's EOF would wait for an unrelated child to exit.
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw SystemError(last_errno(), "pipe2");
    return {UniqueFd{fds[0]}, UniqueFd{fds[1]}};
}

SpawnAttributes::SpawnAttributes()
{
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
}

SpawnAttributes::~SpawnAttributes()
{
    ::posix_spawnattr_destroy(&attr_);
    ::posix_spawn_file_actions_destroy(&actions_);
}

// A session of its own: the leader of a new process group, which a timeout
// or a stop kills with its grandchildren, and which a terminal's signals to
// the host's group do not reach. Signal state is reset, since a server
// usually ignores SIGPIPE and that must not leak into the child.
void SpawnAttributes::own_session(int out_fd, int err_fd, int in_fd)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    ::posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setsigmask(&attr_, &none);
    ::posix_spawnattr_setsigdefault(&attr_, &all);
    if (in_fd >= 0)
        ::posix_spawn_file_actions_adddup2(&actions_, in_fd, STDIN_FILENO);
    else
        ::posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions_, out_fd, STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions_, err_fd, STDERR_FILENO);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings)
{
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& s : strings)
        out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// posix_spawn (clone+exec in glibc) rather than a fork-based launcher: it does
// not copy the parent's page tables, it reports exec failures as a return
// value, and it never calls io_context::notify_fork, which is unsafe while
// other threads run the same io_context.
pid_t spawn_session_leader(const SpawnSpec& spec)
{
    if (spec.argv.empty())
        throw SpawnError(std::make_error_code(std::errc::invalid_argument), "");
    SpawnAttributes sa;
    sa.own_session(spec.stdout_fd, spec.stderr_fd, spec.stdin_fd);
    const std::string cwd = spec.cwd.string();
    if (!cwd.empty())
        ::posix_spawn_file_actions_addchdir_np(&sa.actions_, cwd.c_str());

    auto argv = c_strings(spec.argv);
    auto envp = c_strings(spec.env);

    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &sa.actions_, &sa.attr_, argv.data(), envp.data());
    if (rc != 0)
        throw SpawnError(std::error_code(rc, std::system_category()), spec.argv[0]);
    return pid;
}

} // namespace stirrup::detail
