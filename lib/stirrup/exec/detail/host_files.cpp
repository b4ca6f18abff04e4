#include "stirrup/exec/detail/host_files.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/file_copy.hpp"
#include "stirrup/exec/detail/host_output_save.hpp"

namespace stirrup::detail {

namespace {

bool leaves(const std::error_code& ec)
{
    return ec == TreeErrc::escapes || ec == TreeErrc::other_device;
}

bool missing(const std::error_code& ec)
{
    return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory ||
           ec == std::errc::too_many_symbolic_link_levels;
}

} // namespace

HostFiles::HostFiles(HostTree tree, std::string unmapped) : tree_(std::move(tree)), unmapped_(std::move(unmapped)) {}

std::string HostFiles::relative(const std::string& path) const
{
    if (path.find('\0') != std::string::npos)
        throw PathError("Path is outside execution environment: " + path);
    auto rel = tree_.relative(path);
    if (!rel)
        throw PathError(unmapped_ + path);
    return std::move(*rel);
}

std::string HostFiles::read(const std::string& path, std::uint64_t max_bytes) const
{
    std::error_code ec;
    auto entry = tree_.open(relative(path), ec);
    if (leaves(ec))
        throw PathError("Path is outside execution environment: " + path);
    if (ec == TreeErrc::not_regular)
        throw PathError("Path is not a file: " + path);
    if (missing(ec))
        throw FileNotFoundError("File not found: " + path);
    if (ec)
        throw SystemError(ec, "reading " + path);
    if (S_ISDIR(entry.st.st_mode))
        throw PathError("Is a directory: " + path);
    const auto size = static_cast<std::uint64_t>(entry.st.st_size);
    if (size > max_bytes)
        throw FileTooLargeError("File is too large: " + std::to_string(size) + " bytes (the limit is " +
                                std::to_string(max_bytes) + " bytes per file)");
    std::string data;
    data.resize(static_cast<std::size_t>(size));
    std::size_t have = 0;
    for (;;) {
        if (have == data.size()) {
            // It may have grown since the stat: look for more, within the limit.
            if (data.size() >= max_bytes) {
                char probe;
                const ssize_t n = ::pread(entry.fd.get(), &probe, 1, static_cast<off_t>(have));
                if (n > 0)
                    throw FileTooLargeError("File grew past the limit of " + std::to_string(max_bytes) +
                                            " bytes while it was read");
                break;
            }
            data.resize(std::min<std::uint64_t>(max_bytes, data.size() + 64 * 1024));
        }
        const ssize_t n = ::pread(entry.fd.get(), data.data() + have, data.size() - have, static_cast<off_t>(have));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw SystemError(last_errno(), "reading " + path);
        }
        if (n == 0)
            break;
        have += static_cast<std::size_t>(n);
    }
    data.resize(have);
    return data;
}

void HostFiles::write(const std::string& path, std::string_view data) const
{
    std::error_code ec;
    const auto parent = tree_.parent_of(relative(path), true, ec);
    if (leaves(ec))
        throw PathError("Path is outside execution environment: " + path);
    if (ec)
        throw SystemError(ec, "writing " + path);
    if (parent.name.empty())
        throw PathError("Is a directory: " + path);
    struct stat existing {};
    const bool exists = ::fstatat(parent.dir.get(), parent.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(existing.st_mode))
        throw PathError("Is a directory: " + path);
    const bool keep_mode = exists && S_ISREG(existing.st_mode);
    replace_file_at(
        parent.dir.get(), parent.name, 0644,
        [&](int fd) {
            write_all(fd, data, path);
            if (keep_mode && ::fchmod(fd, existing.st_mode & 0777) != 0)
                throw SystemError(last_errno(), "setting the mode of " + path);
        },
        path);
}

bool HostFiles::is_file(const std::string& path) const
{
    std::error_code ec;
    const auto entry = tree_.open(relative(path), ec);
    if (leaves(ec))
        throw PathError("Path is outside execution environment: " + path);
    return !ec && S_ISREG(entry.st.st_mode);
}

bool HostFiles::is_directory(const std::string& path) const
{
    std::error_code ec;
    const auto entry = tree_.open(relative(path), ec);
    if (leaves(ec))
        throw PathError("Path is outside execution environment: " + path);
    return !ec && S_ISDIR(entry.st.st_mode);
}

std::vector<std::string> HostFiles::list(const std::string& dir) const
{
    const auto rel = relative(dir);
    std::error_code ec;
    (void)tree_.open(rel, ec);
    if (leaves(ec))
        throw PathError("Path is outside execution environment: " + dir);
    return tree_.list_files(rel);
}

std::uint64_t HostFiles::copy_in(int fd, const struct stat& st, const std::string& dest, const std::string& from) const
{
    std::error_code ec;
    const auto parent = tree_.parent_of(relative(dest), true, ec);
    if (leaves(ec))
        throw PathError("Path is outside execution environment: " + dest);
    if (ec)
        throw SystemError(ec, "writing " + dest);
    if (parent.name.empty())
        throw PathError("Is a directory: " + dest);
    std::uint64_t size = 0;
    replace_file_at(
        parent.dir.get(), parent.name, created_file_mode(st.st_mode),
        [&](int out) { size = copy_file_contents(fd, out, UINT64_MAX, from); }, dest);
    return size;
}

OpenedEntry HostFiles::open_source(const std::string& path) const
{
    std::error_code ec;
    auto entry = tree_.open_file(relative(path), ec);
    if (ec)
        throw_source_error(ec, path);
    return entry;
}

} // namespace stirrup::detail
