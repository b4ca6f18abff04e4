// The local backend's crash reaper: environments whose owner process is gone
// (killed, crashed, or exited without stopping its providers).

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/detail/owner.hpp"
#include "stirrup/exec/local/detail/cgroup.hpp"
#include "stirrup/exec/local/detail/naming.hpp"
#include "stirrup/exec/local/local.hpp"

namespace stirrup {
namespace fs = std::filesystem;

namespace {

// "<owner token>-<suffix>" after the prefix: the owner is all but the last part.
std::optional<detail::ProcessOwner> owner_of(std::string_view name, std::string_view prefix)
{
    if (name.substr(0, prefix.size()) != prefix)
        return std::nullopt;
    name.remove_prefix(prefix.size());
    const auto last = name.rfind('-');
    if (last == std::string_view::npos || last + 1 == name.size())
        return std::nullopt;
    return detail::parse_owner_token(name.substr(0, last));
}

// Ours to judge (this host), and its owner gone.
bool orphaned(const detail::ProcessOwner& owner, const std::string& here)
{
    if (owner.host != here)
        return false;
    return !detail::process_alive(owner.pid,
                                  owner.started ? std::optional<std::uint64_t>(owner.started) : std::nullopt);
}

std::optional<std::string> link_target(const std::string& path)
{
    std::string buf(4096, '\0');
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size())
        return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

bool inside(const std::string& path, const std::string& dir)
{
    return path == dir ||
           (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// Without a cgroup, what is left of an environment whose supervisors are gone
// (they die with the host, killing what they own, unless something killed
// them first) is found by where it works: processes whose working directory
// is inside the environment. Each is pinned with a pidfd and checked again
// before the signal, so a recycled pid is never hit.
std::size_t kill_processes_inside(const std::string& dir)
{
    std::size_t killed = 0;
    const pid_t self = ::getpid();
    const uid_t me = ::geteuid();
    for (int pass = 0; pass < 20; ++pass) {
        std::size_t found = 0;
        DIR* proc = ::opendir("/proc");
        if (!proc)
            return killed;
        while (dirent* e = ::readdir(proc)) {
            char* end = nullptr;
            const long pid = std::strtol(e->d_name, &end, 10);
            if (!end || *end != '\0' || pid <= 0 || pid == self)
                continue;
            const std::string base = std::string("/proc/") + e->d_name;
            struct stat st {};
            if (::stat(base.c_str(), &st) != 0 || (me != 0 && st.st_uid != me))
                continue;
            const auto cwd = link_target(base + "/cwd");
            if (!cwd || !inside(*cwd, dir))
                continue;
            const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
            if (pidfd < 0)
                continue;
            const auto again = link_target(base + "/cwd");
            if (again && inside(*again, dir) && ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0) {
                ++found;
                ++killed;
            }
            ::close(pidfd);
        }
        ::closedir(proc);
        if (found == 0)
            break;
        ::usleep(20 * 1000); // let them die before the next look
    }
    return killed;
}

LocalReapResult reap_blocking(const std::optional<fs::path>& temp_base_dir)
{
    LocalReapResult result;
    const std::string here = detail::host_tag(detail::host_name());

    // Cgroups first: cgroup.kill takes everything inside at once.
    if (const auto place = detail::find_cgroup_place()) {
        for (const auto& cg : detail::find_cgroups(place->mount, std::string(detail::local_cgroup_prefix))) {
            const auto owner = owner_of(cg.filename().string(), detail::local_cgroup_prefix);
            if (!owner || !orphaned(*owner, here))
                continue;
            std::error_code ec;
            detail::kill_and_remove_cgroup(cg, ec);
            if (ec)
                result.errors.push_back(cg.string() + ": " + ec.message());
            else
                result.cgroups.push_back(cg);
        }
    }

    const fs::path base = temp_base_dir ? *temp_base_dir : fs::temp_directory_path();
    std::error_code ec;
    const fs::path real_base = fs::canonical(base, ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory)
            result.errors.push_back(base.string() + ": " + ec.message());
        return result;
    }
    DIR* d = ::opendir(real_base.c_str());
    if (!d) {
        result.errors.push_back(real_base.string() + ": " + std::error_code(errno, std::system_category()).message());
        return result;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
        names.emplace_back(e->d_name);
    ::closedir(d);
    const uid_t me = ::geteuid();
    for (const auto& name : names) {
        const auto owner = owner_of(name, detail::local_dir_prefix);
        if (!owner || !orphaned(*owner, here))
            continue;
        const fs::path dir = real_base / name;
        // A real directory (not a symlink someone put there), and ours.
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || (me != 0 && st.st_uid != me))
            continue;
        result.killed += kill_processes_inside(dir.string());
        std::error_code rm;
        detail::remove_tree(dir, rm);
        if (rm) {
            // One of them may have been writing as it died.
            rm.clear();
            detail::remove_tree(dir, rm);
        }
        if (rm)
            result.errors.push_back(dir.string() + ": " + rm.message());
        else
            result.removed.push_back(dir);
    }
    return result;
}

} // namespace

awaitable<LocalReapResult> reap_local_orphans(std::optional<fs::path> temp_base_dir)
{
    LocalReapResult result;
    co_await detail::offload([&] { result = reap_blocking(temp_base_dir); });
    co_return result;
}

} // namespace stirrup
