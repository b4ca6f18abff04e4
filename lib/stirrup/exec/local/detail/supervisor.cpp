#include "stirrup/exec/local/detail/supervisor.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/local/supervisor/protocol.h"
#include "stirrup/exec/local/supervisor_config.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

// The supervisor's bytes (embedded by supervisor_blob.S, generated at build time).
extern "C" {
__attribute__((visibility("hidden"))) extern const unsigned char stirrup_supervisor_image[];
__attribute__((visibility("hidden"))) extern const unsigned char stirrup_supervisor_image_end[];
}

namespace stirrup::detail {
namespace fs = std::filesystem;

namespace {

struct Embedded {
    std::string path; ///< "/proc/self/fd/N", empty on failure
    std::error_code error;
    std::string what;
};

// One sealed memfd per process, never closed: CLOEXEC, so no command sees it,
// and sealed, so no process that can reach it through /proc can change it.
Embedded write_embedded()
{
    Embedded out;
    const unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    int fd = ::memfd_create("stirrup-supervisor", flags | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) // before Linux 6.3: no MFD_EXEC, every memfd is executable
        fd = ::memfd_create("stirrup-supervisor", flags);
    if (fd < 0) {
        out.error = last_errno();
        out.what = "memfd_create";
        return out;
    }
    const unsigned char* p = stirrup_supervisor_image;
    std::size_t left = static_cast<std::size_t>(stirrup_supervisor_image_end - stirrup_supervisor_image);
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            out.error = last_errno();
            out.what = "writing the supervisor to a memfd";
            ::close(fd);
            return out;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    ::fchmod(fd, 0555);
    // F_SEAL_EXEC (6.3+) keeps the mode; older kernels refuse the whole set.
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_EXEC | F_SEAL_SEAL) != 0 &&
        ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        out.error = last_errno();
        out.what = "sealing the supervisor's memfd";
        ::close(fd);
        return out;
    }
    // The spawn runs /proc/self/fd/N after its dup2s onto 0-3: N must be above them.
    if (fd <= STIRRUP_SUPERVISOR_CHANNEL_FD) {
        const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, STIRRUP_SUPERVISOR_CHANNEL_FD + 1);
        const auto ec = last_errno();
        ::close(fd);
        if (high < 0) {
            out.error = ec;
            out.what = "fcntl(F_DUPFD_CLOEXEC)";
            return out;
        }
        fd = high;
    }
    out.path = "/proc/self/fd/" + std::to_string(fd);
    return out;
}

} // namespace

std::string supervisor_program(const std::optional<fs::path>& configured)
{
    auto checked = [](const std::string& path, const char* source) {
        if (::access(path.c_str(), X_OK) != 0)
            throw SystemError(last_errno(), std::string(source) + " names no executable stirrup-supervisor: " + path);
        return path;
    };
    if (configured)
        return checked(configured->string(), "LocalCodeExecOptions::supervisor_path");
    if (const char* env = std::getenv("STIRRUP_SUPERVISOR"); env && *env)
        return checked(env, "STIRRUP_SUPERVISOR");
    static const Embedded embedded = write_embedded();
    if (!embedded.error)
        return embedded.path;
    if (::access(STIRRUP_SUPERVISOR_INSTALLED, X_OK) == 0)
        return STIRRUP_SUPERVISOR_INSTALLED;
    throw SystemError(embedded.error,
                      "the local backend cannot run its command supervisor from memory (" + embedded.what +
                          "; vm.memfd_noexec?) and none is installed at " STIRRUP_SUPERVISOR_INSTALLED
                          ": set STIRRUP_SUPERVISOR or LocalCodeExecOptions::supervisor_path to a stirrup-supervisor "
                          "executable");
}

// ---- SupervisorSet::Entry -------------------------------------------------

void SupervisorSet::Entry::finish() noexcept
{
    std::lock_guard lock(mutex);
    // A byte, then end of file: either one is the order. Shut down, not
    // closed: the command's coroutine may still read the supervisor's
    // records from the same socket (and no SIGPIPE if it is gone).
    if (channel) {
        ::send(channel.get(), "k", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(channel.get(), SHUT_WR);
    }
    if (!reaped)
        ::kill(pid, SIGCONT); // a supervisor stopped from inside must act
}

void SupervisorSet::Entry::force_kill() noexcept
{
    std::lock_guard lock(mutex);
    if (!reaped)
        ::kill(pid, SIGKILL);
}

UniqueFd SupervisorSet::Entry::open_pidfd() noexcept
{
    std::lock_guard lock(mutex);
    // Not reaped: the pid is still this supervisor.
    if (reaped)
        return UniqueFd{};
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool SupervisorSet::Entry::reap(bool nohang) noexcept
{
    std::lock_guard lock(mutex);
    if (reaped)
        return true;
    int st = 0;
    pid_t r;
    do
        r = ::waitpid(pid, &st, nohang ? WNOHANG : 0);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return false;
    // ECHILD: something else in this process reaped it (a waitpid(-1)).
    reaped = true;
    status = r == pid ? st : 0;
    return true;
}

// ---- SupervisorSet ----------------------------------------------------------

SupervisorSet::SupervisorSet(std::string program, std::optional<std::string> cgroup_procs)
    : program_(std::move(program)), cgroup_procs_(std::move(cgroup_procs))
{
}

SupervisorSet::~SupervisorSet()
{
    // Shutting the channels down is what kills; the waits are the owner's
    // (stop() or the destructor's background reclaim).
    close();
}

std::shared_ptr<SupervisorSet::Entry> SupervisorSet::add(pid_t pid, UniqueFd channel)
{
    auto entry = std::make_shared<Entry>();
    entry->pid = pid;
    entry->channel = std::move(channel);
    bool closed = false;
    {
        std::lock_guard lock(mutex_);
        entries_.push_back(entry);
        closed = closed_;
    }
    if (closed)
        entry->finish();
    return entry;
}

void SupervisorSet::linger(const std::shared_ptr<Entry>& entry)
{
    std::lock_guard lock(entry->mutex);
    entry->lingering = true;
}

void SupervisorSet::remove(const std::shared_ptr<Entry>& entry)
{
    std::lock_guard lock(mutex_);
    std::erase(entries_, entry);
}

void SupervisorSet::reap_ended() noexcept
{
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const std::shared_ptr<Entry>& e) {
        {
            std::lock_guard entry_lock(e->mutex);
            if (!e->lingering)
                return false;
        }
        return e->reap(true);
    });
}

std::size_t SupervisorSet::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void SupervisorSet::close() noexcept
{
    std::vector<std::shared_ptr<Entry>> all;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        all = entries_;
    }
    for (const auto& e : all)
        e->finish();
}

std::size_t SupervisorSet::wait_all(std::chrono::milliseconds grace) noexcept
{
    std::vector<std::pair<std::shared_ptr<Entry>, UniqueFd>> all;
    {
        std::lock_guard lock(mutex_);
        for (const auto& e : entries_)
            all.emplace_back(e, UniqueFd{});
    }
    for (auto& [e, pidfd] : all)
        pidfd = e->open_pidfd();
    std::size_t forced = 0;
    // Exited once its pidfd is readable (an invalid one: reaped already).
    auto wait_exited = [&](std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        std::vector<Entry*> waiting;
        for (;;) {
            waiting.clear();
            std::vector<pollfd> fds;
            for (auto& [e, pidfd] : all) {
                if (!pidfd)
                    continue;
                pollfd p{pidfd.get(), POLLIN, 0};
                if (::poll(&p, 1, 0) > 0)
                    continue;
                fds.push_back(p);
                waiting.push_back(e.get());
            }
            if (waiting.empty())
                return waiting;
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return waiting;
            ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 1000)));
        }
    };
    auto stuck = wait_exited(grace);
    for (Entry* e : stuck) {
        e->force_kill();
        ++forced;
    }
    if (!stuck.empty())
        wait_exited(std::chrono::seconds(10));
    // The set reaps the lingering ones; a running command's coroutine reaps
    // its own, but whoever comes first does it for both.
    for (auto& [e, pidfd] : all) {
        if (!pidfd)
            continue;
        pollfd p{pidfd.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) > 0)
            e->reap(false);
    }
    {
        std::lock_guard lock(mutex_);
        std::erase_if(entries_, [](const std::shared_ptr<Entry>& e) {
            std::lock_guard entry_lock(e->mutex);
            return e->reaped && e->lingering;
        });
    }
    return forced;
}

} // namespace stirrup::detail
