#include "stirrup/exec/docker/detail/labels.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>

namespace stirrup::detail::docker {

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
    std::optional<std::uint64_t> ticks;
    if (started) {
        std::uint64_t t = 0;
        const auto [end, ec] = std::from_chars(started->data(), started->data() + started->size(), t);
        if (ec != std::errc{} || end != started->data() + started->size())
            return false; // a start time that no process has
        ticks = t;
    }
    return process_alive(owner.pid, ticks);
}

} // namespace stirrup::detail::docker
