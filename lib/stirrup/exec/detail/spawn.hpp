#pragma once
// Starting a host process as the leader of its own session, with its standard
// streams on descriptors the caller chose: the local backend's commands and
// supervisors, and MCP stdio servers, all start here.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <spawn.h>

#include "stirrup/core/detail/unique_fd.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup::detail {

/// The process could not be started (exec failed: missing binary, bad cwd...).
class SpawnError : public SystemError {
public:
    SpawnError(std::error_code ec, std::string program);
    const std::string& program() const noexcept { return program_; }

private:
    std::string program_;
};

struct FdPair {
    UniqueFd read, write;
};

/// A pipe, both ends close-on-exec.
FdPair make_pipe();

class SpawnAttributes {
public:
    SpawnAttributes();
    ~SpawnAttributes();
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;

    /// A session of its own, signal state reset, stdin from `in_fd` (/dev/null
    /// when negative), stdout and stderr to these.
    void own_session(int out_fd, int err_fd, int in_fd = -1);

    posix_spawnattr_t attr_;
    posix_spawn_file_actions_t actions_;
};

/// The null-terminated char* array posix_spawn takes; the strings must outlive it.
std::vector<char*> c_strings(const std::vector<std::string>& strings);

struct SpawnSpec {
    std::vector<std::string> argv; ///< argv[0] is looked up in PATH
    std::filesystem::path cwd;     ///< empty: the caller's
    std::vector<std::string> env;  ///< the full environment ("K=V")
    int stdin_fd = -1;             ///< negative: /dev/null
    int stdout_fd = -1;
    int stderr_fd = -1;
};

/// Spawns the process as the leader of a new session (its pid is its process
/// group id, so the whole group can be killed). Throws SpawnError.
pid_t spawn_session_leader(const SpawnSpec& spec);

} // namespace stirrup::detail
