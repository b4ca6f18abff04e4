#pragma once
// The HTTP client's option structs, apart from the client so that the pure
// rules (retry_rules, proxy) and their fuzz/unit builds need no Asio.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stirrup::net {

using Milliseconds = std::chrono::milliseconds;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct TlsOptions {
    /// Certificate and host-name verification. Turning it off is for tests only.
    bool verify = true;
    /// An extra CA bundle (PEM) trusted besides the system store. SSL_CERT_FILE
    /// is honoured as OpenSSL does.
    std::optional<std::string> ca_file;
    /// A client certificate (PEM, may hold the chain) and its private key, for
    /// servers that authenticate clients (a TLS Docker engine). Both or neither.
    std::optional<std::string> cert_file;
    std::optional<std::string> key_file;
};

struct Timeouts {
    Milliseconds connect{std::chrono::seconds(30)};
    Milliseconds tls_handshake{std::chrono::seconds(30)};
    /// The whole request, from the first connect attempt to the last body byte
    /// (per attempt). Per-request override: HttpRequest::timeout.
    Milliseconds request{std::chrono::seconds(600)};
    /// Longest silence from the server once the request is sent: waiting for
    /// the response's header, and between two reads of its body, streamed or
    /// not. A server that accepts a request and never answers fails the
    /// attempt after this (a transport error, retried as such), not after the
    /// whole `request` timeout; a slow answer that keeps coming is not cut.
    /// Per-request override: HttpRequest::idle_timeout.
    Milliseconds idle{std::chrono::seconds(120)};
};

struct RetryPolicy {
    /// Retries after the first attempt (the OpenAI SDK's default is 2).
    int max_retries = 2;
    Milliseconds initial_backoff{500};
    Milliseconds max_backoff{std::chrono::seconds(8)};
    /// Longest Retry-After honoured; a longer one is not retried.
    Milliseconds max_retry_after{std::chrono::seconds(60)};
};

struct PoolOptions {
    std::size_t max_connections_per_host = 64;
    /// A pooled connection unused this long is closed.
    Milliseconds idle_expiry{std::chrono::seconds(60)};
    /// Connections being opened (TCP connect, proxy tunnel, TLS handshake)
    /// at once by this client, across hosts; more wait their turn (FIFO,
    /// within their request timeout). A TLS handshake in progress holds about
    /// 40 KiB of OpenSSL state, an open connection about 20 KiB: without
    /// this bound, 10,000 requests started together against a slow server
    /// hold 400 MB in handshakes. 0: no limit.
    std::size_t max_opening = 2048;
};

/// Bounds on what one response may make the client buffer, so that a broken
/// or hostile server cannot grow the process without limit. A response past
/// them fails with HttpResponseTooLarge (not retried: the next attempt would
/// get the same answer) and its connection is closed.
struct ResponseLimits {
    /// The whole body HttpClient::request() collects. Streams (stream()) are
    /// read piece by piece and bounded by their reader instead. Per-request
    /// override: HttpRequest::max_body_bytes.
    std::size_t max_body_bytes = 64 * 1024 * 1024;
    /// The status line and header fields, streamed or not.
    std::size_t max_header_bytes = 64 * 1024;
};

struct HttpClientOptions {
    TlsOptions tls;
    Timeouts timeouts;
    RetryPolicy retry;
    PoolOptions pool;
    ResponseLimits limits;
    /// Use HTTPS_PROXY / https_proxy / HTTP_PROXY and NO_PROXY from the environment.
    bool use_env_proxy = true;
    std::string user_agent = "stirrup-cpp";
};

} // namespace stirrup::net
