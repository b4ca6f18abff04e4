#include "stirrup/exec/detail/file_copy.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/core/detail/unique_fd.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup::detail {

namespace {

[[noreturn]] void grew_past(std::uint64_t limit)
{
    throw FileTooLargeError("File grew past the limit of " + std::to_string(limit) + " bytes while it was copied");
}

// Plain read/write, for file systems (or kernels) without copy_file_range
// between these two files.
std::uint64_t copy_range_by_reading(int in, int out, off_t offset, std::uint64_t length, const std::string& from)
{
    char buffer[128 * 1024];
    std::uint64_t done = 0;
    while (done < length) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer, length - done));
        const ssize_t n = ::pread(in, buffer, want, offset + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw SystemError(last_errno(), "cannot read " + from);
        }
        if (n == 0)
            break; // truncated meanwhile
        std::size_t written = 0;
        while (written < static_cast<std::size_t>(n)) {
            const ssize_t w = ::pwrite(out, buffer + written, static_cast<std::size_t>(n) - written,
                                       offset + static_cast<off_t>(done + written));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                throw SystemError(last_errno(), "cannot write the copy of " + from);
            }
            written += static_cast<std::size_t>(w);
        }
        done += static_cast<std::uint64_t>(n);
    }
    return done;
}

// Copies [offset, offset + length) to the same offsets of `out`; returns how
// much was there to copy (less at a concurrent truncation).
std::uint64_t copy_range(int in, int out, off_t offset, std::uint64_t length, bool& use_copy_file_range,
                         const std::string& from)
{
    std::uint64_t done = 0;
    while (use_copy_file_range && done < length) {
        loff_t in_off = offset + static_cast<off_t>(done);
        loff_t out_off = in_off;
        const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, 1u << 30));
        const ssize_t n = ::copy_file_range(in, &in_off, out, &out_off, chunk, 0);
        if (n > 0) {
            done += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0)
            return done;
        if (errno == EINTR)
            continue;
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF ||
            errno == ETXTBSY || errno == EPERM) {
            use_copy_file_range = false;
            break;
        }
        throw SystemError(last_errno(), "cannot copy " + from);
    }
    if (done < length)
        done += copy_range_by_reading(in, out, offset + static_cast<off_t>(done), length - done, from);
    return done;
}

} // namespace

std::uint64_t copy_file_contents(int in, int out, std::uint64_t max_bytes, const std::string& from)
{
    bool use_copy_file_range = true;
    std::uint64_t end = 0; // the copy's size so far
    off_t pos = 0;
    for (;;) {
        const off_t data = ::lseek(in, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)
                break; // no data past pos: the rest is a hole, or the end
            if (errno == EINVAL || errno == EOPNOTSUPP) {
                // No SEEK_DATA here: one extent up to the current size.
                struct stat st {};
                if (::fstat(in, &st) != 0)
                    throw SystemError(last_errno(), "cannot stat " + from);
                const auto size = static_cast<std::uint64_t>(st.st_size);
                if (size > max_bytes)
                    grew_past(max_bytes);
                end = copy_range(in, out, 0, size, use_copy_file_range, from);
                // Whatever was appended meanwhile, up to the limit.
                char probe;
                if (::pread(in, &probe, 1, static_cast<off_t>(end)) == 1)
                    grew_past(max_bytes);
                break;
            }
            throw SystemError(last_errno(), "cannot read " + from);
        }
        off_t hole = ::lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            throw SystemError(last_errno(), "cannot read " + from);
        if (static_cast<std::uint64_t>(hole) > max_bytes)
            grew_past(max_bytes);
        const auto length = static_cast<std::uint64_t>(hole - data);
        const auto copied = copy_range(in, out, data, length, use_copy_file_range, from);
        end = std::max(end, static_cast<std::uint64_t>(data) + copied);
        if (copied < length)
            break; // truncated meanwhile
        pos = hole;
    }
    // A trailing hole has no extent: the size says where the file ends.
    struct stat st {};
    if (::fstat(in, &st) != 0)
        throw SystemError(last_errno(), "cannot stat " + from);
    const auto size = std::max(end, static_cast<std::uint64_t>(st.st_size));
    if (size > max_bytes)
        grew_past(max_bytes);
    if (::ftruncate(out, static_cast<off_t>(size)) != 0)
        throw SystemError(last_errno(), "cannot write the copy of " + from);
    return size;
}

mode_t current_umask() noexcept
{
    // umask(2) can only read the mask by setting it, which races with other
    // threads creating files; Linux 4.7+ shows it in /proc.
    UniqueFd fd{::open("/proc/self/status", O_RDONLY | O_CLOEXEC)};
    if (!fd)
        return 022;
    char buffer[4096];
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
    if (n <= 0)
        return 022;
    buffer[n] = '\0';
    const char* line = std::strstr(buffer, "\nUmask:");
    if (!line)
        return 022;
    return static_cast<mode_t>(std::strtoul(line + 7, nullptr, 8) & 0777);
}

std::string read_all(int fd, const std::string& what)
{
    std::string out;
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n == 0)
            return out;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw SystemError(last_errno(), "cannot read " + what);
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

void write_all(int fd, std::string_view data, const std::string& what)
{
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw SystemError(last_errno(), "cannot write " + what);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

PendingFile::PendingFile(int dirfd, std::string name, mode_t mode, std::string display)
    : dirfd_(dirfd), name_(std::move(name)), display_(std::move(display))
{
    // A short temp name still works when `name` is at NAME_MAX.
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
        temp_ = ".stirrup-out-" + detail::random_hex(8);
        fd_ = ::openat(dirfd_, temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd_ < 0 && errno != EEXIST)
            throw SystemError(last_errno(), "cannot create a temporary file beside " + display_);
    }
    if (fd_ < 0)
        throw SystemError(std::make_error_code(std::errc::file_exists),
                          "cannot create a temporary file beside " + display_);
}

PendingFile::~PendingFile()
{
    if (fd_ >= 0)
        ::close(fd_);
    if (!committed_)
        ::unlinkat(dirfd_, temp_.c_str(), 0);
}

void PendingFile::commit()
{
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0 && errno != EINTR)
        throw SystemError(last_errno(), "cannot write " + display_);
    if (::renameat(dirfd_, temp_.c_str(), dirfd_, name_.c_str()) != 0)
        throw SystemError(last_errno(), "cannot replace " + display_);
    committed_ = true;
}

SparseWriter::SparseWriter(int fd, std::uint64_t max_bytes, std::string display)
    : fd_(fd), max_(max_bytes), display_(std::move(display))
{
}

void SparseWriter::write(std::string_view piece)
{
    if (piece.size() > max_ - std::min(offset_, max_))
        throw FileTooLargeError("File is larger than the limit of " + std::to_string(max_) + " bytes");
    // Zero blocks aligned to the file's offsets are skipped, not written.
    constexpr std::size_t block = 4096;
    while (!piece.empty()) {
        const std::size_t in_block = block - static_cast<std::size_t>(offset_ % block);
        std::size_t n = std::min(piece.size(), in_block);
        const bool zeros = n == block && piece.find_first_not_of('\0', 0) >= block;
        if (!zeros) {
            // Write up to the next all-zero aligned block in one call.
            std::size_t end = n;
            while (end < piece.size()) {
                const std::size_t len = std::min(block, piece.size() - end);
                if (len == block && piece.substr(end, block).find_first_not_of('\0') == std::string_view::npos)
                    break;
                end += len;
            }
            n = end;
            std::size_t done = 0;
            while (done < n) {
                const ssize_t w = ::pwrite(fd_, piece.data() + done, n - done, static_cast<off_t>(offset_ + done));
                if (w < 0) {
                    if (errno == EINTR)
                        continue;
                    throw SystemError(last_errno(), "cannot write " + display_);
                }
                done += static_cast<std::size_t>(w);
            }
        }
        offset_ += n;
        piece.remove_prefix(n);
    }
}

std::uint64_t SparseWriter::finish()
{
    if (::ftruncate(fd_, static_cast<off_t>(offset_)) != 0)
        throw SystemError(last_errno(), "cannot write " + display_);
    return offset_;
}

void replace_file_at(int dirfd, const std::string& name, mode_t mode, const std::function<void(int fd)>& fill,
                     const std::string& display)
{
    PendingFile file(dirfd, name, mode, display);
    fill(file.fd());
    file.commit();
}

} // namespace stirrup::detail
