#pragma once
// The library's HTTP/1.1 client: TLS over TCP, plain TCP and unix stream
// sockets, a keep-alive connection pool per (scheme, host, port), timeouts,
// retries with backoff, streaming bodies. Every layer above (LLM clients,
// Docker, E2B) talks HTTP through this.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/net/http_options.hpp"

namespace stirrup::net {

struct HttpRequest {
    std::string method = "GET";
    /// http://, https:// or unix:///path/to.sock:/request/path (the socket path,
    /// then the request target after the ':').
    std::string url;
    Headers headers;
    std::string body;
    std::optional<Milliseconds> timeout;
    /// Longest silence from the server: nullopt means Timeouts::idle.
    std::optional<Milliseconds> idle_timeout;
    /// Retries of this request: nullopt means the client's policy.
    std::optional<int> max_retries;
    /// The largest body request() accepts for this request: nullopt means
    /// the client's ResponseLimits::max_body_bytes.
    std::optional<std::size_t> max_body_bytes;
};

struct HttpResponse {
    int status = 0;
    Headers headers;
    std::string body;
    /// Attempts made (1 + retries).
    int attempts = 1;

    /// First header with this name (case-insensitive).
    std::optional<std::string_view> header(std::string_view name) const;
};

/// Failures of HTTP itself (besides the socket's and TLS's own codes).
enum class HttpErrc {
    /// A proxy answered CONNECT with a non-2xx status.
    proxy_refused = 1,
    /// The peer sent something that is not a valid HTTP answer where one was due.
    bad_response,
    /// A body past ResponseLimits::max_body_bytes (or the request's override).
    body_too_large,
    /// A header past ResponseLimits::max_header_bytes.
    header_too_large,
};

const std::error_category& http_category() noexcept;
std::error_code make_error_code(HttpErrc e) noexcept;

/// The transport failed: DNS, connect, TLS, a reset, a timeout. `code()` holds
/// the cause (e.g. asio::error::timed_out); what() names the host.
/// Cancellation is not a transport error: it throws Asio's own
/// boost::system::system_error(asio::error::operation_aborted).
class HttpTransportError : public SystemError {
public:
    using SystemError::SystemError;
};

/// The server's certificate was refused (expired, unknown CA, another
/// host...); what() says why. Not retried: another handshake gets the same
/// certificate.
class HttpCertificateRefused : public HttpTransportError {
public:
    using HttpTransportError::HttpTransportError;
};

/// The server answered more than ResponseLimits allows. `code()` is
/// HttpErrc::body_too_large or header_too_large; what() names the origin and
/// the limit. Not a transport error, so neither retried nor reported as an
/// unreachable server; the response's connection is closed, not pooled.
class HttpResponseTooLarge : public SystemError {
public:
    HttpResponseTooLarge(HttpErrc which, int status, std::size_t limit, const std::string& what);
    /// The response's status, 0 when its header was the part too large.
    int status() const noexcept { return status_; }
    std::size_t limit() const noexcept { return limit_; }

private:
    int status_ = 0;
    std::size_t limit_ = 0;
};

/// A response body read incrementally (chunked or not). Reading after the
/// end returns an empty optional. Destroying the stream before the end closes
/// its connection instead of returning it to the pool.
class HttpStream {
public:
    HttpStream(HttpStream&&) noexcept;
    HttpStream& operator=(HttpStream&&) noexcept;
    ~HttpStream();

    int status() const noexcept;
    const Headers& headers() const noexcept;
    std::optional<std::string_view> header(std::string_view name) const;

    /// The next piece of the body, or nullopt at its end. Throws
    /// HttpTransportError when the connection drops or stays silent longer
    /// than the idle timeout (the request timeout bounds a stream only until
    /// its headers arrive: a long generation is not an error).
    boost::asio::awaitable<std::optional<std::string>> read_some();

    struct Impl;
    explicit HttpStream(std::unique_ptr<Impl> impl);

private:
    std::unique_ptr<Impl> impl_;
};

struct HttpClientStats {
    std::uint64_t connections_opened = 0;
    std::uint64_t tls_handshakes = 0;
    std::uint64_t requests_sent = 0;
    std::uint64_t retries = 0;
    /// Connection opens that waited for PoolOptions::max_opening, and the
    /// longest such queue.
    std::uint64_t opens_queued = 0;
    std::size_t opens_peak_waiting = 0;
};

class HttpClient {
public:
    explicit HttpClient(boost::asio::any_io_executor ex, HttpClientOptions options = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Sends a request and reads the whole response. Retries connection
    /// errors, 408, 409, 429 and 5xx (honouring Retry-After and
    /// x-should-retry) within the retry budget; returns the last response
    /// otherwise, whatever its status. Cancellation (the caller's slot) closes
    /// only this request's connection and throws operation_aborted.
    boost::asio::awaitable<HttpResponse> request(HttpRequest req);

    /// Sends a request and returns once the response headers arrived; the
    /// body is read from the stream. Retries happen only before the headers.
    boost::asio::awaitable<HttpStream> stream(HttpRequest req);

    HttpClientStats stats() const;
    const HttpClientOptions& options() const noexcept;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace stirrup::net

template <>
struct std::is_error_code_enum<stirrup::net::HttpErrc> : std::true_type {
};
