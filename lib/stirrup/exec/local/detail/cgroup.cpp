#include "stirrup/exec/local/detail/cgroup.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

namespace stirrup::detail {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_text(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        ::close(fd);
        if (n < 0)
            return std::nullopt;
        return out;
    }
}

bool write_text(const std::string& path, std::string_view text, std::error_code& ec)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        ec = last_errno();
        return false;
    }
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n != static_cast<ssize_t>(text.size()))
        ec = n < 0 ? last_errno() : std::make_error_code(std::errc::io_error);
    ::close(fd);
    return !ec;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            const auto oct = s.substr(i + 1, 3);
            if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
                out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
                i += 3;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

// "populated 1" while any process is in the cgroup or below it.
std::optional<bool> populated(const fs::path& dir)
{
    const auto events = read_text((dir / "cgroup.events").string());
    if (!events)
        return std::nullopt;
    const auto pos = events->find("populated ");
    if (pos == std::string::npos)
        return std::nullopt;
    return events->compare(pos, 11, "populated 1") == 0;
}

// Waits for "populated 0": cgroup.events raises POLLPRI on every change.
bool wait_empty(const fs::path& dir, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    const int fd = ::open((dir / "cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
    for (;;) {
        const auto p = populated(dir);
        if (!p || !*p)
            break;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            if (fd >= 0)
                ::close(fd);
            return false;
        }
        // Bounded slices: a notification that raced the read above is not lost for long.
        if (fd >= 0) {
            char buf[256];
            [[maybe_unused]] const auto n = ::pread(fd, buf, sizeof buf, 0);
            pollfd pfd{fd, POLLPRI, 0};
            ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 50)));
        } else {
            ::usleep(5000);
        }
    }
    if (fd >= 0)
        ::close(fd);
    return true;
}

// Removes the cgroups below `dir` (deepest first), then `dir`.
void remove_cgroup_tree(const fs::path& dir, std::error_code& ec, int depth = 0)
{
    if (depth > 64) {
        ec = std::make_error_code(std::errc::too_many_symbolic_link_levels);
        return;
    }
    if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> subdirs;
        while (dirent* e = ::readdir(d)) {
            const std::string name = e->d_name;
            if (name == "." || name == "..")
                continue;
            if (e->d_type == DT_DIR)
                subdirs.push_back(name);
        }
        ::closedir(d);
        for (const auto& name : subdirs)
            remove_cgroup_tree(dir / name, ec, depth + 1);
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && !ec)
        ec = last_errno();
}

} // namespace

std::optional<std::pair<fs::path, std::string>> cgroup2_mount(const std::string& mountinfo)
{
    std::istringstream lines(mountinfo);
    std::string line;
    while (std::getline(lines, line)) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
        const auto dash = line.find(" - ");
        if (dash == std::string::npos)
            continue;
        std::istringstream tail(line.substr(dash + 3));
        std::string fstype;
        tail >> fstype;
        if (fstype != "cgroup2")
            continue;
        std::istringstream head(line.substr(0, dash));
        std::string id, parent, devno, root, mountpoint;
        if (!(head >> id >> parent >> devno >> root >> mountpoint))
            continue;
        return std::make_pair(fs::path(unescape_mountinfo(mountpoint)), unescape_mountinfo(root));
    }
    return std::nullopt;
}

std::optional<std::string> unified_cgroup_path(const std::string& proc_self_cgroup)
{
    std::istringstream lines(proc_self_cgroup);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind("0::", 0) == 0)
            return line.substr(3);
    return std::nullopt;
}

std::optional<CgroupPlace> find_cgroup_place()
{
    const auto mountinfo = read_text("/proc/self/mountinfo");
    const auto self = read_text("/proc/self/cgroup");
    if (!mountinfo || !self)
        return std::nullopt;
    const auto mount = cgroup2_mount(*mountinfo);
    const auto path = unified_cgroup_path(*self);
    if (!mount || !path || path->empty() || path->front() != '/')
        return std::nullopt;
    // A path ending in " (deleted)" is a cgroup removed under us.
    if (path->find(" (deleted)") != std::string::npos)
        return std::nullopt;
    // The mount shows the hierarchy from mount->second down.
    const fs::path root = mount->second;
    const auto rel = fs::path(*path).lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..")
        return std::nullopt;
    CgroupPlace place;
    place.mount = mount->first;
    place.own = rel == "." ? mount->first : mount->first / rel;
    return place;
}

std::optional<fs::path> create_cgroup(const std::string& name)
{
    static const std::optional<CgroupPlace> place = find_cgroup_place();
    if (!place)
        return std::nullopt;
    // Moving a process between cgroups needs write access to cgroup.procs
    // of both and of their common ancestor (here: our own cgroup).
    if (::access((place->own / "cgroup.procs").c_str(), W_OK) != 0)
        return std::nullopt;
    const fs::path dir = place->own / name;
    if (::mkdir(dir.c_str(), 0755) != 0)
        return std::nullopt;
    struct stat st {};
    if (::stat((dir / "cgroup.kill").c_str(), &st) != 0 || ::access((dir / "cgroup.procs").c_str(), W_OK) != 0) {
        ::rmdir(dir.c_str());
        return std::nullopt;
    }
    return dir;
}

bool kill_and_remove_cgroup(const fs::path& dir, std::error_code& ec, std::chrono::milliseconds limit)
{
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        return true; // already gone
    std::error_code kill_ec;
    write_text((dir / "cgroup.kill").string(), "1", kill_ec);
    bool emptied = wait_empty(dir, limit);
    if (!emptied && !kill_ec) {
        // Something joined after the kill (a process moved in from outside):
        // once more.
        write_text((dir / "cgroup.kill").string(), "1", kill_ec);
        emptied = wait_empty(dir, std::chrono::seconds(1));
    }
    if (!emptied) {
        ec = kill_ec ? kill_ec : std::make_error_code(std::errc::device_or_resource_busy);
        return false;
    }
    remove_cgroup_tree(dir, ec);
    return true;
}

std::vector<fs::path> find_cgroups(const fs::path& mount, const std::string& prefix)
{
    std::vector<fs::path> found;
    std::vector<std::pair<fs::path, int>> pending{{mount, 0}};
    while (!pending.empty()) {
        auto [dir, depth] = pending.back();
        pending.pop_back();
        DIR* d = ::opendir(dir.c_str());
        if (!d)
            continue;
        while (dirent* e = ::readdir(d)) {
            if (e->d_type != DT_DIR)
                continue;
            const std::string name = e->d_name;
            if (name == "." || name == "..")
                continue;
            if (name.rfind(prefix, 0) == 0)
                found.push_back(dir / name);
            else if (depth < 32)
                pending.emplace_back(dir / name, depth + 1);
        }
        ::closedir(d);
    }
    return found;
}

} // namespace stirrup::detail
