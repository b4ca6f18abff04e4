#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <deque>
#include <functional>

#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup::detail {
namespace fs = std::filesystem;

namespace {

// Linux's own bound on symlinks followed in one resolution.
constexpr int max_links = 40;
// How often a component that changed under us is looked at again before
// giving up (a tree being rewritten in a loop must not hold the walk forever).
constexpr int max_retries = 100;

std::atomic<bool> g_force_walk{false};
// Cleared for good the first time the kernel (or a seccomp filter) refuses openat2.
std::atomic<bool> g_have_openat2{true};

std::vector<std::string> split_components(std::string_view path)
{
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < path.size()) {
        const auto slash = path.find('/', i);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        if (end > i && path.substr(i, end - i) != ".")
            parts.emplace_back(path.substr(i, end - i));
        if (slash == std::string_view::npos)
            break;
        i = slash + 1;
    }
    return parts;
}

std::string join_names(const std::vector<std::string>& names, std::string_view last = {})
{
    std::string out;
    for (const auto& n : names) {
        if (!out.empty())
            out += '/';
        out += n;
    }
    if (!last.empty()) {
        if (!out.empty())
            out += '/';
        out += last;
    }
    return out;
}

// readlinkat into a string; an empty `name` reads the link an O_PATH
// descriptor refers to. nullopt with errno set (EINVAL: not a symlink).
std::optional<std::string> read_link(int dirfd, const char* name)
{
    std::string buf(256, '\0');
    for (;;) {
        const ssize_t n = ::readlinkat(dirfd, name, buf.data(), buf.size());
        if (n < 0)
            return std::nullopt;
        if (static_cast<std::size_t>(n) < buf.size()) {
            buf.resize(static_cast<std::size_t>(n));
            return buf;
        }
        if (buf.size() >= PATH_MAX * 2) {
            errno = ENAMETOOLONG;
            return std::nullopt;
        }
        buf.resize(buf.size() * 2);
    }
}

// A real descriptor for the inode an O_PATH descriptor holds. Through
// /proc/self/fd the kernel reopens that very inode, so no name is looked up
// again; without /proc, the name is opened with O_NOFOLLOW and must turn out
// to be the same inode (a swap in between is retried by the caller).
UniqueFd reopen(int path_fd, int parent, const std::string& name, const struct stat& expected, int flags)
{
    const std::string proc = "/proc/self/fd/" + std::to_string(path_fd);
    UniqueFd fd{::open(proc.c_str(), flags | O_CLOEXEC | O_NOCTTY)};
    if (fd || errno != ENOENT)
        return fd;
    fd.reset(::openat(parent, name.empty() ? "." : name.c_str(), flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
    if (!fd)
        return fd;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || st.st_dev != expected.st_dev || st.st_ino != expected.st_ino) {
        errno = EAGAIN;
        return UniqueFd{};
    }
    return fd;
}

int read_flags_for(const struct stat& st)
{
    return S_ISDIR(st.st_mode) ? (O_RDONLY | O_DIRECTORY) : (O_RDONLY | O_NONBLOCK);
}

bool usable_type(const struct stat& st)
{
    return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

} // namespace

// ---- errors ---------------------------------------------------------------

namespace {
class TreeCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "stirrup.host_tree"; }
    std::string message(int c) const override
    {
        switch (static_cast<TreeErrc>(c)) {
        case TreeErrc::escapes:
            return "path leaves the directory tree";
        case TreeErrc::other_device:
            return "path crosses onto another file system";
        case TreeErrc::not_regular:
            return "not a regular file";
        }
        return "host tree error";
    }
};
} // namespace

const std::error_category& tree_category() noexcept
{
    static const TreeCategory c;
    return c;
}

std::error_code make_error_code(TreeErrc e) noexcept
{
    return {static_cast<int>(e), tree_category()};
}

void force_component_walk(bool on) noexcept
{
    g_force_walk = on;
}

// ---- the tree -------------------------------------------------------------

HostTree::HostTree(const fs::path& dir, std::vector<std::string> absolute_prefixes, bool same_device)
    : path_(dir), same_device_(same_device)
{
    root_.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_)
        throw SystemError(last_errno(), "cannot open " + dir.string());
    struct stat st {};
    if (::fstat(root_.get(), &st) != 0)
        throw SystemError(last_errno(), "cannot stat " + dir.string());
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    for (auto& p : absolute_prefixes) {
        while (p.size() > 1 && p.back() == '/')
            p.pop_back();
        if (!p.empty() && p.front() == '/')
            prefixes_.push_back(std::move(p));
    }
}

std::optional<std::string> HostTree::map_absolute(std::string_view target) const
{
    for (const auto& p : prefixes_) {
        if (p == "/")
            return std::string(target.substr(1));
        if (target.substr(0, p.size()) == p && (target.size() == p.size() || target[p.size()] == '/'))
            return std::string(target.substr(std::min(target.size(), p.size() + 1)));
    }
    return std::nullopt;
}

std::optional<std::string> HostTree::relative(std::string_view path) const
{
    if (path.empty() || path.front() != '/')
        return std::string(path);
    return map_absolute(path);
}

ResolvedParent HostTree::walk(std::string_view rel, Mode mode, int open_flags, OpenedEntry* opened,
                              std::error_code& ec) const
{
    ec.clear();
    std::deque<std::string> todo;
    for (auto& c : split_components(rel))
        todo.push_back(std::move(c));
    // The directories walked so far below the root, with their names: ".."
    // pops this stack, so it never asks the file system for a parent.
    std::vector<UniqueFd> stack;
    std::vector<std::string> names;
    std::size_t lexical = 0; // lenient mode: trailing names that do not exist
    int links = 0;
    int retries = 0;
    auto top = [&] { return stack.empty() ? root_.get() : stack.back().get(); };
    auto dup_top = [&] { return UniqueFd{::fcntl(top(), F_DUPFD_CLOEXEC, 0)}; };
    auto fail = [&](std::error_code e) {
        ec = e;
        return ResolvedParent{};
    };
    auto follow = [&](const std::string& target) -> bool {
        if (++links > max_links) {
            ec = errno_code(ELOOP);
            return false;
        }
        if (target.empty()) {
            ec = errno_code(ENOENT);
            return false;
        }
        std::string_view rest = target;
        std::string mapped;
        if (target.front() == '/') {
            auto m = map_absolute(target);
            if (!m) {
                ec = make_error_code(TreeErrc::escapes);
                return false;
            }
            mapped = std::move(*m);
            rest = mapped;
            stack.clear();
            names.clear();
        }
        auto parts = split_components(rest);
        todo.insert(todo.begin(), parts.begin(), parts.end());
        return true;
    };

    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == "..") {
            if (lexical > 0) {
                --lexical;
                names.pop_back();
                continue;
            }
            if (names.empty())
                return fail(make_error_code(TreeErrc::escapes));
            stack.pop_back();
            names.pop_back();
            continue;
        }
        if (lexical > 0) {
            ++lexical;
            names.push_back(std::move(c));
            continue;
        }
        const bool last = todo.empty();

        if (last && mode != Mode::open) {
            // The entry itself may not exist yet; only a symlink is looked into.
            const auto target = read_link(top(), c.c_str());
            if (target) {
                if (!follow(*target))
                    return ResolvedParent{};
                continue;
            }
            if (errno != EINVAL && errno != ENOENT)
                return fail(last_errno());
            auto p = join_names(names, c);
            return ResolvedParent{dup_top(), std::move(c), std::move(p), join_names(names)};
        }

        UniqueFd next{::openat(top(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC)};
        if (!next) {
            const int e = errno;
            if (e == ENOENT && mode == Mode::parent_create) {
                if (::mkdirat(top(), c.c_str(), 0777) != 0 && errno != EEXIST)
                    return fail(last_errno());
                if (++retries > max_retries)
                    return fail(errno_code(EAGAIN));
                todo.push_front(std::move(c));
                continue;
            }
            if (e == ENOENT && mode == Mode::lenient) {
                lexical = 1;
                names.push_back(std::move(c));
                continue;
            }
            return fail(errno_code(e));
        }
        struct stat st {};
        if (::fstat(next.get(), &st) != 0)
            return fail(last_errno());
        if (S_ISLNK(st.st_mode)) {
            const auto target = read_link(next.get(), "");
            if (!target)
                return fail(last_errno());
            if (!follow(*target))
                return ResolvedParent{};
            continue;
        }
        if (same_device_ && st.st_dev != dev_)
            return fail(make_error_code(TreeErrc::other_device));
        if (last) { // Mode::open
            if (!usable_type(st))
                return fail(make_error_code(TreeErrc::not_regular));
            UniqueFd fd = reopen(next.get(), top(), c, st, S_ISDIR(st.st_mode) ? read_flags_for(st) : open_flags);
            if (!fd) {
                if (errno == EAGAIN && ++retries <= max_retries) {
                    todo.push_front(std::move(c));
                    continue;
                }
                return fail(last_errno());
            }
            opened->fd = std::move(fd);
            opened->st = st;
            auto p = join_names(names, c);
            return ResolvedParent{{}, std::move(c), std::move(p), join_names(names)};
        }
        if (!S_ISDIR(st.st_mode)) {
            if (mode == Mode::lenient) {
                // "file.txt/x": nothing can exist below a file; the rest stays lexical.
                lexical = 1;
                names.push_back(std::move(c));
                continue;
            }
            return fail(errno_code(ENOTDIR));
        }
        stack.push_back(std::move(next));
        names.push_back(std::move(c));
    }

    // The path ends at a directory: the root, or one reached through "..".
    if (mode == Mode::open) {
        struct stat st {};
        if (::fstat(top(), &st) != 0)
            return fail(last_errno());
        UniqueFd fd = reopen(top(), top(), "", st, O_RDONLY | O_DIRECTORY);
        if (!fd)
            return fail(last_errno());
        opened->fd = std::move(fd);
        opened->st = st;
        return ResolvedParent{{}, {}, join_names(names), join_names(names)};
    }
    if (lexical > 0) {
        // Lenient: `dir` is the deepest directory that exists.
        const std::vector<std::string> existing(names.begin(), names.end() - static_cast<std::ptrdiff_t>(lexical));
        auto p = join_names(names);
        std::string last = names.back();
        return ResolvedParent{dup_top(), std::move(last), std::move(p), join_names(existing)};
    }
    return ResolvedParent{dup_top(), {}, join_names(names), join_names(names)};
}

OpenedEntry HostTree::open(std::string_view rel, std::error_code& ec) const
{
    ec.clear();
    while (!rel.empty() && rel.front() == '/')
        rel.remove_prefix(1);
    OpenedEntry out;
    if (!g_force_walk && g_have_openat2) {
        // One system call for the common case. RESOLVE_BENEATH refuses what
        // the walk may still accept (an absolute symlink under a prefix) and
        // EAGAIN reports a concurrent rename: both go to the walk, which
        // decides alike for everything openat2 accepts.
        open_how how{};
        how.flags = O_PATH | O_CLOEXEC;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (same_device_ ? RESOLVE_NO_XDEV : 0);
        const std::string p = rel.empty() ? std::string(".") : std::string(rel);
        UniqueFd fd{static_cast<int>(::syscall(SYS_openat2, root_.get(), p.c_str(), &how, sizeof how))};
        if (fd) {
            if (::fstat(fd.get(), &out.st) != 0) {
                ec = last_errno();
                return {};
            }
            if (!usable_type(out.st)) {
                ec = make_error_code(TreeErrc::not_regular);
                return {};
            }
            out.fd = reopen(fd.get(), -1, "", out.st, read_flags_for(out.st));
            if (out.fd)
                return out;
            // No /proc: the walk reopens by name, relative to the parent.
        } else {
            const int e = errno;
            switch (e) {
            case ENOENT:
            case ENOTDIR:
            case EACCES:
            case ENAMETOOLONG:
                ec = errno_code(e);
                return {};
            case ENOSYS:
            case EPERM:
            case E2BIG:
            case EINVAL:
                g_have_openat2 = false;
                break;
            default: // EXDEV, ELOOP, EAGAIN
                break;
            }
        }
    }
    walk(rel, Mode::open, O_RDONLY | O_NONBLOCK, &out, ec);
    if (ec)
        return {};
    return out;
}

OpenedEntry HostTree::open_file(std::string_view rel, std::error_code& ec) const
{
    auto entry = open(rel, ec);
    if (!ec && !S_ISREG(entry.st.st_mode)) {
        ec = make_error_code(TreeErrc::not_regular);
        return {};
    }
    return entry;
}

ResolvedParent HostTree::parent_of(std::string_view rel, bool create, std::error_code& ec) const
{
    return walk(rel, create ? Mode::parent_create : Mode::parent, 0, nullptr, ec);
}

ResolvedParent HostTree::resolve_lenient(std::string_view rel, std::error_code& ec) const
{
    return walk(rel, Mode::lenient, 0, nullptr, ec);
}

std::vector<std::string> HostTree::list_files(std::string_view rel) const
{
    std::vector<std::string> files;
    std::error_code ec;
    OpenedEntry root = open(rel, ec);
    if (ec || !S_ISDIR(root.st.st_mode))
        return files;
    std::string base{rel};
    while (!base.empty() && base.back() == '/')
        base.pop_back();

    // Depth-first, one open directory per level; a tree deeper than this is
    // not a project, and its deeper files are not listed.
    constexpr std::size_t max_depth = 128;
    std::function<void(int, const std::string&, std::size_t)> visit = [&](int dirfd, const std::string& prefix,
                                                                          std::size_t depth) {
        std::vector<DirEntry> entries;
        if (!read_dir_entries(dirfd, entries))
            throw SystemError(last_errno(), "cannot list " + (path_ / base / prefix).string());
        for (auto& [name, type] : entries) {
            const std::string rel_name = prefix.empty() ? name : prefix + "/" + name;
            if (type == DT_UNKNOWN) {
                struct stat st {};
                if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                    continue;
                type = S_ISDIR(st.st_mode)   ? DT_DIR
                       : S_ISREG(st.st_mode) ? DT_REG
                       : S_ISLNK(st.st_mode) ? DT_LNK
                                             : DT_UNKNOWN;
            }
            if (type == DT_REG) {
                files.push_back(rel_name);
            } else if (type == DT_LNK) {
                std::error_code lec;
                const std::string from_root = base.empty() ? rel_name : base + "/" + rel_name;
                auto target = open(from_root, lec);
                if (!lec && S_ISREG(target.st.st_mode))
                    files.push_back(rel_name);
            } else if (type == DT_DIR && depth + 1 < max_depth) {
                UniqueFd sub{::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
                struct stat st {};
                if (!sub || ::fstat(sub.get(), &st) != 0 || (same_device_ && st.st_dev != dev_))
                    continue;
                visit(sub.get(), rel_name, depth + 1);
            }
        }
    };
    visit(root.fd.get(), "", 0);
    std::sort(files.begin(), files.end());
    return files;
}

// ---- removal --------------------------------------------------------------

namespace {

// Gives the owner rwx on a directory it cannot search or change, through an
// O_PATH descriptor so that a swap for a symlink cannot redirect the chmod.
void open_up(int dirfd, const char* name)
{
    UniqueFd p{::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)};
    struct stat st {};
    if (!p || ::fstat(p.get(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
        return;
    const std::string proc = "/proc/self/fd/" + std::to_string(p.get());
    (void)::chmod(proc.c_str(), (st.st_mode & 07777) | S_IRWXU);
}

UniqueFd open_dir_for_removal(int dirfd, const char* name)
{
    UniqueFd fd{::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (!fd && errno == EACCES) {
        open_up(dirfd, name);
        fd.reset(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    return fd;
}

// Levels held open at once; a deeper subtree is moved up into the top
// directory being removed and finished by a later pass.
constexpr int max_removal_depth = 32;

struct Remover {
    int top;
    std::error_code ec;
    bool hoisted = false;

    void empty(int dirfd, int depth)
    {
        open_up_self(dirfd);
        std::vector<DirEntry> entries;
        if (!read_dir_entries(dirfd, entries)) {
            note(last_errno());
            return;
        }
        for (const auto& [name, type] : entries)
            remove_entry(dirfd, name, type, depth);
    }

    void remove_entry(int dirfd, const std::string& name, unsigned char type, int depth)
    {
        if (type != DT_DIR && type != DT_UNKNOWN) {
            if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT)
                return;
            if (errno != EISDIR) {
                note(last_errno());
                return;
            }
        }
        if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT)
            return; // not a directory after all
        if (errno != EISDIR && errno != EPERM) {
            note(last_errno());
            return;
        }
        if (depth >= max_removal_depth && dirfd != top) {
            const std::string hoist = ".stirrup-rm-" + detail::random_hex(12);
            if (::renameat(dirfd, name.c_str(), top, hoist.c_str()) == 0) {
                hoisted = true;
                return;
            }
        }
        UniqueFd sub = open_dir_for_removal(dirfd, name.c_str());
        if (!sub) {
            if (errno == ENOENT)
                return;
            if (errno == ENOTDIR || errno == ELOOP) { // swapped for a file or link meanwhile
                if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
                    note(last_errno());
                return;
            }
            note(last_errno());
            return;
        }
        empty(sub.get(), depth + 1);
        sub.reset();
        if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
            note(last_errno());
    }

    static void open_up_self(int dirfd)
    {
        struct stat st {};
        if (::fstat(dirfd, &st) == 0 && (st.st_mode & S_IRWXU) != S_IRWXU && st.st_uid == ::geteuid())
            (void)::fchmod(dirfd, (st.st_mode & 07777) | S_IRWXU);
    }

    void note(std::error_code e)
    {
        if (!ec)
            ec = e;
    }
};

} // namespace

void remove_tree_at(int dirfd, const std::string& name, std::error_code& ec)
{
    ec.clear();
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT)
        return;
    if (errno != EISDIR && errno != EPERM) {
        ec = last_errno();
        return;
    }
    UniqueFd top = open_dir_for_removal(dirfd, name.c_str());
    if (!top) {
        if (errno == ENOENT)
            return;
        if ((errno == ENOTDIR || errno == ELOOP) && (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT))
            return;
        ec = last_errno();
        return;
    }
    Remover r{top.get(), {}, false};
    // Hoisted subtrees land in `top`, so passes repeat until one hoists nothing.
    for (int pass = 0; pass < 10'000; ++pass) {
        r.hoisted = false;
        r.empty(top.get(), 0);
        if (!r.hoisted)
            break;
    }
    top.reset();
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        r.note(last_errno());
    ec = r.ec;
}

void remove_tree(const fs::path& path, std::error_code& ec)
{
    ec.clear();
    fs::path p = path;
    while (!p.has_filename() && p.has_relative_path())
        p = p.parent_path();
    const auto name = p.filename().string();
    if (name.empty() || name == "." || name == "..") {
        ec = errno_code(EINVAL);
        return;
    }
    const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
    UniqueFd dir{::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
    if (!dir) {
        if (errno != ENOENT)
            ec = last_errno();
        return;
    }
    remove_tree_at(dir.get(), name, ec);
}

bool is_case_sensitive_at(int dirfd)
{
    std::string name;
    UniqueFd probe;
    for (int attempt = 0; attempt < 100 && !probe; ++attempt) {
        name = ".stirrup-Case-Probe-" + detail::random_hex(8);
        probe.reset(::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!probe && errno != EEXIST)
            throw SystemError(last_errno(), "cannot create a case probe file");
    }
    if (!probe)
        throw SystemError(errno_code(EEXIST), "cannot create a case probe file");
    std::string alternate = name;
    for (auto& c : alternate) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    struct stat mine {
    }, other{};
    bool sensitive = true;
    if (::fstat(probe.get(), &mine) == 0 && ::fstatat(dirfd, alternate.c_str(), &other, AT_SYMLINK_NOFOLLOW) == 0)
        sensitive = !(mine.st_dev == other.st_dev && mine.st_ino == other.st_ino);
    ::unlinkat(dirfd, name.c_str(), 0);
    return sensitive;
}

bool read_dir_entries(int dirfd, std::vector<DirEntry>& entries)
{
    const int fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return false;
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return false;
    }
    ::rewinddir(dir);
    while (dirent* e = ::readdir(dir)) {
        const std::string_view n = e->d_name;
        if (n != "." && n != "..")
            entries.push_back(DirEntry{std::string(n), e->d_type});
    }
    ::closedir(dir);
    return true;
}

} // namespace stirrup::detail
