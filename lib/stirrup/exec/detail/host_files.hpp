#pragma once
// The file primitives of an environment that lives in a host directory (the
// local backend's temp dir, the Docker backend's bind mount), every one
// through the directory's HostTree: the code in the environment can swap
// any part of a path for a symlink at any moment, and nothing here follows
// one out of the tree. Blocking: run off the event loop where the size is
// not bounded.

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/detail/host_tree.hpp"

namespace stirrup::detail {

class HostFiles {
public:
    /// `unmapped` starts the PathError for an absolute path outside every
    /// prefix of the tree ("Path is outside mounted directory: " in Docker);
    /// a path that leaves the tree otherwise is "Path is outside execution
    /// environment: {path}".
    HostFiles(HostTree tree, std::string unmapped = "Path is outside execution environment: ");

    [[nodiscard]] const HostTree& tree() const noexcept { return tree_; }

    /// The path relative to the root; throws PathError.
    [[nodiscard]] std::string relative(const std::string& path) const;

    /// The whole file. FileNotFoundError "File not found: {path}", PathError
    /// "Is a directory: {path}" or "Path is not a file: {path}" (FIFOs and
    /// devices are never opened), FileTooLargeError past `max_bytes`.
    [[nodiscard]] std::string read(const std::string& path, std::uint64_t max_bytes) const;
    /// Replaces the file atomically, creating parent directories. A new file
    /// gets 0644 less the umask; an existing one keeps its permission bits
    /// without setuid, setgid or sticky.
    void write(const std::string& path, std::string_view data) const;
    /// Regular files only; PathError when the path leaves the tree.
    [[nodiscard]] bool is_file(const std::string& path) const;
    [[nodiscard]] bool is_directory(const std::string& path) const;
    /// See HostTree::list_files; PathError when `dir` leaves the tree.
    [[nodiscard]] std::vector<std::string> list(const std::string& dir) const;
    /// Copies the open regular file `fd` into the environment at `dest`
    /// (sparse, atomic, 0644 or 0755 less the umask); returns its size.
    std::uint64_t copy_in(int fd, const struct stat& st, const std::string& dest, const std::string& from) const;
    /// Opens a file of the environment for copying out; throws PathError /
    /// FileNotFoundError with Stirrup's save texts ("File does not exist").
    [[nodiscard]] OpenedEntry open_source(const std::string& path) const;

private:
    HostTree tree_;
    std::string unmapped_;
};

} // namespace stirrup::detail
