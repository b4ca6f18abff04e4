#pragma once
// cgroup v2 for the local backend: one cgroup per environment, when this
// process may create one under its own, so that stop() can kill everything
// in it with cgroup.kill (atomic: nothing inside can fork out of it, or
// escape by killing its supervisor). Blocking (cgroupfs I/O, waits): run
// these off the event loop.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace stirrup::detail {

/// Where the cgroup v2 hierarchy is mounted (from /proc/self/mountinfo),
/// and the directory of this process's own cgroup in it; nullopt when there
/// is no cgroup2 mount, or this process's cgroup is not visible in it.
struct CgroupPlace {
    std::filesystem::path mount;
    std::filesystem::path own;
};
std::optional<CgroupPlace> find_cgroup_place();

/// Parses /proc/self/mountinfo text: the mount point of the first cgroup2
/// mount, and that mount's root inside the hierarchy.
std::optional<std::pair<std::filesystem::path, std::string>> cgroup2_mount(const std::string& mountinfo);

/// The "0::PATH" line of /proc/self/cgroup text.
std::optional<std::string> unified_cgroup_path(const std::string& proc_self_cgroup);

/// Creates `name` under this process's cgroup, when this process may, the
/// kernel has cgroup.kill (5.14+), and this process could move processes
/// into it. nullopt otherwise (the caller falls back to supervisors alone).
std::optional<std::filesystem::path> create_cgroup(const std::string& name);

/// Kills every process in `dir` (and below) with cgroup.kill, waits until it
/// is empty (cgroup.events "populated 0") for up to `limit`, and removes it
/// and the cgroups below it. Errors in `ec`; a cgroup already gone is not
/// an error. Returns false when processes were still there after `limit`.
bool kill_and_remove_cgroup(const std::filesystem::path& dir, std::error_code& ec,
                            std::chrono::milliseconds limit = std::chrono::seconds(10));

/// Every directory under the hierarchy mounted at `mount` whose name starts
/// with `prefix` (not descending into those); empty without cgroup2.
std::vector<std::filesystem::path> find_cgroups(const std::filesystem::path& mount, const std::string& prefix);

} // namespace stirrup::detail
