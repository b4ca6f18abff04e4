#pragma once
// Saving declared output files from a host-backed environment (local temp dir,
// bind-mounted Docker workspace) into a host directory: Stirrup's
// _save_host_output_files, on descriptors. Sources are opened relative to
// the environment's root (HostTree), destinations relative to the output
// directory's; a file is copied from the descriptor that was checked, into a
// temp file renamed over the destination, with the library's modes and
// within the transfer limits. Blocking: callers run it off the event loop.

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/output_paths.hpp"
#include "stirrup/exec/transfer_limits.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup::detail {

/// Decides whether the directory `dirfd` (spelled `dir` for messages and
/// tests) tells names apart by case.
using CaseSensitivityProbe = std::function<bool(int dirfd, const std::filesystem::path& dir)>;

/// The real probe: detail::is_case_sensitive_at.
bool probe_case_sensitivity(int dirfd, const std::filesystem::path& dir);

/// For each path, in order (exact duplicates are idempotent):
///  1. relative path via safe_output_relative_path; the source is opened in
///     `env`: "Path is outside execution environment: {path}" when it leaves
///     it, "File does not exist", "Path is not a file" (FIFOs, devices and
///     directories are never opened);
///  2. the destination output_dir/rel must stay inside output_dir, symlinks
///     there followed only inside it ("Output destination escapes output
///     directory: {dest}"); a second path claiming the same destination
///     (case-folded when its directory is case-insensitive) fails with
///     "Output destination collision: {dest} (already claimed by {first})";
///  3. the size is claimed from `budget` (per file and per session;
///     FileTooLargeError's text otherwise), then the open source is copied,
///     sparsely and bounded, into a temp file renamed over the destination:
///     mode 0644, or 0755 for an executable source, less the umask.
/// When the output directory and the environment overlap, every source is
/// opened before any destination is written, so a save cannot change what a
/// later one copies. Every failure lands in `failed[path]`; the batch goes on.
SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths,
                                             const std::filesystem::path& output_dir,
                                             std::span<const OutputSourceRoot> roots, const HostTree& env,
                                             TransferBudget& budget,
                                             const CaseSensitivityProbe& is_case_sensitive = probe_case_sensitivity);

/// Whether names that differ only by case are distinct files in `dir`
/// (created if missing). Throws SystemError.
bool is_case_sensitive_directory(const std::filesystem::path& dir);

/// Writes `data` to `path` atomically (temp file beside it, renamed over
/// it), creating parent directories. A new file gets 0644 less the umask; an
/// existing one keeps its permission bits, without setuid, setgid or sticky.
/// Throws SystemError.
void atomic_write_file(const std::filesystem::path& path, std::string_view data);

/// Maps an OS-level open failure of a source to Stirrup's per-file texts.
[[noreturn]] void throw_source_error(const std::error_code& ec, const std::string& path);

} // namespace stirrup::detail
