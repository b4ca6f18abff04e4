#pragma once
// Who owns an execution environment: a process (its pid, and its start time
// so that a reused pid is not mistaken for it) on a host. The reapers remove
// what an owner that is gone left behind: containers (Docker) and temp dirs,
// cgroups and processes (local).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stirrup::detail {

/// This machine's host name.
std::string host_name();

/// Field 22 of /proc/<pid>/stat (start time in clock ticks after boot);
/// nullopt when the process does not exist.
std::optional<std::uint64_t> process_start_ticks(long pid);

/// Whether process `pid` (on this host) still runs: it exists and, when
/// `started` is given, started at that time (else it is another process that
/// reuses the pid). A pid this process cannot see (another pid namespace)
/// counts as gone; one it may not signal counts as alive.
bool process_alive(long pid, std::optional<std::uint64_t> started);

/// The owner of the environments this process creates.
struct ProcessOwner {
    long pid = 0;
    std::uint64_t started = 0; ///< process_start_ticks(pid)
    std::string host;          ///< host_name()
};

/// This process (cached: it does not change).
const ProcessOwner& this_process_owner();

/// The owner as a token safe in a file or cgroup name:
/// "<pid>-<start ticks>-<host tag>", where the host tag is 8 hex digits of a
/// hash of the host name (names stay short, and any host name fits).
std::string owner_token(const ProcessOwner& owner);

/// The owner named by a token, with the host tag in `host` (not the name).
std::optional<ProcessOwner> parse_owner_token(std::string_view token);

/// The host tag of this machine, as owner_token writes it.
std::string host_tag(std::string_view host);

} // namespace stirrup::detail
