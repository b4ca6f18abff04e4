#pragma once
// The names the local backend gives what it creates: "<prefix><owner
// token>-<suffix>". The backend names its temp directories and cgroups with
// them and the reaper finds its leftovers by them, so both read them here.

#include <string_view>

namespace stirrup::detail {

inline constexpr std::string_view local_dir_prefix = "local_exec_env_";
inline constexpr std::string_view local_cgroup_prefix = "stirrup-local-";

} // namespace stirrup::detail
