#pragma once
// Writing files the library creates from environment data, on descriptors
// only: a temp file made with O_EXCL beside the destination, filled, then
// renamed over it, so a failure never leaves a partial file and a symlink
// planted at the destination is replaced, not followed. Modes are the
// library's, never the source's: 0644, or 0755 for an executable source,
// less the umask; no setuid, setgid or sticky bit ever reaches the host.
// Blocking: run it off the event loop.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace stirrup::detail {

/// 0755 when the source had any execute bit, else 0644 (created with
/// open(2), which applies the umask).
constexpr mode_t created_file_mode(mode_t source_mode) noexcept
{
    return (source_mode & 0111) != 0 ? 0755 : 0644;
}

/// The process's umask, read without changing it (/proc/self/status);
/// 022 when it cannot be read. For modes applied elsewhere than by open(2)
/// (the entries of a tar archive extracted by a Docker engine).
mode_t current_umask() noexcept;

/// Copies the regular file `in` into the empty file `out`, from offset 0.
/// Holes stay holes (SEEK_DATA/SEEK_HOLE); data moves with
/// copy_file_range, else read/write. A file that reaches more than
/// `max_bytes` while being copied throws FileTooLargeError. `from` names the
/// source in errors. Returns the size copied.
std::uint64_t copy_file_contents(int in, int out, std::uint64_t max_bytes, const std::string& from);

/// Reads the rest of `fd` into memory; throws SystemError naming `what`.
std::string read_all(int fd, const std::string& what);

/// Writes all of `data` to `fd`; throws SystemError naming `what`.
void write_all(int fd, std::string_view data, const std::string& what);

/// A new file being written beside its destination: a temp file
/// (.stirrup-out-*, O_EXCL | O_NOFOLLOW, mode `mode` less the umask) in
/// `dirfd`, renamed over `name` by commit(), removed if never committed.
/// `display` names the destination in errors.
class PendingFile {
public:
    PendingFile(int dirfd, std::string name, mode_t mode, std::string display);
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;
    ~PendingFile();

    [[nodiscard]] int fd() const noexcept { return fd_; }
    /// Closes the temp file (reporting deferred write errors) and renames it
    /// over the destination. Throws SystemError ("cannot replace DISPLAY").
    void commit();

private:
    int dirfd_;
    int fd_ = -1;
    std::string name_, temp_, display_;
    bool committed_ = false;
};

/// Writes a stream of pieces at increasing offsets, leaving holes for
/// blocks of zeros (an archive carries a sparse file as zeros), bounded.
class SparseWriter {
public:
    SparseWriter(int fd, std::uint64_t max_bytes, std::string display);
    /// Throws FileTooLargeError past max_bytes, SystemError on write errors.
    void write(std::string_view piece);
    /// Sets the size (a trailing hole) and returns it.
    std::uint64_t finish();
    [[nodiscard]] std::uint64_t size() const noexcept { return offset_; }

private:
    int fd_;
    std::uint64_t max_;
    std::uint64_t offset_ = 0;
    std::string display_;
};

/// Creates or replaces the entry `name` of directory `dirfd` atomically: a
/// temp file (.stirrup-out-*, O_EXCL | O_NOFOLLOW, mode `mode` less the
/// umask) is filled by `fill`, then renamed over `name`. The temp file is
/// removed on any failure. `display` names the destination in errors
/// ("cannot replace DISPLAY: Is a directory"). Throws what `fill` throws,
/// or SystemError.
void replace_file_at(int dirfd, const std::string& name, mode_t mode, const std::function<void(int fd)>& fill,
                     const std::string& display);

} // namespace stirrup::detail
