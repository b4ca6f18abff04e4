#pragma once
// Saving declared output files from a host-backed environment (local temp dir,
// bind-mounted Docker workspace) into a host directory: Stirrup's
// _save_host_output_files. Blocking filesystem work: callers run it off the
// event loop (see core/offload.hpp).

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "stirrup/exec/output_paths.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup {

/// Maps a path as the model wrote it (relative or absolute inside the
/// environment) to the host file to read; throws PathError when it resolves
/// (following symlinks) outside the environment.
using HostSourceResolver = std::function<std::filesystem::path(const std::string& path)>;

/// For each path, in order (exact duplicates are idempotent):
///  1. relative path via safe_output_relative_path; source via `resolve`;
///     must exist ("File does not exist") and be a regular file ("Path is not a file");
///  2. destination output_dir/rel must stay inside output_dir after resolving
///     ("Output destination escapes output directory: {dest}"); a second path
///     claiming the same destination (case-folded when the directory is
///     case-insensitive) fails with "Output destination collision: {dest} (already claimed by {first})";
///  3. the source is snapshotted, then atomically copied over the destination
///     (temp file in the destination dir, mode kept, rename). Sources stay.
/// Every failure lands in `failed[path]` and the batch goes on.
SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths,
                                             const std::filesystem::path& output_dir,
                                             std::span<const OutputSourceRoot> roots,
                                             const HostSourceResolver& resolve);

/// Whether names that differ only by case are distinct files in `dir`
/// (creates `dir`, then probes with a temp file named .stirrup-Case-Probe-*).
/// Throws SystemError.
bool is_case_sensitive_directory(const std::filesystem::path& dir);

/// Decides the case policy of the nearest existing directory of a destination.
using CaseSensitivityProbe = std::function<bool(const std::filesystem::path& dir)>;

/// As above with another probe: for tests (Linux has no case-insensitive
/// directory to hand) or a caller that knows its filesystem.
SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths,
                                             const std::filesystem::path& output_dir,
                                             std::span<const OutputSourceRoot> roots,
                                             const HostSourceResolver& resolve,
                                             const CaseSensitivityProbe& is_case_sensitive);

/// Writes `data` to `path` atomically (temp file in the same directory +
/// rename), creating parent directories. An existing file keeps its mode; a
/// new one gets 0666 less the umask. Throws SystemError.
void atomic_write_file(const std::filesystem::path& path, std::string_view data);

} // namespace stirrup
