#pragma once
// The host side of stirrup-supervisor (exec/local/supervisor/supervisor.c): every
// command of a local environment runs under a supervisor of its own, the
// subreaper of everything the command starts. The supervisor reports the
// command's pid and exit over a socket, stays while processes the command
// left behind run, and kills its whole subtree when the host shuts that
// socket down or dies. Its protocol: exec/local/supervisor/protocol.h.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/core/detail/unique_fd.hpp"
#include "stirrup/exec/local/detail/child_process.hpp"

namespace stirrup::detail {

/// The program to run as supervisor: `configured` when given, else
/// $STIRRUP_SUPERVISOR, else the copy embedded in the library, written once
/// per process to a sealed memfd and run as /proc/self/fd/N. When the kernel
/// refuses executable memfds (vm.memfd_noexec=2), an installed copy in the
/// library's libexecdir is used if present; otherwise throws SystemError
/// saying how to point at one.
std::string supervisor_program(const std::optional<std::filesystem::path>& configured);

/// The supervisors of one environment's commands: those running a command
/// and those that stay for its background jobs. Thread-safe.
class SupervisorSet {
public:
    struct Entry {
        pid_t pid = -1;
        /// The host's end of the supervisor's channel. Shutting it down (or
        /// the host's death) makes the supervisor kill its subtree.
        UniqueFd channel;
        std::mutex mutex;
        bool reaped = false;
        int status = 0; ///< its wait status, once reaped
        bool lingering = false;

        /// Tells the supervisor to kill everything it owns and exit (and
        /// wakes it if it was stopped).
        void finish() noexcept;
        /// SIGKILLs the supervisor itself (not reaped yet, so the pid is still
        /// it): for one that does not exit when told to.
        void force_kill() noexcept;
        /// waitpid, once; blocking unless `nohang`. True once reaped (by this
        /// call or an earlier one, of whichever thread).
        bool reap(bool nohang) noexcept;
        /// A pidfd of the supervisor (readable once it has exited), or an
        /// invalid one once it is reaped.
        UniqueFd open_pidfd() noexcept;
    };

    /// `program`: supervisor_program(); `cgroup_procs`: the cgroup.procs file
    /// every supervisor moves itself into before starting its command.
    SupervisorSet(std::string program, std::optional<std::string> cgroup_procs);
    ~SupervisorSet();
    SupervisorSet(const SupervisorSet&) = delete;
    SupervisorSet& operator=(const SupervisorSet&) = delete;

    const std::string& program() const noexcept { return program_; }
    const std::optional<std::string>& cgroup_procs() const noexcept { return cgroup_procs_; }

    /// Tracks a supervisor just spawned. After close(), it is told to finish at once.
    std::shared_ptr<Entry> add(pid_t pid, UniqueFd channel);
    /// Its command ended but background jobs remain: the set reaps it later.
    void linger(const std::shared_ptr<Entry>& entry);
    /// Forgets a supervisor its command reaped.
    void remove(const std::shared_ptr<Entry>& entry);
    /// Reaps lingering supervisors that have exited since (non-blocking).
    void reap_ended() noexcept;
    /// How many supervisors are tracked (running a command, or lingering).
    std::size_t size() const;

    /// Tells every supervisor to kill its subtree and exit, and any added
    /// later to do so at once.
    void close() noexcept;
    /// Blocking: waits until every supervisor has exited (one that has not
    /// after `grace` is SIGKILLed) and reaps those the set owns. Returns how
    /// many had to be SIGKILLed.
    std::size_t wait_all(std::chrono::milliseconds grace) noexcept;

private:
    std::string program_;
    std::optional<std::string> cgroup_procs_;
    mutable std::mutex mutex_;
    bool closed_ = false;
    std::vector<std::shared_ptr<Entry>> entries_;
};

/// Runs `spec` under a supervisor of `set`: as run_child_process (output,
/// timeout, cancellation, SpawnError for a command that cannot start), except
/// that a timeout or cancellation kills the command's whole subtree, however
/// its processes detached, and that processes the command leaves behind (its
/// background jobs) keep running, owned by the supervisor, until `set` is
/// closed. Throws SystemError when the supervisor itself fails.
boost::asio::awaitable<ChildProcessResult> run_supervised(const ChildProcessSpec& spec,
                                                          std::shared_ptr<SupervisorSet> set);

} // namespace stirrup::detail
