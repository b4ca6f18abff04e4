#pragma once
// Which host files an upload_files call sends, and where they go: Stirrup's
// layout (a file to dest_dir/name; a directory to dest_dir/dirname/..., or
// its contents straight into dest_dir when one is given), with the rules for
// what a directory holds besides files. A symlink inside it whose target
// stays inside is sent at its own path (a symlinked directory is walked, a
// loop is skipped); one leading out, a broken one, FIFOs, sockets and
// devices are skipped with a reason, never followed and never fatal. A
// top-level symlink keeps its own name. Blocking: run it off the event loop.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup::detail {

struct UploadItem {
    /// The uploaded directory the file lies in, or null for a top-level file.
    std::shared_ptr<const HostTree> tree;
    /// The file's path in `tree`, or its host path when there is no tree.
    std::string rel;
    /// The source path reported (resolved, absolute).
    std::string source;
    /// Where it goes in the environment.
    std::string dest;
    std::uint64_t size = 0;
    /// The mode it gets there (0644 or 0755; the umask applies).
    mode_t mode = 0644;

    /// Opens the file for reading, through its tree (race-free) when it has
    /// one. Throws SystemError / FileNotFoundError.
    [[nodiscard]] OpenedEntry open() const;
};

/// The plan for `paths`, sorted by destination within each path; missing
/// paths go into result.failed (keyed by their resolved path, with
/// Stirrup's "File or directory does not exist"), skipped entries into
/// result.skipped.
std::vector<UploadItem> plan_host_uploads(const std::vector<std::string>& paths,
                                          const std::optional<std::string>& dest_dir, UploadFilesResult& result);

} // namespace stirrup::detail
