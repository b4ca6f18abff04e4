#pragma once
// A thin client of the Docker Engine API over the library's HTTP client: the
// calls the Docker backend needs, typed, with the engine's errors turned into
// exceptions that carry its message. The API version is negotiated once from
// GET /_ping. Requests are never retried: the engine's POSTs are not
// idempotent (a retried create makes a second container).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "stirrup/core/awaitable.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker/detail/endpoint.hpp"
#include "stirrup/exec/docker/detail/frames.hpp"
#include "stirrup/exec/docker/detail/messages.hpp"
#include "stirrup/exec/docker/detail/tar_archive.hpp"
#include "stirrup/exec/docker/docker.hpp"

namespace stirrup::net {
class HttpClient;
}

namespace stirrup::detail::docker {

using Milliseconds = std::chrono::milliseconds;

// The errors and options users see are public (docker.hpp).
using stirrup::docker::ApiError;
using stirrup::docker::ClientOptions;
using stirrup::docker::EngineUnavailableError;
using stirrup::docker::StreamFailure;

struct ExecConfig {
    std::vector<std::string> cmd;
    /// Added to the container's environment ("NAME=value").
    std::vector<std::string> env;
    std::string working_dir;
    /// "" runs as the container's user.
    std::string user;
};

struct ExecState {
    /// Null while the exec has not finished (or never started).
    std::optional<int> exit_code;
    bool running = false;
    /// The process id on the engine's host (0 before start).
    std::int64_t pid = 0;
};

struct BuildParams {
    std::vector<std::string> tags;
    /// Path of the Dockerfile inside the context archive.
    std::string dockerfile = "Dockerfile";
    std::map<std::string, std::string> build_args;
    std::map<std::string, std::string> labels;
    /// Network of the RUN steps ("none" where the engine has no bridge).
    std::string network_mode;
    /// Receives each line of build output (the "stream" texts).
    std::function<void(std::string_view)> on_output;
};

/// Receives exec output as it arrives, in pieces that follow read() boundaries
/// of the engine's pipes, not lines.
using OutputSink = std::function<void(StreamId, std::string_view)>;

class Client {
public:
    Client(boost::asio::any_io_executor ex, Endpoint endpoint, ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// A client for the engine the environment names (DOCKER_HOST,
    /// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION).
    static std::shared_ptr<Client> from_env(boost::asio::any_io_executor ex, ClientOptions options = {});

    const Endpoint& endpoint() const noexcept { return endpoint_; }
    /// Whether the engine is reached over a unix socket (so, normally, runs
    /// on this host and sees its files and processes).
    bool is_local() const noexcept;

    /// The API version in use, asking /_ping the first time.
    awaitable<std::string> api_version();
    /// GET /_ping: throws when the engine does not answer.
    awaitable<void> ping();

    /// GET /images/{name}/json; nullopt when the image is not there.
    awaitable<std::optional<boost::json::object>> image_inspect(std::string name);
    /// POST /images/create: pulls NAME[:TAG] or NAME@DIGEST (":latest" when
    /// no tag), reading the progress stream to its end. Throws ApiError or
    /// StreamFailure with the engine's message.
    awaitable<void> pull(std::string image);
    /// POST /build with a tar context (classic builder, intermediate
    /// containers removed). Returns the image ID. A failing step throws
    /// StreamFailure naming it ("Step 2/3 : RUN false: The command ...").
    awaitable<std::string> build(std::string context_tar, BuildParams params);

    /// DELETE /images/{name}: untags it, and deletes it once no tag is
    /// left. False when there was no such image.
    awaitable<bool> image_remove(std::string name, bool force = false);

    /// POST /containers/create; returns the container ID.
    awaitable<std::string> container_create(boost::json::object config, std::string name = {});
    awaitable<void> container_start(std::string id);
    /// GET /containers/{id}/json; nullopt when there is no such container.
    awaitable<std::optional<boost::json::object>> container_inspect(std::string id);
    /// DELETE /containers/{id}. False when the container was already gone
    /// (or its removal already in progress).
    awaitable<bool> container_remove(std::string id, bool force = true, bool volumes = true);
    /// GET /containers/json?all=1 filtered by labels ("key" or "key=value",
    /// all must match).
    awaitable<boost::json::array> containers_by_label(std::vector<std::string> labels);

    /// POST /containers/{id}/exec (stdout and stderr attached, no TTY).
    awaitable<std::string> exec_create(std::string container_id, ExecConfig config);
    /// POST /exec/{id}/start and reads the multiplexed output to its end
    /// (the engine closes the connection when the process and its output
    /// are done). Throws FrameError for a stream cut mid-frame; cancellation
    /// closes the connection (which does NOT stop the process).
    awaitable<void> exec_start(std::string exec_id, OutputSink sink);
    /// GET /exec/{id}/json.
    awaitable<ExecState> exec_inspect(std::string exec_id);

    /// PUT /containers/{id}/archive?path=DIR: extracts a tar into an
    /// existing directory (never replacing a directory by a file).
    awaitable<void> archive_put(std::string container_id, std::string dir, std::string tar);
    /// GET /containers/{id}/archive?path=PATH, fed to `sink` as it arrives;
    /// the archive's root entry is the path's basename. Nullopt when the path
    /// does not exist, else its stat.
    awaitable<std::optional<PathStat>> archive_get(std::string container_id, std::string path,
                                                   detail::tar::ArchiveReader::Sink sink);
    /// HEAD /containers/{id}/archive?path=PATH; nullopt when it does not
    /// exist. A symlink is reported as such (not followed).
    awaitable<std::optional<PathStat>> archive_stat(std::string container_id, std::string path);

private:
    struct Reply;
    /// GET `path` (an inspect endpoint): the object, or nullopt on 404.
    awaitable<std::optional<boost::json::object>> inspect(std::string path, std::string what);
    awaitable<Reply> call(std::string method, std::string path, std::string body, std::string content_type,
                          std::string what);
    std::string url_for(std::string_view versioned_path) const;
    /// Reads a JSON-message stream (pull, build); throws StreamFailure.
    awaitable<std::vector<StreamMessage>> json_messages(std::string method, std::string path, std::string body,
                                                        std::string content_type, std::string what,
                                                        std::function<void(const StreamMessage&)> on_message);

    Endpoint endpoint_;
    ClientOptions options_;
    std::unique_ptr<net::HttpClient> http_;
    mutable std::mutex version_mutex_;
    std::string version_;
};

/// fromImage and tag of an image reference: "repo:tag", "host:5000/repo"
/// (tag latest), "repo@sha256:..." (digest, tag empty).
std::pair<std::string, std::string> split_image_reference(std::string_view image);

} // namespace stirrup::detail::docker
