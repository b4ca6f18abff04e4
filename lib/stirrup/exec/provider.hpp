#pragma once
// The backend contract. Every execution environment (local temp dir, Docker
// container, E2B sandbox) derives from CodeExecProvider and implements only its
// primitives; the shared rules (allowlist, output-path safety, transfers
// between providers, result formatting) live here once.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "stirrup/core/awaitable.hpp"
#include "stirrup/exec/allowlist.hpp"
#include "stirrup/exec/command_result.hpp"
#include "stirrup/exec/output_paths.hpp"
#include "stirrup/exec/transfer_limits.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup {
namespace detail {
class HostFiles;
class HostTree;
struct UploadItem;
} // namespace detail

using Milliseconds = std::chrono::milliseconds;

inline constexpr std::chrono::seconds default_shell_timeout{300};

/// Raw bytes of an image read from an environment, with the type sniffed from
/// its signature. Decoding and resizing belong to the view_image tool.
struct ImageFile {
    std::string data;
    std::string
        mime_type; ///< image/png, image/jpeg, image/webp, image/gif, image/bmp, image/tiff, image/vnd.adobe.photoshop
};

/// Receives a file streamed out of an environment: `begin` gets its size
/// before any byte and returns the most that may arrive (throwing
/// FileTooLargeError to refuse it); `data` gets the bytes in order.
struct FileSink {
    std::function<std::uint64_t(std::uint64_t size)> begin;
    std::function<void(std::string_view piece)> data;
};

/// Options every backend shares.
struct CodeExecOptions {
    /// Regex patterns (Python re.match semantics); empty: no allowlist, commands run in a shell.
    std::vector<std::string> allowed_commands;
    /// Default timeout of run_command (Stirrup's SHELL_TIMEOUT).
    Milliseconds shell_timeout = default_shell_timeout;
    /// Code points of each output stream kept in memory: the first and the last
    /// `capture_chars_each_side`; the middle of a longer output is dropped and
    /// counted. Must be at least half the tool's truncation limit.
    std::size_t capture_chars_each_side = 20'000;
    /// Bounds on files leaving the environment: saved outputs, transfers to
    /// another environment, and files read into memory (read_file).
    TransferLimits transfer_limits;
    /// Receives warnings the provider cannot throw (cleanup failures,
    /// reclaiming a provider destroyed while running). Default: stderr.
    std::function<void(std::string_view)> on_warning;
};

class CodeExecProvider {
public:
    using executor_type = boost::asio::any_io_executor;

    CodeExecProvider(const CodeExecProvider&) = delete;
    CodeExecProvider& operator=(const CodeExecProvider&) = delete;
    virtual ~CodeExecProvider();

    /// The executor the provider was started on.
    executor_type get_executor() const { return executor_; }
    const CodeExecOptions& options() const noexcept { return options_; }
    bool started() const noexcept { return started_; }

    /// Creates the environment. Calling start on a started provider is an error.
    awaitable<void> start();
    /// Tears the environment down: kills everything it runs and removes what it
    /// created. Idempotent; never throws (failures go to on_warning).
    awaitable<void> stop();

    /// Runs one command the way the code_exec tool does: allowlist first, then
    /// the backend. Failures of the command are in the result, never thrown.
    /// Cancellation (the caller's cancellation slot) kills the command and
    /// rethrows operation_aborted. Throws NotStartedError when not started.
    awaitable<CommandResult> run_command(std::string cmd, std::optional<Milliseconds> timeout = std::nullopt);

    /// Throws FileNotFoundError, PathError (outside the environment), NotStartedError.
    virtual awaitable<std::string> read_file(std::string path) = 0;
    /// Creates parent directories.
    virtual awaitable<void> write_file(std::string path, std::string data) = 0;
    /// True only for regular files.
    virtual awaitable<bool> file_exists(std::string path) = 0;
    virtual awaitable<bool> is_directory(std::string path) = 0;
    /// Recursive file paths relative to `dir`, sorted; empty if not a directory.
    virtual awaitable<std::vector<std::string>> list_files(std::string dir) = 0;
    /// The image at `path`; throws FileNotFoundError, or PathError for a file that is not an image.
    virtual awaitable<ImageFile> view_image(std::string path);

    /// Uploads host files and directories. A file goes to dest_dir/name (a
    /// symlink keeps its own name); a directory to dest_dir/dirname/..., or
    /// its contents straight into dest_dir when dest_dir is given. Inside a
    /// directory, a symlink whose target stays in it is uploaded at its own
    /// path; one leading out of it, a broken one, FIFOs, sockets and devices
    /// are skipped, with the reason in `skipped`. Per-path failures go into
    /// `failed`. Created files get 0644, or 0755 for executables, less the umask.
    awaitable<UploadFilesResult> upload_files(std::vector<std::string> host_paths,
                                              std::optional<std::string> dest_dir = std::nullopt);
    /// Same, reading from another provider.
    awaitable<UploadFilesResult> upload_files_from(CodeExecProvider& source, std::vector<std::string> paths,
                                                   std::optional<std::string> dest_dir = std::nullopt);
    /// Saves declared output files to a host directory, keeping their relative
    /// structure (Stirrup's rules: traversal, escapes and collisions fail per
    /// file), within options().transfer_limits: a file past them fails alone.
    awaitable<SaveOutputFilesResult> save_output_files(std::vector<std::string> paths,
                                                       std::filesystem::path output_dir);
    /// Saves declared output files into another provider under `output_dir`.
    awaitable<SaveOutputFilesResult> save_output_files_to(CodeExecProvider& dest, std::vector<std::string> paths,
                                                          std::string output_dir);

    /// Checks declared outputs in place, without copying (a sub-agent sharing
    /// its parent's environment): each must be a readable file inside the
    /// environment; `saved` reports it relative to the environment's root.
    awaitable<SaveOutputFilesResult> validate_output_files(std::vector<std::string> paths);

    /// Where absolute output paths may point (e.g. the temp dir, /workspace).
    virtual std::vector<OutputSourceRoot> output_source_roots() const { return {}; }
    /// Identity of a destination inside `root` used for collision checks;
    /// throws PathError when it escapes. Default: lexical POSIX.
    virtual std::string output_destination_identity(std::string_view dest, std::string_view root) const;

    /// Description of the code_exec tool for this backend (Stirrup's texts).
    virtual std::string code_exec_description() const;

protected:
    explicit CodeExecProvider(CodeExecOptions options);

    /// Backend primitives.
    virtual awaitable<void> do_start() = 0;
    virtual awaitable<void> do_stop() = 0;
    /// Runs an allowed command (argv set: without a shell).
    virtual awaitable<CommandResult> execute(PreparedCommand cmd, Milliseconds timeout) = 0;
    /// Maps an output path to the file to read inside the environment (e.g.
    /// resolving symlinks and checking containment). Default: identity.
    virtual awaitable<std::string> resolve_output_source(std::string path) { co_return path; }
    /// Dest path reported for an uploaded file (Local: relative to the temp dir).
    virtual std::string uploaded_dest_path(const std::string& dest) const { return dest; }
    /// Streams a file (as resolve_output_source returned it) into `sink`.
    /// Default: read_file, then one piece. Backends whose files may be large
    /// stream them. Returns the size.
    virtual awaitable<std::uint64_t> read_file_to(std::string path, FileSink& sink);
    /// Host-backed environments (a host directory) return their files, so
    /// that saves and uploads copy between descriptors.
    virtual const detail::HostFiles* host_files() const { return nullptr; }
    /// Uploads planned host files (see upload_files). Default: through
    /// host_files() when there are some, else read each and write_file it.
    virtual awaitable<void> upload_host_files(std::span<const detail::UploadItem> items, UploadFilesResult& result);
    /// The per-file and per-session account of what left this environment.
    detail::TransferBudget& transfer_budget() noexcept { return budget_; }

    void warn(std::string_view message) const;
    void require_started() const;
    /// The not-started check, on a backend's own sign that it runs (its
    /// container, sandbox, temp dir): throws NotStartedError with Stirrup's
    /// message for a command unless `running`.
    static void require_running(bool running);
    /// Same for the file API, with Stirrup's shorter message.
    static void require_running_for_files(bool running);

private:
    using DestinationIdentity = std::function<std::string(std::string_view dest, std::string_view root)>;
    /// Moves one resolved source to its destination; returns the size.
    using FileTransfer = std::function<awaitable<std::uint64_t>(const std::string& source, const std::string& dest)>;
    /// The save loop shared by every non-host destination: relative path,
    /// collision check on the destination's identity, then the transfer.
    awaitable<SaveOutputFilesResult> copy_outputs(std::vector<std::string> paths, std::string output_dir,
                                                  const DestinationIdentity& identity_of, const FileTransfer& transfer);
    /// read_file of a file leaving for another environment, counted against
    /// this environment's transfer budget.
    awaitable<std::string> read_for_transfer(const std::string& path);
    /// One file streamed into a temp file beside its destination under the
    /// output tree `out`, renamed into place (bounded memory).
    awaitable<std::uint64_t> stream_to_host(const detail::HostTree& out, const std::string& output_root,
                                            std::string source, std::string dest);
    /// One file read here and written into `dest_env`.
    awaitable<std::uint64_t> transfer_to(CodeExecProvider& dest_env, std::string source, std::string dest);

    executor_type executor_;
    CodeExecOptions options_;
    Allowlist allowlist_;
    detail::TransferBudget budget_;
    bool started_ = false;
};

} // namespace stirrup
