#pragma once
// Runs one host process in its own session/process group and captures its
// output, bounded. The local backend runs its commands through a supervisor
// (detail/supervisor.hpp) built on the same pieces.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/spawn.hpp"

namespace stirrup::detail {

struct ChildProcessSpec {
    std::vector<std::string> argv; ///< argv[0] is looked up in PATH
    std::filesystem::path cwd;
    std::vector<std::string> env; ///< full environment ("K=V"); stdin is /dev/null
    std::chrono::milliseconds timeout{0};
    std::size_t capture_chars_each_side = 20'000;
    /// Called with the child's pid (also its session and group id) right
    /// after it was spawned (under a supervisor: the command's pid).
    std::function<void(int pid)> on_spawn;
};

struct ChildProcessResult {
    bool timed_out = false;
    /// Python's Popen.returncode: the exit status, or -N after signal N.
    int exit_code = 0;
    std::string stdout_text;
    std::string stderr_text;
    std::uint64_t stdout_dropped_chars = 0;
    std::uint64_t stderr_dropped_chars = 0;
};

/// Spawns `spec.argv` as the leader of a new session (so its whole process
/// group can be killed), reads stdout and stderr until both close and the
/// leader exits. On timeout the whole group is SIGKILLed and the result has
/// timed_out set. On cancellation (the caller's slot) the group is SIGKILLed,
/// the leader reaped, and operation_aborted rethrown. Throws SpawnError.
boost::asio::awaitable<ChildProcessResult> run_child_process(const ChildProcessSpec& spec);

} // namespace stirrup::detail
