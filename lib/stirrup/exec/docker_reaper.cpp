// The reaper: containers this library created for a process that is gone
// (killed, crashed, or exited without stopping its providers).

#include "stirrup/exec/docker.hpp"

#include "stirrup/exec/docker_labels.hpp"

namespace stirrup {
namespace json = boost::json;

namespace {

std::optional<std::string> label(const json::object& container, std::string_view key)
{
    const json::value* labels = container.if_contains("Labels");
    if (!labels || !labels->is_object())
        return std::nullopt;
    const json::value* v = labels->as_object().if_contains(key);
    if (!v || !v->is_string())
        return std::nullopt;
    return std::string(v->as_string());
}

} // namespace

awaitable<std::vector<std::string>> reap_orphans(docker::Client& client)
{
    const std::string library = std::string(docker::label_library) + "=1";
    std::vector<std::string> wanted{library};
    const json::array containers = co_await client.containers_by_label(std::move(wanted));
    const std::string here = docker::host_name();
    std::vector<std::string> orphans;
    for (const auto& c : containers) {
        if (!c.is_object())
            continue;
        const json::object& o = c.as_object();
        const json::value* id = o.if_contains("Id");
        if (!id || !id->is_string())
            continue;
        const auto owner_label = label(o, docker::label_owner);
        const auto owner = owner_label ? docker::parse_owner(*owner_label) : std::nullopt;
        // Without a readable owner, or owned from another host, it is not ours to judge.
        if (!owner || owner->host != here)
            continue;
        const auto started = label(o, docker::label_owner_started);
        if (docker::owner_alive(*owner, started ? std::optional<std::string_view>(*started) : std::nullopt))
            continue;
        orphans.emplace_back(id->as_string());
    }
    std::vector<std::string> removed;
    for (const auto& id : orphans)
        if (co_await client.container_remove(id, true, true))
            removed.push_back(id);
    co_return removed;
}

} // namespace stirrup
