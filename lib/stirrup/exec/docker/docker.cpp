// The Docker backend's lifecycle: the container a session runs in, from
// creation to removal. Commands are in docker_exec.cpp, files in
// docker_files.cpp, images in docker_image.cpp.

#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/docker/detail/client.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/array.hpp>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/core/detail/shielded.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/host_files.hpp"
#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/docker/detail/env.hpp"
#include "stirrup/exec/docker/detail/labels.hpp"

namespace stirrup {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string clean_working_dir(std::string wd)
{
    while (wd.size() > 1 && wd.back() == '/')
        wd.pop_back();
    if (wd.empty() || wd.front() != '/')
        throw ConfigError("working_dir must be an absolute path: '" + wd + "'");
    return wd;
}

fs::path make_temp_dir(const std::optional<fs::path>& base)
{
    fs::path parent = base ? *base : fs::temp_directory_path();
    fs::create_directories(parent);
    std::string templ = (parent / "docker_exec_env_XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw SystemError(std::error_code(errno, std::system_category()), "mkdtemp in " + parent.string());
    return fs::path(templ);
}

json::array string_array(const std::vector<std::string>& v)
{
    json::array a;
    for (const auto& s : v)
        a.emplace_back(s);
    return a;
}

// Removal when the provider was destroyed without stop(): on a pool thread
// with an io_context of its own, since the owner's loop may be gone.
// The permit, if any, is released once the container is gone.
void remove_in_background(detail::docker::Endpoint endpoint, std::string container_id, std::optional<fs::path> dir,
                          std::shared_ptr<CreationPermit> permit)
{
    if (!container_id.empty()) {
        try {
            boost::asio::io_context io;
            detail::docker::Client client(io.get_executor(), endpoint);
            boost::asio::co_spawn(io, client.container_remove(container_id, true, true), boost::asio::detached);
            io.run();
        } catch (...) {
        }
    }
    if (permit)
        permit->release();
    if (dir) {
        std::error_code ec;
        detail::remove_tree(*dir, ec);
    }
}

bool is_root_user(std::string_view user)
{
    return user.empty() || user == "root" || user == "0" || user == "0:0" || user == "root:root";
}

} // namespace

DockerCodeExec::DockerCodeExec(Source source, DockerCodeExecOptions options)
    : CodeExecProvider(options), source_(std::move(source)), docker_options_(std::move(options)),
      session_id_(detail::random_hex(16))
{
    docker_options_.working_dir = clean_working_dir(docker_options_.working_dir);
    if (docker_options_.cpus && !(*docker_options_.cpus > 0))
        throw ConfigError("cpus must be positive");
    if (docker_options_.memory_bytes && *docker_options_.memory_bytes < 6 * 1024 * 1024)
        throw ConfigError("memory_bytes must be at least 6 MiB (the engine's minimum)");
    if (docker_options_.pids_limit && *docker_options_.pids_limit <= 0)
        throw ConfigError("pids_limit must be positive");
}

std::unique_ptr<DockerCodeExec> DockerCodeExec::from_image(std::string image, DockerCodeExecOptions options)
{
    if (image.empty())
        throw ConfigError("DockerCodeExec::from_image: empty image name");
    Source s;
    s.image = std::move(image);
    return std::unique_ptr<DockerCodeExec>(new DockerCodeExec(std::move(s), std::move(options)));
}

std::unique_ptr<DockerCodeExec> DockerCodeExec::from_dockerfile(fs::path dockerfile, std::optional<fs::path> context,
                                                                std::map<std::string, std::string> build_args,
                                                                DockerCodeExecOptions options)
{
    Source s;
    s.dockerfile = std::move(dockerfile);
    s.context = std::move(context);
    s.build_args = std::move(build_args);
    return std::unique_ptr<DockerCodeExec>(new DockerCodeExec(std::move(s), std::move(options)));
}

DockerCodeExec::~DockerCodeExec()
{
    const auto container = container_to_remove();
    if (!container && !temp_dir_)
        return;
    warn("DockerCodeExec destroyed while started (stop() was not awaited); removing container " +
         container.value_or("(none)") + " in the background");
    detail::docker::Endpoint endpoint = endpoint_ ? *endpoint_ : detail::docker::Endpoint{};
    // Shared: offload_detached takes a copyable function.
    auto permit = std::make_shared<CreationPermit>(std::move(permit_));
    detail::offload_detached([endpoint = std::move(endpoint), id = container.value_or(""), dir = temp_dir_, permit] {
        remove_in_background(endpoint, id, dir, permit);
    });
}

std::optional<std::string> DockerCodeExec::container_to_remove() const
{
    if (container_id_)
        return container_id_;
    // A create whose answer never came (cancelled, engine gone) may still
    // have made the container: it has a name.
    if (create_attempted_)
        return "stirrup-" + session_id_;
    return std::nullopt;
}

std::string DockerCodeExec::code_exec_description() const
{
    return docker_options_.description.value_or(CodeExecProvider::code_exec_description());
}

json::object DockerCodeExec::container_config(const std::vector<std::string>& env) const
{
    const auto& o = docker_options_;
    json::object labels;
    for (const auto& [k, v] : o.labels)
        labels[k] = v;
    for (const auto& [k, v] : detail::docker::ownership_labels(session_id_))
        labels[k] = v;

    json::object host;
    host["NetworkMode"] = o.network_mode;
    host["Init"] = o.init;
    if (o.memory_bytes) {
        host["Memory"] = *o.memory_bytes;
        host["MemorySwap"] = *o.memory_bytes;
    }
    if (o.cpus)
        host["NanoCpus"] = static_cast<std::int64_t>(std::llround(*o.cpus * 1e9));
    if (o.pids_limit)
        host["PidsLimit"] = *o.pids_limit;
    if (bind_mode_ && temp_dir_)
        host["Binds"] = string_array({temp_dir_->string() + ":" + o.working_dir + ":rw"});

    json::object c;
    c["Image"] = image_;
    // The keep-alive: the session's commands run beside it with exec.
    c["Cmd"] = string_array({"sleep", "infinity"});
    c["WorkingDir"] = o.working_dir;
    if (!env.empty())
        c["Env"] = string_array(env);
    if (!o.user.empty())
        c["User"] = o.user;
    c["Labels"] = std::move(labels);
    c["Tty"] = false;
    c["OpenStdin"] = false;
    c["AttachStdout"] = false;
    c["AttachStderr"] = false;
    c["StopSignal"] = "SIGKILL";
    if (o.network_mode == "none")
        c["NetworkDisabled"] = true;
    c["HostConfig"] = std::move(host);
    return c;
}

awaitable<void> DockerCodeExec::do_start()
{
    const auto ex = co_await boost::asio::this_coro::executor;
    client_ = docker_options_.client ? docker_options_.client : detail::docker::Client::from_env(ex);
    endpoint_ = std::make_shared<const detail::docker::Endpoint>(client_->endpoint());
    bind_mode_ = docker_options_.file_mode == DockerFileMode::bind_mount ||
                 (docker_options_.file_mode == DockerFileMode::automatic && client_->is_local());

    std::vector<std::string> env;
    if (!docker_options_.env_vars.empty()) {
        std::map<std::string, std::string> dotenv;
        if (docker_options_.load_dotenv)
            co_await detail::offload([&] { dotenv = detail::docker::load_dotenv_file(); });
        auto forwarded = detail::docker::forward_env(docker_options_.env_vars, detail::docker::process_getenv, dotenv);
        for (const auto& name : forwarded.missing)
            warn("Requested env var '" + name + "' not found in environment");
        env = std::move(forwarded.entries);
    }

    co_await prepare_image();

    // As E2B: the gate counts the creation, and under a live limit the
    // permit stays until the container is removed. Taken after the image is
    // ready (a pull or build is not a creation) and before the temp dir, so
    // a queue of waiting sessions holds nothing on the host.
    if (docker_options_.creation_gate)
        permit_ = co_await docker_options_.creation_gate->acquire();

    if (bind_mode_) {
        fs::path dir;
        co_await detail::offload([&] { dir = make_temp_dir(docker_options_.temp_base_dir); });
        temp_dir_ = dir;
        canonical_root_ = fs::canonical(dir);
        // The container names the mount by working_dir; Stirrup also
        // accepts the host path.
        files_ = std::make_shared<const detail::HostFiles>(
            detail::HostTree(dir, {docker_options_.working_dir, dir.string(), canonical_root_.string()}),
            "Path is outside mounted directory: ");
    }
    const json::object config = container_config(env);
    create_attempted_ = true;
    // Shielded: a create cancelled in flight may still make the container
    // after the undo looked for it by name (seen in CI). Finished, its ID is
    // known, and the pending cancellation fires at the start below.
    awaitable<std::string> create = client_->container_create(config, "stirrup-" + session_id_);
    container_id_ = co_await detail::shielded(std::move(create));
    co_await client_->container_start(*container_id_);
    co_await prepare_owner();
}

awaitable<void> DockerCodeExec::prepare_owner()
{
    std::string user = docker_options_.user;
    if (user.empty()) {
        auto info = co_await client_->image_inspect(image_);
        if (info)
            if (const auto* config = info->if_contains("Config"); config && config->is_object())
                if (const auto* u = config->as_object().if_contains("User"); u && u->is_string())
                    user = std::string(u->as_string());
    }
    if (is_root_user(user))
        co_return;
    // Files this backend writes (archive mode) belong to the container's
    // user, and so does the working directory, which the engine created as root.
    const std::vector<std::string> id_argv{"sh", "-c", "id -u && id -g"};
    const auto ids = co_await run_helper(id_argv, user);
    unsigned long uid = 0, gid = 0;
    if (ids.first != 0 || std::sscanf(ids.second.c_str(), "%lu %lu", &uid, &gid) != 2) {
        warn("could not find the uid of container user '" + user + "': " + ids.second);
        co_return;
    }
    owner_uid_ = static_cast<std::uint32_t>(uid);
    owner_gid_ = static_cast<std::uint32_t>(gid);
    const std::string owner = std::to_string(uid) + ":" + std::to_string(gid);
    const std::vector<std::string> chown_argv{"chown", owner, docker_options_.working_dir};
    const auto chown = co_await run_helper(chown_argv);
    if (chown.first != 0)
        warn("could not give " + docker_options_.working_dir + " to " + owner + ": " + chown.second);
}

awaitable<void> DockerCodeExec::do_stop()
{
    // Cleanup runs to the end even when the caller was cancelled.
    co_await boost::asio::this_coro::reset_cancellation_state();
    std::exception_ptr failure;
    // With a rootful engine and a non-root host user, what the container
    // wrote in the bind mount is root's: hand it back so the host can read
    // and remove it.
    if (container_id_ && bind_mode_ && temp_dir_ && ::geteuid() != 0) {
        try {
            const std::string owner = std::to_string(::geteuid()) + ":" + std::to_string(::getegid());
            const std::vector<std::string> argv{"chown", "-R", owner, docker_options_.working_dir};
            const auto r = co_await run_helper(argv);
            if (r.first != 0)
                warn("could not hand " + docker_options_.working_dir + " back to the host user: " + r.second);
        } catch (const std::exception& e) {
            warn(std::string("could not hand the working directory back to the host user: ") + e.what());
        }
    }
    const auto container = container_to_remove();
    if (container && client_) {
        try {
            co_await client_->container_remove(*container, true, true);
        } catch (...) {
            failure = std::current_exception();
        }
    }
    container_id_.reset();
    create_attempted_ = false;
    // Released even when the removal failed: the slot is the gate's, and
    // holding it for a container this provider no longer controls would
    // shrink the gate for good (reap_orphans removes such a container).
    permit_.release();
    files_.reset();
    if (temp_dir_) {
        const fs::path dir = *temp_dir_;
        // Never by name: the container could still have swapped symlinks in.
        std::error_code ec;
        co_await detail::offload([&] { detail::remove_tree(dir, ec); });
        if (ec)
            warn("removing " + dir.string() + ": " + ec.message());
        temp_dir_.reset();
    }
    // A client this provider made is bound to the loop it started on: let
    // it go while that loop still runs.
    if (!docker_options_.client)
        client_.reset();
    if (failure) {
        warn("container " + *container +
             " could not be removed; reap_orphans will remove it once this process has exited");
        std::rethrow_exception(failure);
    }
}

std::vector<OutputSourceRoot> DockerCodeExec::output_source_roots() const
{
    if (!container_id_)
        return {};
    if (bind_mode_ && temp_dir_)
        return {OutputSourceRoot{docker_options_.working_dir, *temp_dir_}};
    return {OutputSourceRoot{docker_options_.working_dir, std::nullopt}};
}

std::shared_ptr<CodeExecToolProvider> docker_code_exec(std::string image, DockerCodeExecOptions options)
{
    return std::make_shared<CodeExecToolProvider>(
        "DockerCodeExecToolProvider",
        [image, options]() -> std::unique_ptr<CodeExecProvider> { return DockerCodeExec::from_image(image, options); });
}

std::shared_ptr<CodeExecToolProvider> docker_code_exec_from_dockerfile(std::filesystem::path dockerfile,
                                                                       std::optional<std::filesystem::path> context,
                                                                       std::map<std::string, std::string> build_args,
                                                                       DockerCodeExecOptions options)
{
    return std::make_shared<CodeExecToolProvider>(
        "DockerCodeExecToolProvider",
        [dockerfile, context, build_args, options]() -> std::unique_ptr<CodeExecProvider> {
            return DockerCodeExec::from_dockerfile(dockerfile, context, build_args, options);
        });
}

} // namespace stirrup
