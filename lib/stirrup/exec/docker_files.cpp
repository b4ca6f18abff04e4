// Files in the Docker backend, in its two modes. Bind mount: the working dir
// is a host temp dir, so files are read and written on the host, with
// Stirrup's path mapping (relative, /workspace/..., or the host path) and a
// containment check that follows symlinks. Archive: files move as tar
// archives through the engine; symlinks are followed inside the container,
// one path component at a time, with the same containment rule.

#include "stirrup/exec/docker.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include "stirrup/core/error.hpp"
#include "stirrup/core/offload.hpp"
#include "stirrup/exec/host_output_save.hpp"

namespace stirrup {
namespace fs = std::filesystem;

namespace {

constexpr int max_symlink_hops = 40;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

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

std::string outside_message(const std::string& path) { return "Path is outside execution environment: " + path; }

std::string read_host_file(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw SystemError(std::error_code(errno, std::system_category()), "reading " + file.string());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

// ---- bind mode ----------------------------------------------------------

fs::path DockerCodeExec::host_path(const std::string& path) const
{
    if (!temp_dir_)
        throw NotStartedError("ExecutionEnvironment not started.");
    const std::string& wd = docker_options_.working_dir;
    const std::string temp = temp_dir_->string();
    fs::path host;
    if (!path.empty() && path.front() == '/') {
        if (path == temp || starts_with(path, temp + "/"))
            host = path;
        else if (path == wd || starts_with(path, wd == "/" ? wd : wd + "/"))
            host = *temp_dir_ / fs::path(path.substr(wd.size())).relative_path();
        else
            throw PathError("Path is outside mounted directory: " + path);
    } else {
        host = *temp_dir_ / path;
    }
    std::error_code ec;
    const fs::path resolved = fs::weakly_canonical(host, ec);
    const auto rel = resolved.lexically_relative(canonical_root_);
    if (ec || rel.empty() || *rel.begin() == "..")
        throw PathError(outside_message(path));
    return host;
}

// ---- archive mode -------------------------------------------------------

std::string DockerCodeExec::container_path(const std::string& path) const
{
    if (!container_id_)
        throw NotStartedError("ExecutionEnvironment not started.");
    const std::string& wd = docker_options_.working_dir;
    if (path.find('\0') != std::string::npos)
        throw PathError(outside_message(path));
    const std::string full = !path.empty() && path.front() == '/' ? collapse(path) : collapse(wd + "/" + path);
    if (!inside(full, wd))
        throw PathError(outside_message(path));
    return full;
}

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
            std::optional<docker::PathStat> st = co_await client_->archive_stat(*container_id_, next);
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
    // The archive of a file holds that one entry.
    std::string data;
    bool first_done = false;
    bool is_file = false;
    auto sink = [&](const tar::Entry& header, std::string_view piece, bool last) {
        if (first_done)
            return;
        is_file = header.type == tar::Entry::Type::file;
        if (is_file)
            data.append(piece);
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
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::vector<tar::Entry> entries;
    std::string prefix;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        prefix += (prefix.empty() ? "" : "/") + parts[i];
        tar::Entry dir;
        dir.path = prefix;
        dir.type = tar::Entry::Type::directory;
        dir.mode = 0755;
        dir.mtime = now;
        dir.uid = owner_uid_;
        dir.gid = owner_gid_;
        entries.push_back(std::move(dir));
    }
    tar::Entry file;
    file.path = rel;
    file.type = tar::Entry::Type::file;
    file.data = std::move(data);
    file.mode = p.stat ? p.stat->permissions() : 0644;
    file.mtime = now;
    file.uid = owner_uid_;
    file.gid = owner_gid_;
    entries.push_back(std::move(file));
    co_await client_->archive_put(*container_id_, base, tar::write_archive(entries));
}

// ---- the contract -------------------------------------------------------

awaitable<std::string> DockerCodeExec::read_file(std::string path)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_return co_await archive_read(path, p);
    }
    const fs::path file = host_path(path);
    std::string data;
    co_await offload([&] {
        std::error_code ec;
        if (!fs::exists(file, ec))
            throw FileNotFoundError("File not found: " + path);
        if (fs::is_directory(file, ec))
            throw PathError("Is a directory: " + path);
        data = read_host_file(file);
    });
    co_return data;
}

awaitable<void> DockerCodeExec::write_file(std::string path, std::string data)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_await archive_write(path, p, std::move(data));
        co_return;
    }
    const fs::path file = host_path(path);
    co_await offload([&] { atomic_write_file(file, data); });
}

awaitable<bool> DockerCodeExec::file_exists(std::string path)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_return p.stat && p.stat->is_regular();
    }
    const fs::path file = host_path(path);
    std::error_code ec;
    co_return fs::is_regular_file(file, ec);
}

awaitable<bool> DockerCodeExec::is_directory(std::string path)
{
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(path);
        co_return p.stat && p.stat->is_dir();
    }
    const fs::path dir = host_path(path);
    std::error_code ec;
    co_return fs::is_directory(dir, ec);
}

awaitable<std::vector<std::string>> DockerCodeExec::list_files(std::string dir)
{
    std::vector<std::string> files;
    if (!bind_mode_) {
        const ContainerPath p = co_await resolve_in_container(dir);
        if (!p.stat || !p.stat->is_dir())
            co_return files;
        auto sink = [&](const tar::Entry& header, std::string_view, bool last) {
            if (!last || header.type != tar::Entry::Type::file)
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
    const fs::path root = host_path(dir);
    co_await offload([&] {
        std::error_code ec;
        if (!fs::is_directory(root, ec))
            return;
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_regular_file())
                files.push_back(fs::relative(it->path(), root).generic_string());
        std::sort(files.begin(), files.end());
    });
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

std::optional<HostSourceResolver> DockerCodeExec::host_source_resolver() const
{
    if (!bind_mode_)
        return std::nullopt;
    return HostSourceResolver([this](const std::string& path) { return host_path(path); });
}

awaitable<void> DockerCodeExec::upload_host_file(fs::path host_file, std::string dest)
{
    if (!bind_mode_) {
        co_await CodeExecProvider::upload_host_file(std::move(host_file), std::move(dest));
        co_return;
    }
    const fs::path target = host_path(dest);
    co_await offload([&] {
        fs::create_directories(target.parent_path());
        fs::copy_file(host_file, target, fs::copy_options::overwrite_existing);
    });
}

std::string DockerCodeExec::uploaded_dest_path(const std::string& dest) const
{
    if (!dest.empty() && dest.front() == '/')
        return dest;
    return docker_options_.working_dir + "/" + dest;
}

} // namespace stirrup
