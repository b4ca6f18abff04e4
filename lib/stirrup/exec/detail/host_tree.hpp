#pragma once
// A directory tree on the host that code in an execution environment can
// change while the library works in it: the local backend's temp dir, the
// Docker backend's bind-mounted workspace, a host directory being uploaded.
//
// That code is hostile, and a rename takes microseconds: between a check of a
// path and an open of the same name, a directory can become a symlink to
// /etc. So nothing here checks a path and opens it again by name. A path is
// resolved relative to a descriptor of the root (openat2 with
// RESOLVE_BENEATH where the kernel has it, else one O_NOFOLLOW openat per
// component, holding each directory's descriptor); symlinks are followed only
// while they stay inside the tree; nothing on another file system is entered;
// FIFOs, sockets and device nodes are never opened (a device node made in a
// container opens a host device); and what is read or written is the
// descriptor that was checked. Blocking: run it off the event loop.

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "stirrup/core/detail/unique_fd.hpp"

namespace stirrup::detail {

/// Why a path was refused, besides the system's own errno values (ENOENT,
/// ENOTDIR, ELOOP, EACCES...).
enum class TreeErrc {
    /// It leaves the tree: ".." above the root, or a symlink out of it.
    escapes = 1,
    /// It crosses onto another file system (a mount inside the tree).
    other_device,
    /// It names a FIFO, socket or device node (or a directory where a file
    /// was wanted, for open_file).
    not_regular,
};

const std::error_category& tree_category() noexcept;
std::error_code make_error_code(TreeErrc e) noexcept;

struct OpenedEntry {
    UniqueFd fd;
    struct stat st {};
};

struct ResolvedParent {
    /// The directory that holds (or will hold) the entry.
    UniqueFd dir;
    /// The entry's name in `dir`; empty when the path names a directory
    /// reached by ".." or the root itself.
    std::string name;
    /// The entry's path relative to the root once symlinks are followed
    /// (the identity of a destination); "" for the root.
    std::string path;
    /// The path of `dir` relative to the root.
    std::string dir_path;
};

class HostTree {
public:
    /// Opens `dir`, a trusted path resolved by name this once.
    /// With `same_device` (the default) nothing on another file system is
    /// entered.
    /// `absolute_prefixes` are how the environment spells the root as an
    /// absolute path (the temp dir's path on the host; "/workspace" inside a
    /// container): an absolute path or symlink target under one of them means
    /// the same place under the root, any other absolute target is outside.
    /// Throws SystemError.
    HostTree(const std::filesystem::path& dir, std::vector<std::string> absolute_prefixes = {},
             bool same_device = true);

    HostTree(HostTree&&) noexcept = default;
    HostTree& operator=(HostTree&&) noexcept = default;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] int fd() const noexcept { return root_.get(); }
    [[nodiscard]] dev_t device() const noexcept { return dev_; }

    /// `path` as the environment names it, relative to the root: a relative
    /// path unchanged, an absolute one under a prefix without the prefix;
    /// nullopt for any other absolute path.
    [[nodiscard]] std::optional<std::string> relative(std::string_view path) const;

    /// Opens what `rel` names for reading: a regular file (O_RDONLY) or a
    /// directory (O_RDONLY | O_DIRECTORY). Symlinks inside the tree are
    /// followed. Anything else fails with TreeErrc::not_regular, unopened.
    [[nodiscard]] OpenedEntry open(std::string_view rel, std::error_code& ec) const;
    /// As open(), but only a regular file (a directory is not_regular).
    [[nodiscard]] OpenedEntry open_file(std::string_view rel, std::error_code& ec) const;

    /// The directory holding `rel`'s last component, after following
    /// symlinks (a final symlink that stays inside is followed, so a write
    /// lands on its target, as Python's resolve() then open would). With
    /// `create`, missing directories are made (0777 less the umask).
    [[nodiscard]] ResolvedParent parent_of(std::string_view rel, bool create, std::error_code& ec) const;

    /// As parent_of without creating anything, for a path whose end may not
    /// exist yet: resolves as far as the tree exists and completes the rest
    /// lexically. `dir` is the deepest existing directory.
    [[nodiscard]] ResolvedParent resolve_lenient(std::string_view rel, std::error_code& ec) const;

    /// Whether entries on other file systems are refused (the default; an
    /// uploaded host directory may hold mounts).
    [[nodiscard]] bool same_device() const noexcept { return same_device_; }

    /// Regular files under the directory `rel`, as paths relative to it,
    /// sorted. A symlink is listed when it resolves inside the tree to a
    /// regular file; symlinked directories are not entered (Python's rglob).
    /// Missing, or not a directory: empty. Throws SystemError on I/O errors.
    [[nodiscard]] std::vector<std::string> list_files(std::string_view rel) const;

private:
    enum class Mode { open, parent, parent_create, lenient };
    struct Walk;
    [[nodiscard]] std::optional<std::string> map_absolute(std::string_view target) const;
    ResolvedParent walk(std::string_view rel, Mode mode, int open_flags, OpenedEntry* opened,
                        std::error_code& ec) const;

    std::filesystem::path path_;
    std::vector<std::string> prefixes_;
    bool same_device_ = true;
    UniqueFd root_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
};

/// Removes the entry `name` of directory `dirfd` and, for a directory,
/// everything below it, never following a symlink, whatever the tree does
/// meanwhile; directories without permissions are opened up first. Bounded
/// in open descriptors whatever the depth. A missing entry is not an error.
void remove_tree_at(int dirfd, const std::string& name, std::error_code& ec);
/// The same for a path: its parent is opened by name (trusted), the rest is
/// walked as above.
void remove_tree(const std::filesystem::path& path, std::error_code& ec);

/// Whether names that differ only by case are distinct in the directory
/// `dirfd` (a probe file .stirrup-Case-Probe-* is made and removed).
/// Throws SystemError.
bool is_case_sensitive_at(int dirfd);

/// For tests: resolve by walking even where openat2 is available, so both
/// paths are exercised. Process-wide.
void force_component_walk(bool on) noexcept;

/// One entry of a directory: its name and dirent type (DT_UNKNOWN where the
/// file system does not say).
struct DirEntry {
    std::string name;
    unsigned char type;
};

/// The entries of the directory open at `dirfd` ("." and ".." left out, in
/// the file system's order), read through a duplicate of the descriptor,
/// rewound first: the duplicate shares its position with `dirfd`, which an
/// earlier pass may have read to the end. The one directory read of every
/// walk of a host tree (listing, removal, upload planning). False, with
/// errno set, when it cannot be read.
bool read_dir_entries(int dirfd, std::vector<DirEntry>& entries);

} // namespace stirrup::detail

template <>
struct std::is_error_code_enum<stirrup::detail::TreeErrc> : std::true_type {
};
