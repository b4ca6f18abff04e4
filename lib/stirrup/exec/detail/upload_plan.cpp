#include "stirrup/exec/detail/upload_plan.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <utility>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/file_copy.hpp"
#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/output_paths.hpp"

namespace stirrup::detail {

namespace fs = std::filesystem;

namespace {

std::string kind_of(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return "not a regular file";
}

// Walks one uploaded directory through descriptors: the tree may change
// while it is read (it is a directory of the user's, but perhaps one a
// program writes to), and its symlinks are judged against the tree.
class DirectoryWalk {
public:
    DirectoryWalk(std::shared_ptr<const HostTree> tree, std::string dest_root, UploadFilesResult& result)
        : tree_(std::move(tree)), dest_root_(std::move(dest_root)), result_(result)
    {
    }

    std::vector<UploadItem> run()
    {
        std::error_code ec;
        auto root = tree_->open("", ec);
        if (ec)
            throw SystemError(ec, "cannot open " + tree_->path().string());
        chain_.push_back({root.st.st_dev, root.st.st_ino});
        visit(root.fd.get(), "", 0);
        std::sort(items_.begin(), items_.end(), [](const auto& a, const auto& b) { return a.dest < b.dest; });
        return std::move(items_);
    }

private:
    static constexpr std::size_t max_depth = 256;

    void skip(const std::string& rel, std::string why)
    {
        result_.skipped[(tree_->path() / rel).string()] = std::move(why);
    }

    void add(const std::string& rel, const struct stat& st)
    {
        UploadItem item;
        item.tree = tree_;
        item.rel = rel;
        item.source = (tree_->path() / rel).string();
        item.dest = posix_join(dest_root_, rel);
        item.size = static_cast<std::uint64_t>(st.st_size);
        item.mode = created_file_mode(st.st_mode);
        items_.push_back(std::move(item));
    }

    void visit(int dirfd, const std::string& prefix, std::size_t depth)
    {
        std::vector<DirEntry> entries;
        if (!read_dir_entries(dirfd, entries))
            throw SystemError(last_errno(), "cannot list " + (tree_->path() / prefix).string());
        std::vector<std::string> names;
        for (auto& e : entries)
            names.push_back(std::move(e.name));
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            const std::string rel = prefix.empty() ? name : prefix + "/" + name;
            struct stat st {};
            if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue; // gone meanwhile
            if (S_ISREG(st.st_mode)) {
                add(rel, st);
            } else if (S_ISDIR(st.st_mode)) {
                UniqueFd sub{::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
                if (!sub)
                    throw SystemError(last_errno(), "cannot open " + (tree_->path() / rel).string());
                enter(sub.get(), rel, depth);
            } else if (S_ISLNK(st.st_mode)) {
                link(rel, depth);
            } else {
                skip(rel, kind_of(st.st_mode) + ", not uploaded");
            }
        }
    }

    void enter(int fd, const std::string& rel, std::size_t depth)
    {
        struct stat st {};
        if (::fstat(fd, &st) != 0)
            throw SystemError(last_errno(), "cannot stat " + (tree_->path() / rel).string());
        const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
        if (std::find(chain_.begin(), chain_.end(), id) != chain_.end()) {
            skip(rel, "a symbolic link loop, not followed");
            return;
        }
        if (depth + 1 >= max_depth) {
            skip(rel, "deeper than " + std::to_string(max_depth) + " directories, not uploaded");
            return;
        }
        chain_.push_back(id);
        visit(fd, rel, depth + 1);
        chain_.pop_back();
    }

    void link(const std::string& rel, std::size_t depth)
    {
        std::error_code ec;
        auto target = tree_->open(rel, ec);
        if (ec == TreeErrc::escapes) {
            skip(rel, "a symbolic link to outside the uploaded directory, not followed");
        } else if (ec == TreeErrc::not_regular) {
            skip(rel, "a symbolic link to a FIFO, socket or device, not uploaded");
        } else if (ec == std::errc::too_many_symbolic_link_levels) {
            skip(rel, "a symbolic link loop, not followed");
        } else if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
            skip(rel, "a broken symbolic link, not uploaded");
        } else if (ec) {
            throw SystemError(ec, "cannot open " + (tree_->path() / rel).string());
        } else if (S_ISDIR(target.st.st_mode)) {
            enter(target.fd.get(), rel, depth);
        } else {
            add(rel, target.st);
        }
    }

    std::shared_ptr<const HostTree> tree_;
    std::string dest_root_;
    UploadFilesResult& result_;
    std::vector<UploadItem> items_;
    std::vector<std::pair<dev_t, ino_t>> chain_; // directories from the root to here
};

} // namespace

OpenedEntry UploadItem::open() const
{
    OpenedEntry out;
    if (tree) {
        std::error_code ec;
        out = tree->open_file(rel, ec);
        if (ec == std::errc::no_such_file_or_directory)
            throw FileNotFoundError("File not found: " + source);
        if (ec)
            throw SystemError(ec, "cannot open " + source);
        return out;
    }
    // A top-level file: the caller's own path, symlinks and all.
    out.fd.reset(::open(rel.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!out.fd) {
        if (errno == ENOENT)
            throw FileNotFoundError("File not found: " + source);
        throw SystemError(last_errno(), "cannot open " + source);
    }
    if (::fstat(out.fd.get(), &out.st) != 0)
        throw SystemError(last_errno(), "cannot stat " + source);
    if (!S_ISREG(out.st.st_mode))
        throw PathError("Path is not a file: " + source);
    return out;
}

std::vector<UploadItem> plan_host_uploads(const std::vector<std::string>& paths,
                                          const std::optional<std::string>& dest_dir, UploadFilesResult& result)
{
    std::vector<UploadItem> plan;
    const std::string base = dest_dir.value_or("");
    for (const auto& path : paths) {
        std::error_code ec;
        fs::path given = fs::absolute(path, ec).lexically_normal();
        if (!given.has_filename() && given.has_relative_path())
            given = given.parent_path();
        const fs::path resolved = fs::weakly_canonical(given, ec);
        const std::string key = ec ? path : resolved.string();
        struct stat st {};
        if (ec || ::stat(given.c_str(), &st) != 0) {
            result.failed[key] = "File or directory does not exist";
            continue;
        }
        // The name as given: a symlink keeps its own, not its target's.
        std::string name = given.filename().string();
        if (name.empty())
            name = resolved.filename().string();
        try {
            if (S_ISREG(st.st_mode)) {
                UploadItem item;
                item.rel = given.string();
                item.source = key;
                item.dest = posix_join(base, name);
                item.size = static_cast<std::uint64_t>(st.st_size);
                item.mode = created_file_mode(st.st_mode);
                plan.push_back(std::move(item));
            } else if (S_ISDIR(st.st_mode)) {
                const std::string root = dest_dir ? base : posix_join(base, name);
                auto tree = std::make_shared<const HostTree>(
                    resolved, std::vector<std::string>{given.string(), resolved.string()}, false);
                auto items = DirectoryWalk(std::move(tree), root, result).run();
                std::move(items.begin(), items.end(), std::back_inserter(plan));
            } else {
                result.skipped[key] = kind_of(st.st_mode) + ", not uploaded";
            }
        } catch (const std::exception& e) {
            result.failed[key] = e.what();
        }
    }
    return plan;
}

} // namespace stirrup::detail
