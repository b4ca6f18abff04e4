#pragma once
// The labels every container of the Docker backend carries, and who owns a
// container: the process (pid, and its start time so a reused pid is not
// mistaken for it) on a host. The reaper removes containers whose owner is
// gone.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "stirrup/exec/detail/owner.hpp"

namespace stirrup::detail::docker {

inline constexpr std::string_view label_library = "org.stirrup"; ///< always "1"
inline constexpr std::string_view label_owner = "stirrup.owner"; ///< "<pid>@<hostname>"
inline constexpr std::string_view label_owner_started =
    "stirrup.owner.started"; ///< the owner's start time, in clock ticks after boot
inline constexpr std::string_view label_session = "stirrup.session";
inline constexpr std::string_view label_created = "stirrup.created"; ///< RFC 3339, UTC

struct Owner {
    long pid = 0;
    std::string host;
};

/// "<pid>@<hostname>"; nullopt when malformed.
std::optional<Owner> parse_owner(std::string_view label);

// Shared with the local backend's reaper (exec/owner.hpp).
using stirrup::detail::host_name;
using stirrup::detail::process_start_ticks;

/// The labels for a new container of this process: org.stirrup, owner,
/// owner start time, session and creation time.
std::map<std::string, std::string> ownership_labels(std::string_view session_id);

/// Whether the owner process (on this host) still runs: it exists and, when
/// `started` is given, started at that time.
bool owner_alive(const Owner& owner, std::optional<std::string_view> started);

} // namespace stirrup::detail::docker
