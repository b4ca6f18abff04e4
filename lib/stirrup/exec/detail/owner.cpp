#include "stirrup/exec/detail/owner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

namespace stirrup::detail {

std::string host_name()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "unknown";
    return buf;
}

std::optional<std::uint64_t> process_start_ticks(long pid)
{
    // Plain read(2): the file of a process that exits meanwhile fails with
    // ESRCH mid-read.
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string line;
    char buf[1024];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            line.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    ::close(fd);
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::string_view rest = std::string_view(line).substr(close + 1);
    // Field 3 (state) is the first after ')'; start time is field 22.
    for (int field = 3; field < 22; ++field) {
        const auto space = rest.find_first_not_of(' ');
        if (space == std::string_view::npos)
            return std::nullopt;
        rest = rest.substr(space);
        const auto next = rest.find(' ');
        if (next == std::string_view::npos)
            return std::nullopt;
        rest = rest.substr(next);
    }
    const auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos)
        return std::nullopt;
    rest = rest.substr(start);
    std::uint64_t ticks = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ticks);
    if (ec != std::errc{})
        return std::nullopt;
    return ticks;
}

bool process_alive(long pid, std::optional<std::uint64_t> started)
{
    if (pid <= 0)
        return false;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        return false;
    if (!started)
        return true;
    const auto now = process_start_ticks(pid);
    if (!now)
        return true; // it exists, but /proc does not show it: cannot tell, assume it lives
    return *now == *started;
}

const ProcessOwner& this_process_owner()
{
    static const ProcessOwner owner = [] {
        ProcessOwner o;
        o.pid = static_cast<long>(::getpid());
        o.started = process_start_ticks(o.pid).value_or(0);
        o.host = host_name();
        return o;
    }();
    return owner;
}

std::string host_tag(std::string_view host)
{
    // FNV-1a, 32 bits: stable across builds and machines.
    std::uint32_t h = 2166136261u;
    for (const char c : host) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    char out[9];
    std::snprintf(out, sizeof out, "%08x", h);
    return out;
}

std::string owner_token(const ProcessOwner& owner)
{
    return std::to_string(owner.pid) + "-" + std::to_string(owner.started) + "-" + host_tag(owner.host);
}

std::optional<ProcessOwner> parse_owner_token(std::string_view token)
{
    ProcessOwner o;
    const auto first = token.find('-');
    if (first == std::string_view::npos)
        return std::nullopt;
    const auto second = token.find('-', first + 1);
    if (second == std::string_view::npos)
        return std::nullopt;
    const auto pid = token.substr(0, first);
    const auto started = token.substr(first + 1, second - first - 1);
    const auto tag = token.substr(second + 1);
    auto [pe, pec] = std::from_chars(pid.data(), pid.data() + pid.size(), o.pid);
    if (pec != std::errc{} || pe != pid.data() + pid.size() || o.pid <= 0)
        return std::nullopt;
    auto [se, sec] = std::from_chars(started.data(), started.data() + started.size(), o.started);
    if (sec != std::errc{} || se != started.data() + started.size() || started.empty())
        return std::nullopt;
    if (tag.size() != 8 || tag.find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return std::nullopt;
    o.host = std::string(tag);
    return o;
}

} // namespace stirrup::detail
