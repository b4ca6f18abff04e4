// The reaper: containers this library created for a process that is gone
// (killed, crashed, or exited without stopping its providers).

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/docker.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/docker/detail/labels.hpp"

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

// The host directories bind-mounted into the container that the Docker
// backend made (docker_exec_env_*): removed once the container is gone.
std::vector<std::filesystem::path> backend_directories(const json::object& container)
{
    std::vector<std::filesystem::path> dirs;
    const json::value* mounts = container.if_contains("Mounts");
    if (!mounts || !mounts->is_array())
        return dirs;
    for (const auto& m : mounts->as_array()) {
        if (!m.is_object())
            continue;
        const json::value* type = m.as_object().if_contains("Type");
        const json::value* source = m.as_object().if_contains("Source");
        if (!type || !source || !type->is_string() || !source->is_string() || type->as_string() != "bind")
            continue;
        const std::filesystem::path dir(std::string(source->as_string()));
        if (dir.is_absolute() && dir.filename().string().rfind("docker_exec_env_", 0) == 0)
            dirs.push_back(dir);
    }
    return dirs;
}

// A real directory (not a symlink put in its place) of this user.
bool removable(const std::filesystem::path& dir)
{
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    return ::geteuid() == 0 || st.st_uid == ::geteuid();
}

} // namespace

awaitable<std::vector<std::string>> reap_orphans(detail::docker::Client& client)
{
    auto result = co_await reap_orphans_with_directories(client);
    co_return std::move(result.removed);
}

awaitable<DockerReapResult> reap_orphans_with_directories(detail::docker::Client& client)
{
    const std::string library = std::string(detail::docker::label_library) + "=1";
    std::vector<std::string> wanted{library};
    const json::array containers = co_await client.containers_by_label(std::move(wanted));
    const std::string here = detail::docker::host_name();
    std::vector<std::pair<std::string, std::vector<std::filesystem::path>>> orphans;
    for (const auto& c : containers) {
        if (!c.is_object())
            continue;
        const json::object& o = c.as_object();
        const json::value* id = o.if_contains("Id");
        if (!id || !id->is_string())
            continue;
        const auto owner_label = label(o, detail::docker::label_owner);
        const auto owner = owner_label ? detail::docker::parse_owner(*owner_label) : std::nullopt;
        // Without a readable owner, or owned from another host, it is not ours to judge.
        if (!owner || owner->host != here)
            continue;
        const auto started = label(o, detail::docker::label_owner_started);
        if (detail::docker::owner_alive(*owner, started ? std::optional<std::string_view>(*started) : std::nullopt))
            continue;
        orphans.emplace_back(std::string(id->as_string()), backend_directories(o));
    }
    DockerReapResult result;
    for (const auto& [id, dirs] : orphans) {
        if (!co_await client.container_remove(id, true, true))
            continue;
        result.removed.push_back(id);
        for (const auto& dir : dirs) {
            std::error_code ec;
            bool done = false;
            co_await detail::offload([&] {
                if (!removable(dir))
                    return;
                // The container wrote this tree: never followed by name.
                detail::remove_tree(dir, ec);
                done = !ec;
            });
            if (done)
                result.directories.push_back(dir);
            else if (ec)
                result.errors.push_back(dir.string() + ": " + ec.message());
        }
    }
    co_return result;
}

} // namespace stirrup
