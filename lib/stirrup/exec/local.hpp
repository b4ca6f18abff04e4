#pragma once
// The local backend: a fresh temp directory on the host per provider;
// commands run there with `bash -c` (or their argv directly under an
// allowlist), each in its own process group. Not a sandbox: for untrusted
// code use Docker or E2B.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "stirrup/core/limiter.hpp"
#include "stirrup/exec/child_process.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup {

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

    /// The environment's directory while started.
    const std::optional<std::filesystem::path>& temp_dir() const noexcept { return temp_dir_; }

    awaitable<std::string> read_file(std::string path) override;
    awaitable<void> write_file(std::string path, std::string data) override;
    awaitable<bool> file_exists(std::string path) override;
    awaitable<bool> is_directory(std::string path) override;
    awaitable<std::vector<std::string>> list_files(std::string dir) override;

    std::vector<OutputSourceRoot> output_source_roots() const override;
    std::string code_exec_description() const override;

    /// Resolves a path (relative to the temp dir, or absolute inside it),
    /// following symlinks; throws PathError "Path is outside execution
    /// environment: {path}" when it escapes, NotStartedError when not started.
    std::filesystem::path resolve_path(const std::string& path) const;

protected:
    awaitable<void> do_start() override;
    awaitable<void> do_stop() override;
    awaitable<CommandResult> execute(PreparedCommand cmd, Milliseconds timeout) override;
    std::optional<HostSourceResolver> host_source_resolver() const override;
    awaitable<void> upload_host_file(std::filesystem::path host_file, std::string dest) override;

private:
    LocalCodeExecOptions local_options_;
    std::optional<std::filesystem::path> temp_dir_;
    std::filesystem::path canonical_root_;
    std::vector<std::string> child_env_;  ///< host environment + the marker, built at start
    /// Identifies every process the environment started. Commands may run on
    /// several threads of one io_context, hence the mutex.
    std::shared_ptr<std::mutex> mark_mutex_ = std::make_shared<std::mutex>();
    ProcessMark mark_;

    ProcessMark current_mark() const;
};

/// Stirrup's local heuristic: does a command (shell mode) or one argv word
/// (allowlist mode) look like it uses an absolute path outside the temp dir?
bool looks_like_absolute_path(std::string_view text, bool shell_mode) noexcept;

} // namespace stirrup
