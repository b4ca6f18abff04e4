#pragma once
// A thin client of E2B over the library's HTTP client: the control plane
// (create, kill, set lifetime) and one sandbox's envd (process stream,
// SendSignal, Stat, ListDir, /files). E2B's answers become typed errors with
// a category; nothing here knows about agents or the backend contract.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stirrup/core/awaitable.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/e2b/detail/rules.hpp"
#include "stirrup/exec/e2b/e2b.hpp"

namespace stirrup::net {
class HttpClient;
class HttpStream;
} // namespace stirrup::net

namespace stirrup::detail::e2b {

// The errors users catch are public (e2b.hpp).
using stirrup::e2b::E2BError;
using stirrup::e2b::ErrorCategory;
using stirrup::e2b::to_string;

struct ClientOptions {
    /// Every request but a process stream's body: connect to last byte.
    Milliseconds request_timeout{std::chrono::seconds(180)};
    /// Retries of a create answered 429 (after Retry-After) or 502/503/504.
    int max_create_retries = 3;
    /// A longer Retry-After is not waited for: the 429 becomes the error.
    Milliseconds max_retry_after{std::chrono::seconds(30)};
    /// First backoff of a 5xx retry; doubles each time.
    Milliseconds initial_backoff{500};
};

/// The control plane.
class ControlPlane {
public:
    ControlPlane(std::shared_ptr<net::HttpClient> http, Endpoints endpoints, ClientOptions options = {});

    /// POST /sandboxes, expecting 201. Retries 429 (honouring Retry-After)
    /// and 502/503/504, never a failed connection (the sandbox may exist).
    awaitable<SandboxInfo> create(CreateRequest request);
    /// DELETE /sandboxes/{id}: true when killed, false when it was already
    /// gone (404).
    awaitable<bool> kill(std::string sandbox_id);
    /// POST /sandboxes/{id}/timeout: the sandbox now lives `seconds` from now.
    awaitable<void> set_timeout(std::string sandbox_id, std::int64_t seconds);

    const Endpoints& endpoints() const noexcept { return endpoints_; }

private:
    std::shared_ptr<net::HttpClient> http_;
    Endpoints endpoints_;
    ClientOptions options_;
};

/// One sandbox's envd.
class Envd {
public:
    Envd(std::shared_ptr<net::HttpClient> http, std::string base_url, HeaderList headers, std::string envd_version,
         Milliseconds request_timeout);

    /// POST /process.Process/Start with `request_json` (a StartRequest):
    /// returns the stream once envd answered 200 with the Connect streaming
    /// content type. `command_timeout` goes in Connect-Timeout-Ms (envd kills
    /// the process then); zero sends none.
    awaitable<net::HttpStream> start_process(std::string request_json, Milliseconds command_timeout);
    /// SendSignal; false when envd knows no such process.
    awaitable<bool> send_signal(std::string request_json);
    /// Stat; nullopt when the path does not exist.
    awaitable<std::optional<EntryInfo>> stat(std::string path);
    /// ListDir to `depth`; nullopt when the directory does not exist or is
    /// not a directory.
    awaitable<std::optional<std::vector<EntryInfo>>> list_dir(std::string path, std::uint32_t depth);
    /// GET /files; FileNotFoundError when missing, PathError for a directory,
    /// FileTooLargeError past `max_bytes`.
    awaitable<std::string> read_file(std::string path, std::uint64_t max_bytes);
    /// GET /files streamed to `data` piece by piece, at most `max_bytes`
    /// (FileTooLargeError past it, the connection then closed). Same errors
    /// as read_file. Returns the size.
    awaitable<std::uint64_t> read_file_to(std::string path, std::uint64_t max_bytes,
                                          std::function<void(std::string_view)> data);
    /// POST /files (octet-stream from envd 0.5.7, multipart before).
    awaitable<void> write_file(std::string path, std::string data);

    const std::string& base_url() const noexcept { return base_url_; }

private:
    awaitable<std::string> unary(std::string method, std::string body, bool* not_found);

    std::shared_ptr<net::HttpClient> http_;
    std::string base_url_;
    HeaderList headers_;
    std::string envd_version_;
    Milliseconds request_timeout_;
};

/// The E2BError for an envd answer that is not 200 (`what`: the call).
E2BError envd_error(int status, std::string_view body, std::string_view what);

} // namespace stirrup::detail::e2b
