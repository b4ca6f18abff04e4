// Files in the Docker backend, in its two modes. Bind mount: the working dir
// is a host temp dir, so files are read and written on the host through its
// descriptor (detail::HostFiles), with Stirrup's path mapping (relative,
// /workspace/..., or the host path); the container can swap any part of a
// path for a symlink at any moment, and the host follows none out of the
// mount. Archive: files move as tar archives through the engine; symlinks
// are followed inside the container, one path component at a time, with the
// same containment rule.

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/docker.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <set>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/file_copy.hpp"
#include "stirrup/exec/detail/host_files.hpp"
#include "stirrup/exec/detail/upload_plan.hpp"

namespace stirrup {
namespace fs = std::filesystem;

namespace {

constexpr int max_symlink_hops = 40;

bool starts_with(std::string_view s, std::string_view p)
{
    return s.substr(0, p.size()) == p;
}

std::vector<std::string> split_components(std::string_view path)
{
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i <= path.size()) {
        const auto slash = path.find('/', i);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        if (end > i)
            parts.emplace_back(path.substr(i, end - i));
        if (slash == std::string_view::npos)
            break;
        i = slash + 1;
    }
    return parts;
}

// An absolute POSIX path with "." and ".." applied lexically (".." at the
// root stays at the root, as the kernel does).
std::string collapse(std::string_view path)
{
    std::vector<std::string> out;
    for (auto& part : split_components(path)) {
        if (part == ".")
            continue;
        if (part == "..") {
            if (!out.empty())
                out.pop_back();
            continue;
        }
        out.push_back(std::move(part));
    }
    std::string s;
    for (const auto& p : out)
        s += "/" + p;
    return s.empty() ? "/" : s;
}

bool inside(std::string_view path, std::string_view root)
{
    if (root == "/")
        return true;
    return path == root || (starts_with(path, root) && path.size() > root.size() && path[root.size()] == '/');
}

std::string outside_message(const std::string& path)
{
    return "Path is outside execution environment: " + path;
}

} // namespace

// ---- bind mode ----------------------------------------------------------

const detail::HostFiles& DockerCodeExec::bind_files() const
{
    require_running_for_files(static_cast<bool>(files_));
    return *files_;
}

// ---- archive mode -------------------------------------------------------

std::string DockerCodeExec::container_path(const std::string& path) const
{
    require_running_for_files(static_cast<bool>(container_id_));
    const std::string& wd = docker_options_.working_dir;
    if (path.find('\0') != std::string::npos)
        throw PathError(outside_message(path));
    const std::string full = !path.empty() && path.front() == '/' ? collapse(path) : collapse(wd + "/" + path);
    if (!inside(full, wd))
        throw PathError(outside_message(path));
    return full;
}

/// A path inside the container after following its symlinks.
struct DockerCodeExec::ContainerPath {
    std::string path;
    std::optional<detail::docker::PathStat> stat; ///< nullopt: does not exist
    std::string existing_dir;                     ///< deepest existing ancestor directory
};

awaitable<DockerCodeExec::ContainerPath> DockerCodeExec::resolve_in_container(const std::string& path)
{
    const std::string& wd = docker_options_.working_dir;
    std::string target = container_path(path);
    for (int hop = 0; hop <= max_symlink_hops; ++hop) {
        const std::vector<std::string> parts = split_components(target.substr(wd == "/" ? 0 : wd.size()));
        std::string current = wd;
        ContainerPath result;
        result.path = target;
        result.existing_dir = wd;
        if (parts.empty()) {
            result.stat = co_await client_->archive_stat(*container_id_, wd);
            co_return result;
        }
        bool followed = false;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const std::string next = (current == "/" ? "" : current) + "/" + parts[i];
            std::optional<detail::docker::PathStat> st = co_await client_->archive_stat(*container_id_, next);
            if (!st) {
                // The rest does not exist: `current` is the deepest directory that does.
                result.existing_dir = current;
                co_return result;
            }
            if (st->is_symlink()) {
                // The engine reports the link's target resolved to an absolute path.
                std::string rest;
                for (std::size_t k = i + 1; k < parts.size(); ++k)
                    rest += "/" + parts[k];
                std::string link = st->link_target;
                if (link.empty())
                    throw PathError(outside_message(path));
                if (link.front() != '/')
                    link = (current == "/" ? "" : current) + "/" + link;
                const std::string resolved = collapse(link + rest);
                if (!inside(resolved, wd))
                    throw PathError(outside_message(path));
                target = resolved;
                followed = true;
                break;
            }
            if (i + 1 == parts.size()) {
                result.stat = std::move(st);
                result.existing_dir = current;
                co_return result;
            }
            if (!st->is_dir()) {
                // "file.txt/x": nothing can exist below a file.
                result.existing_dir.clear();
                co_return result;
            }
            current = next;
        }
        if (!followed)
            break;
    }
    throw PathError("Too many levels of symbolic links: " + path);
}

awaitable<std::string> DockerCodeExec::archive_read(const std::string& original, const ContainerPath& p)
{
    if (!p.stat)
        throw FileNotFoundError("File not found: " + original);
    if (p.stat->is_dir())
        throw PathError("Is a directory: " + original);
    const std::uint64_t limit = options().transfer_limits.max_file_bytes;
    transfer_budget().check_file(static_cast<std::uint64_t>(std::max<std::int64_t>(0, p.stat->size)));
    // The archive of a file holds that one entry.
    std::string data;
    bool first_done = false;
    bool is_file = false;
    auto sink = [&](const detail::tar::Entry& header, std::string_view piece, bool last) {
        if (first_done)
            return;
        is_file = header.type == detail::tar::Entry::Type::file;
        if (is_file) {
            if (piece.size() > limit - data.size())
                throw FileTooLargeError("File grew past the limit of " + std::to_string(limit) +
                                        " bytes while it was read");
            data.append(piece);
        }
        if (last)
            first_done = true;
    };
    const auto found = co_await client_->archive_get(*container_id_, p.path, sink);
    if (!found || !is_file)
        throw FileNotFoundError("File not found: " + original);
    co_return data;
}

awaitable<void> DockerCodeExec::archive_write(const std::string& original, const ContainerPath& p, std::string data)
{
    if (p.stat && p.stat->is_dir())
        throw PathError("Is a directory: " + original);
    if (p.existing_dir.empty())
        throw PathError("Not a directory: " + original);
    // Extract into the deepest existing directory, creating the missing
    // parents with the container user's ownership.
    const std::string& base = p.existing_dir;
    const std::string rel = p.path.substr(base == "/" ? 1 : base.size() + 1);
    const auto parts = split_components(rel);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::vector<detail::tar::Entry> entries;
    std::string prefix;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        prefix += (prefix.empty() ? "" : "/") + parts[i];
        detail::tar::Entry dir;
        dir.path = prefix;
        dir.type = detail::tar::Entry::Type::directory;
        dir.mode = 0755;
        dir.mtime = now;
        dir.uid = owner_uid_;
        dir.gid = owner_gid_;
        entries.push_back(std::move(dir));
    }
    detail::tar::Entry file;
    file.path = rel;
    file.type = detail::tar::Entry::Type::file;
    file.data = std::move(data);
    file.mode = p.stat ? p.stat->permissions() : 0644;
    file.mtime = now;
    file.uid = owner_uid_;
    file.gid = owner_gid_;
    entries.push_back(std::move(file));
    co_await client_->archive_put(*container_id_, base, detail::tar::write_archive(entries));
}

// ---- the contract -------------------------------------------------------

awaitable<std::string> DockerCodeExec::read_file(std::string path)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_return co_await archive_read(path, p);
    }
    const auto files = files_;
    require_running_for_files(static_cast<bool>(files));
    std::string data;
    const auto limit = options().transfer_limits.max_file_bytes;
    co_await detail::offload([&] { data = files->read(path, limit); });
    co_return data;
}

awaitable<void> DockerCodeExec::write_file(std::string path, std::string data)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_await archive_write(path, p, std::move(data));
        co_return;
    }
    const auto files = files_;
    require_running_for_files(static_cast<bool>(files));
    co_await detail::offload([&] { files->write(path, data); });
}

awaitable<bool> DockerCodeExec::file_exists(std::string path)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_return p.stat&& p.stat->is_regular();
    }
    co_return bind_files().is_file(path);
}

awaitable<bool> DockerCodeExec::is_directory(std::string path)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_return p.stat&& p.stat->is_dir();
    }
    co_return bind_files().is_directory(path);
}

awaitable<std::vector<std::string>> DockerCodeExec::list_files(std::string dir)
{
    std::vector<std::string> files;
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(dir);
        if (!p.stat || !p.stat->is_dir())
            co_return files;
        auto sink = [&](const detail::tar::Entry& header, std::string_view, bool last) {
            if (!last || header.type != detail::tar::Entry::Type::file)
                return;
            // The archive's root is the directory's basename.
            const auto slash = header.path.find('/');
            if (slash == std::string::npos || slash + 1 == header.path.size())
                return;
            files.push_back(header.path.substr(slash + 1));
        };
        co_await client_->archive_get(*container_id_, p.path, sink);
        std::sort(files.begin(), files.end());
        co_return files;
    }
    const auto host = files_;
    require_running_for_files(static_cast<bool>(host));
    co_await detail::offload([&] { files = host->list(dir); });
    co_return files;
}

awaitable<std::string> DockerCodeExec::resolve_output_source(std::string path)
{
    if (bind_mode_)
        co_return path;
    const ContainerPath p = co_await resolve_in_container(path);
    if (!p.stat)
        throw FileNotFoundError("File not found: " + path);
    if (!p.stat->is_regular())
        throw PathError("Path is not a file: " + path);
    co_return p.path;
}

const detail::HostFiles* DockerCodeExec::host_files() const
{
    return bind_mode_ ? files_.get() : nullptr;
}

awaitable<std::uint64_t> DockerCodeExec::read_file_to(std::string path, FileSink& sink)
{
    if (bind_mode_)
        co_return co_await CodeExecProvider::read_file_to(std::move(path), sink);
    const ContainerPath p = co_await resolve_in_container(path);
    if (!p.stat)
        throw FileNotFoundError("File not found: " + path);
    if (!p.stat->is_regular())
        throw PathError("Path is not a file: " + path);
    // Refused before a byte moves when the engine's size is past the
    // limits; the stream is counted as well, since the file may grow.
    const std::uint64_t allowed = sink.begin(static_cast<std::uint64_t>(std::max<std::int64_t>(0, p.stat->size)));
    std::uint64_t got = 0;
    bool done = false;
    bool is_file = false;
    auto pieces = [&](const detail::tar::Entry& header, std::string_view piece, bool last) {
        if (done)
            return;
        is_file = header.type == detail::tar::Entry::Type::file;
        if (is_file) {
            if (piece.size() > allowed - got)
                throw FileTooLargeError("File grew past the limit of " + std::to_string(allowed) +
                                        " bytes while it was copied");
            got += piece.size();
            sink.data(piece);
        }
        if (last)
            done = true;
    };
    const auto found = co_await client_->archive_get(*container_id_, p.path, pieces);
    if (!found || !is_file)
        throw FileNotFoundError("File not found: " + path);
    co_return got;
}

awaitable<void> DockerCodeExec::upload_host_files(std::span<const detail::UploadItem> items, UploadFilesResult& result)
{
    if (bind_mode_) {
        co_await CodeExecProvider::upload_host_files(items, result);
        co_return;
    }
    // One archive per batch, extracted at the working directory: a
    // directory of 20,000 files is one engine call, not 20,000. A batch
    // holds at most this much file data in memory (a larger file goes alone).
    constexpr std::uint64_t batch_bytes = 64ull << 20;
    const std::string& wd = docker_options_.working_dir;
    const mode_t mask = detail::current_umask();
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::size_t next = 0;
    while (next < items.size()) {
        std::string archive;
        std::vector<std::pair<const detail::UploadItem*, std::uint64_t>> batch;
        co_await detail::offload([&] {
            std::set<std::string> dirs;
            std::uint64_t bytes = 0;
            for (; next < items.size(); ++next) {
                const auto& item = items[next];
                if (!batch.empty() && bytes + item.size > batch_bytes)
                    break;
                try {
                    const std::string full = container_path(item.dest);
                    if (full == wd)
                        throw PathError("Is a directory: " + item.dest);
                    const std::string rel = full.substr(wd == "/" ? 1 : wd.size() + 1);
                    const auto source = item.open();
                    const std::string data = detail::read_all(source.fd.get(), item.source);
                    std::string headers;
                    for (auto slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
                        const std::string dir = rel.substr(0, slash);
                        if (!dirs.insert(dir).second)
                            continue;
                        detail::tar::Entry d;
                        d.path = dir;
                        d.type = detail::tar::Entry::Type::directory;
                        d.mode = 0755 & ~mask;
                        d.mtime = now;
                        d.uid = owner_uid_;
                        d.gid = owner_gid_;
                        headers += detail::tar::header_blocks(d, 0);
                    }
                    detail::tar::Entry f;
                    f.path = rel;
                    f.type = detail::tar::Entry::Type::file;
                    f.mode = item.mode & ~mask;
                    f.mtime = now;
                    f.uid = owner_uid_;
                    f.gid = owner_gid_;
                    archive += headers;
                    archive += detail::tar::header_blocks(f, data.size());
                    archive += data;
                    archive += detail::tar::data_padding(data.size());
                    bytes += data.size();
                    batch.emplace_back(&item, data.size());
                } catch (const std::exception& e) {
                    result.failed[item.source] = e.what();
                }
            }
            archive += detail::tar::end_blocks();
        });
        if (batch.empty())
            continue;
        try {
            co_await client_->archive_put(*container_id_, wd, std::move(archive));
            for (const auto& [item, size] : batch)
                result.uploaded.push_back({item->source, uploaded_dest_path(item->dest), size});
        } catch (const std::exception& e) {
            for (const auto& [item, size] : batch)
                result.failed[item->source] = e.what();
        }
    }
}

std::string DockerCodeExec::uploaded_dest_path(const std::string& dest) const
{
    if (!dest.empty() && dest.front() == '/')
        return dest;
    return docker_options_.working_dir + "/" + dest;
}

} // namespace stirrup
