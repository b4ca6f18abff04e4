#include "stirrup/exec/docker_labels.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>

namespace stirrup::docker {

std::optional<Owner> parse_owner(std::string_view label)
{
    const auto at = label.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == label.size())
        return std::nullopt;
    Owner o;
    const auto digits = label.substr(0, at);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), o.pid);
    if (ec != std::errc{} || end != digits.data() + digits.size() || o.pid <= 0)
        return std::nullopt;
    o.host = std::string(label.substr(at + 1));
    return o;
}

std::string host_name()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "unknown";
    return buf;
}

std::optional<std::uint64_t> process_start_ticks(long pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in)
        return std::nullopt;
    const std::string line((std::istreambuf_iterator<char>(in)), {});
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
    rest = rest.substr(rest.find_first_not_of(' '));
    std::uint64_t ticks = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ticks);
    if (ec != std::errc{})
        return std::nullopt;
    return ticks;
}

std::map<std::string, std::string> ownership_labels(std::string_view session_id)
{
    const long pid = static_cast<long>(::getpid());
    std::map<std::string, std::string> labels;
    labels[std::string(label_library)] = "1";
    labels[std::string(label_owner)] = std::to_string(pid) + "@" + host_name();
    if (auto started = process_start_ticks(pid))
        labels[std::string(label_owner_started)] = std::to_string(*started);
    labels[std::string(label_session)] = std::string(session_id);
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char created[32];
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    labels[std::string(label_created)] = created;
    return labels;
}

bool owner_alive(const Owner& owner, std::optional<std::string_view> started)
{
    if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH)
        return false;
    if (!started)
        return true;
    const auto now = process_start_ticks(owner.pid);
    if (!now)
        return true; // cannot tell (another pid namespace): assume it lives
    return std::to_string(*now) == *started;
}

} // namespace stirrup::docker
