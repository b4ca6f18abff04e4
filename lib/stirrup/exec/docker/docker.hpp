#pragma once
// The Docker backend: one long-lived container per session, commands run in
// it with exec (wrapped in coreutils `timeout`, as Stirrup does), files moved
// through a bind-mounted host directory (local engine) or as tar archives
// through the engine's archive API (any engine, local or remote). Every
// container is labelled with its owner so that reap_orphans can remove what
// a crashed process left behind.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/creation_gate.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup::detail::docker {
class Client;
struct Endpoint;
} // namespace stirrup::detail::docker

namespace stirrup::docker {

/// The Docker Engine API client (its calls are internal): share one between
/// providers through DockerCodeExecOptions::client; make one with
/// client_from_env.
using Client = detail::docker::Client;

/// The engine answered with an error status. what() names the call and
/// quotes the engine's message; a plain-text body is kept as it came.
class ApiError : public Error {
public:
    ApiError(int status, std::string engine_message, const std::string& call);
    int status() const noexcept { return status_; }
    /// The engine's {"message"} (or its plain-text body), trimmed.
    const std::string& engine_message() const noexcept { return engine_message_; }

private:
    int status_;
    std::string engine_message_;
};

/// The engine could not be reached, or the connection to it broke or timed
/// out mid-call. code() holds the transport's cause.
class EngineUnavailableError : public SystemError {
public:
    using SystemError::SystemError;
};

/// The engine reported a failure inside a 200 JSON-message stream (a pull
/// or build that failed), or the stream ended without its final message.
class StreamFailure : public Error {
public:
    using Error::Error;
};

struct ClientOptions {
    /// Control calls (ping, inspect, create, start, remove, list, exec create
    /// and inspect, archive stat), from connecting to the last byte. An
    /// engine that is paused or hung costs this much per call, so it is short:
    /// the engine answers these in milliseconds when it is well.
    std::chrono::milliseconds control_timeout{std::chrono::seconds(30)};
    /// Archive uploads (their time grows with their size), and the wait for
    /// a streaming call's headers (exec output, pull, build, archive
    /// downloads), from connecting to the last byte.
    std::chrono::milliseconds request_timeout{std::chrono::seconds(120)};
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    /// Longest silence inside a pull, build or archive download (exec
    /// output is bounded by the command's own timeout instead).
    std::chrono::milliseconds stream_idle_timeout{std::chrono::minutes(30)};
    /// Highest and lowest API versions spoken.
    std::string max_api_version = "1.44";
    std::string min_api_version = "1.40";
    /// Use this version without asking /_ping (DOCKER_API_VERSION).
    std::optional<std::string> pinned_api_version;
};

/// A client for the engine the environment names (DOCKER_HOST,
/// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION).
std::shared_ptr<Client> client_from_env(boost::asio::any_io_executor ex, ClientOptions options = {});

} // namespace stirrup::docker

namespace stirrup {

enum class DockerFileMode {
    /// Bind mount when the engine is reached over a unix socket, else archive.
    automatic,
    /// A host temp dir mounted at working_dir (the engine must see this
    /// host's file system). Stirrup's only mode.
    bind_mount,
    /// No mount: files move as tar archives through /containers/{id}/archive.
    archive,
};

struct DockerCodeExecOptions : CodeExecOptions {
    /// The container's working directory; commands run there and relative
    /// paths are resolved against it. A trailing '/' is dropped.
    std::string working_dir = "/workspace";
    /// Names of variables forwarded into the container, from the process
    /// environment or else from ./.env (see load_dotenv).
    std::vector<std::string> env_vars;
    /// Read ./.env for env_vars missing from the process environment, as
    /// Stirrup's load_dotenv() does (without changing the process environment).
    bool load_dotenv = true;
    /// Where the bind-mounted temp dir is created; default: the system temp dir.
    std::optional<std::filesystem::path> temp_base_dir;
    /// Limits Stirrup lacks. Memory in bytes (swap limited to the same);
    /// cpus as a fraction of CPUs (1.5 = one and a half); pids counts every
    /// process in the container, execs included.
    std::optional<std::int64_t> memory_bytes;
    std::optional<double> cpus;
    std::optional<std::int64_t> pids_limit;
    /// HostConfig.NetworkMode: "none" (no network), "bridge", "host", a
    /// network name. Builds from a Dockerfile use it for their RUN steps too.
    std::string network_mode = "none";
    /// "uid[:gid]" or a user name known to the image; "" keeps the image's.
    std::string user;
    /// Extra labels on the container (the stirrup.* ones are always set).
    std::map<std::string, std::string> labels;
    DockerFileMode file_mode = DockerFileMode::automatic;
    /// Run docker-init (tini) as PID 1 so that killed processes are reaped.
    bool init = true;
    /// Shared between providers to bound container creations per period and
    /// containers alive at once (the permit is held until the container is
    /// removed); nullptr: no gate.
    std::shared_ptr<CreationGate> creation_gate;
    /// The engine to use; default: Client::from_env on the start executor.
    std::shared_ptr<docker::Client> client;
    /// The code_exec tool's description; default: Stirrup's text.
    std::optional<std::string> description;
};

class DockerCodeExec final : public CodeExecProvider {
public:
    /// Stirrup's from_image: the image is pulled when the engine lacks it
    /// (pulls of one name are serialized process-wide).
    static std::unique_ptr<DockerCodeExec> from_image(std::string image, DockerCodeExecOptions options = {});
    /// Stirrup's from_dockerfile: built at start (tag
    /// stirrup-exec-env-<md5 of the Dockerfile's path>), with `context`
    /// defaulting to the Dockerfile's directory.
    static std::unique_ptr<DockerCodeExec> from_dockerfile(std::filesystem::path dockerfile,
                                                           std::optional<std::filesystem::path> context = std::nullopt,
                                                           std::map<std::string, std::string> build_args = {},
                                                           DockerCodeExecOptions options = {});

    /// A provider destroyed while started removes its container and temp dir
    /// in the background, and warns that stop() was not awaited.
    ~DockerCodeExec() override;

    /// The container's full ID while started.
    const std::optional<std::string>& container_id() const noexcept { return container_id_; }
    /// The bind-mounted host directory while started (bind mode only).
    const std::optional<std::filesystem::path>& temp_dir() const noexcept { return temp_dir_; }
    /// The image the container runs (after start: the built tag for a Dockerfile).
    const std::string& image() const noexcept { return image_; }
    /// The stirrup.session label of this provider's container.
    const std::string& session_id() const noexcept { return session_id_; }
    /// Whether files go through a bind mount (decided at start).
    bool bind_mounted() const noexcept { return bind_mode_; }
    const DockerCodeExecOptions& docker_options() const noexcept { return docker_options_; }

    awaitable<std::string> read_file(std::string path) override;
    awaitable<void> write_file(std::string path, std::string data) override;
    awaitable<bool> file_exists(std::string path) override;
    awaitable<bool> is_directory(std::string path) override;
    awaitable<std::vector<std::string>> list_files(std::string dir) override;

    std::vector<OutputSourceRoot> output_source_roots() const override;
    std::string code_exec_description() const override;

protected:
    awaitable<void> do_start() override;
    awaitable<void> do_stop() override;
    awaitable<CommandResult> execute(PreparedCommand cmd, Milliseconds timeout) override;
    awaitable<std::string> resolve_output_source(std::string path) override;
    const detail::HostFiles* host_files() const override;
    awaitable<std::uint64_t> read_file_to(std::string path, FileSink& sink) override;
    awaitable<void> upload_host_files(std::span<const detail::UploadItem> items, UploadFilesResult& result) override;
    std::string uploaded_dest_path(const std::string& dest) const override;

private:
    struct Source {
        std::string image;
        std::optional<std::filesystem::path> dockerfile;
        std::optional<std::filesystem::path> context;
        std::map<std::string, std::string> build_args;
    };
    /// A path inside the container after following its symlinks.
    struct ContainerPath; // defined in files.cpp

    DockerCodeExec(Source source, DockerCodeExecOptions options);

    std::optional<std::string> container_to_remove() const;
    awaitable<void> prepare_image();
    awaitable<void> prepare_owner();
    boost::json::object container_config(const std::vector<std::string>& env) const;
    /// Runs a helper exec (as root unless `user` says otherwise) and returns
    /// its exit code and stdout; for the backend's own housekeeping.
    awaitable<std::pair<int, std::string>> run_helper(std::vector<std::string> argv, std::string user = "0");
    awaitable<void> kill_exec_processes(const std::string& marker);

    // Bind mode: the mount through its descriptor, with Stirrup's
    // container-to-host path mapping.
    const detail::HostFiles& bind_files() const;
    // Archive mode.
    std::string container_path(const std::string& path) const;
    awaitable<ContainerPath> resolve_in_container(const std::string& path);
    awaitable<std::string> archive_read(const std::string& original, const ContainerPath& p);
    awaitable<void> archive_write(const std::string& original, const ContainerPath& p, std::string data);

    Source source_;
    DockerCodeExecOptions docker_options_;
    std::shared_ptr<docker::Client> client_;
    /// The engine's address (for the destructor's background cleanup).
    std::shared_ptr<const detail::docker::Endpoint> endpoint_;
    std::string session_id_;
    std::string image_;
    bool bind_mode_ = false;
    std::optional<std::string> container_id_;
    bool create_attempted_ = false;
    std::optional<std::filesystem::path> temp_dir_;
    std::filesystem::path canonical_root_;
    std::shared_ptr<const detail::HostFiles> files_;
    /// This container's place under the creation gate's live limit.
    CreationPermit permit_;
    /// Owner given to files written in archive mode.
    std::uint32_t owner_uid_ = 0, owner_gid_ = 0;
};

/// The tag from_dockerfile builds `dockerfile` as (Stirrup's naming: the
/// first 8 hex digits of the MD5 of its absolute path). The image stays after
/// the session, as a cache for the next one; remove it with this name.
std::string dockerfile_image_tag(const std::filesystem::path& dockerfile);

/// Removes containers labelled org.stirrup=1 whose owner process (label
/// stirrup.owner = "<pid>@<hostname>", on this host) no longer runs.
/// Containers owned from other hosts are left alone. Returns the IDs removed;
/// their bind-mounted host directories (docker_exec_env_*) are removed too.
awaitable<std::vector<std::string>> reap_orphans(docker::Client& client);

/// What reap_orphans_with_directories removed.
struct DockerReapResult {
    std::vector<std::string> removed;               ///< container IDs
    std::vector<std::filesystem::path> directories; ///< their host directories
    std::vector<std::string> errors;                ///< directories that could not be removed, and why
};

/// reap_orphans, reporting also the host directories it removed: each
/// reaped container's bind-mounted docker_exec_env_* directory (the bind
/// mode's workspace), removed once the container is gone. reap_orphans
/// removes them too.
awaitable<DockerReapResult> reap_orphans_with_directories(docker::Client& client);

/// A provider of Docker containers from an image (Stirrup's
/// DockerCodeExecToolProvider.from_image): one container per session.
std::shared_ptr<CodeExecToolProvider> docker_code_exec(std::string image, DockerCodeExecOptions options = {});

/// Same, from a Dockerfile built when a session starts (Stirrup's from_dockerfile).
std::shared_ptr<CodeExecToolProvider> docker_code_exec_from_dockerfile(
    std::filesystem::path dockerfile, std::optional<std::filesystem::path> context = std::nullopt,
    std::map<std::string, std::string> build_args = {}, DockerCodeExecOptions options = {});

} // namespace stirrup
