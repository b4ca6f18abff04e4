#pragma once
// The local backend: a fresh temp directory on the host per provider;
// commands run there with `bash -c` (or their argv directly under an
// allowlist), each under a supervisor that owns every process it starts, and
// in a cgroup of the environment's own where this process may create one.
// Not a sandbox: for untrusted code use Docker or E2B.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "stirrup/core/limiter.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup {
namespace detail {
class HostFiles;
class SupervisorSet;
} // namespace detail

struct LocalCodeExecOptions : CodeExecOptions {
    /// Where the temp dir is created (created if missing); default: the system temp dir.
    std::optional<std::filesystem::path> temp_base_dir;
    /// The code_exec tool's description; default: Stirrup's local text.
    std::optional<std::string> description;
    /// Caps the commands running at once across every provider holding the
    /// same semaphore (a handle: copies share it). A command past the cap
    /// waits in FIFO order (cancellable; its timeout starts once it runs)
    /// instead of spawning until the process or fd limit breaks every
    /// session. nullopt: LocalCodeExec::default_command_limiter().
    std::optional<AsyncSemaphore> command_limiter;
    /// Put the environment's processes in a cgroup v2 of its own, so that
    /// stop() kills them with cgroup.kill, which no process inside can
    /// escape (not even by killing its supervisor). Used when this process
    /// may create a cgroup under its own (root, or a delegated cgroup) and
    /// the kernel has cgroup.kill (5.14+); otherwise the supervisors alone
    /// do the work (see cgroup()). nullopt: on, unless the environment
    /// variable STIRRUP_LOCAL_CGROUP is "0".
    std::optional<bool> use_cgroup;
    /// The stirrup-supervisor program that runs each command. Default: the
    /// environment variable STIRRUP_SUPERVISOR, else the copy embedded in
    /// the library (run from a sealed memfd; where the kernel forbids that,
    /// the copy installed in the library's libexecdir).
    std::optional<std::filesystem::path> supervisor_path;
};

class LocalCodeExec final : public CodeExecProvider {
public:
    explicit LocalCodeExec(LocalCodeExecOptions options = {});
    static std::unique_ptr<LocalCodeExec> make(LocalCodeExecOptions options = {});
    /// A provider destroyed while started kills its processes and removes its
    /// temp dir in the background, and warns that stop() was not awaited.
    ~LocalCodeExec() override;

    /// The process-wide cap shared by providers given no command_limiter:
    /// default_max_commands commands at once.
    static AsyncSemaphore default_command_limiter();
    static constexpr std::size_t default_max_commands = 128;

    /// The environment's cgroup while started, when it has one (see
    /// LocalCodeExecOptions::use_cgroup); nullopt: supervisors alone.
    const std::optional<std::filesystem::path>& cgroup() const noexcept { return cgroup_; }

    /// The environment's directory while started.
    const std::optional<std::filesystem::path>& temp_dir() const noexcept { return temp_dir_; }

    awaitable<std::string> read_file(std::string path) override;
    awaitable<void> write_file(std::string path, std::string data) override;
    awaitable<bool> file_exists(std::string path) override;
    awaitable<bool> is_directory(std::string path) override;
    awaitable<std::vector<std::string>> list_files(std::string dir) override;

    std::vector<OutputSourceRoot> output_source_roots() const override;
    std::string code_exec_description() const override;

protected:
    awaitable<void> do_start() override;
    awaitable<void> do_stop() override;
    awaitable<CommandResult> execute(PreparedCommand cmd, Milliseconds timeout) override;
    const detail::HostFiles* host_files() const override;

private:
    LocalCodeExecOptions local_options_;
    std::optional<std::filesystem::path> temp_dir_;
    std::filesystem::path canonical_root_;
    /// The temp dir through its descriptor: every file primitive goes here.
    std::shared_ptr<const detail::HostFiles> files_;
    const detail::HostFiles& files() const;
    std::vector<std::string> child_env_; ///< the host environment, copied at start
    /// The supervisor of every command still running or still holding
    /// background jobs: what stop() kills (thread-safe).
    std::shared_ptr<detail::SupervisorSet> supervisors_;
    std::optional<std::filesystem::path> cgroup_;
};

/// Stirrup's local heuristic: does a command (shell mode) or one argv word
/// (allowlist mode) look like it uses an absolute path outside the temp dir?
bool looks_like_absolute_path(std::string_view text, bool shell_mode) noexcept;

/// What reap_local_orphans removed.
struct LocalReapResult {
    /// Environment directories removed (their owner process was gone).
    std::vector<std::filesystem::path> removed;
    /// Environment cgroups whose processes were killed, then removed.
    std::vector<std::filesystem::path> cgroups;
    /// Processes killed because their working directory was inside a
    /// removed environment (environments without a cgroup).
    std::size_t killed = 0;
    /// What could not be removed, and why.
    std::vector<std::string> errors;
};

/// The local backend's crash reaper: cleans up after environments whose
/// owner process is gone (killed, crashed, or exited without stop()). Every
/// environment records its owner (pid, start time, host) in the names of its
/// temp dir (local_exec_env_<pid>-<start>-<host tag>-XXXXXX) and cgroup
/// (stirrup-local-...), never in a file the environment could rewrite. For
/// each one of this host whose owner no longer runs: its cgroup is killed
/// (cgroup.kill) and removed; processes still working inside its directory
/// are killed; the directory is removed. Environments of live owners, of
/// other hosts, and directories that do not carry an owner are left alone.
/// `temp_base_dir`: where the environments were made (default: the system
/// temp dir); cgroups are found wherever they are. Blocking work runs off the
/// event loop.
awaitable<LocalReapResult> reap_local_orphans(std::optional<std::filesystem::path> temp_base_dir = std::nullopt);

/// A provider of local temp-dir environments (Stirrup's LocalCodeExecToolProvider).
std::shared_ptr<CodeExecToolProvider> local_code_exec(LocalCodeExecOptions options = {});

} // namespace stirrup
