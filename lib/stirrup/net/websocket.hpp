#pragma once
// A WebSocket client (RFC 6455) on the HTTP client's transports: ws:// over
// TCP, wss:// over the library's TLS, through the same CONNECT proxies. Made
// for MCP's WebSocket transport (subprotocol "mcp", one JSON-RPC message per
// text frame), usable for any text protocol.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/net/http_options.hpp"

namespace stirrup::net {

struct WebSocketOptions {
    /// Extra fields of the upgrade request (Authorization...).
    Headers headers;
    /// Offered in Sec-WebSocket-Protocol, in order of preference. When any is
    /// offered, the server must choose one of them, or connect() fails.
    std::vector<std::string> subprotocols;
    /// The TCP connection (and a proxy's tunnel).
    Milliseconds connect_timeout{std::chrono::seconds(30)};
    /// The TLS handshake, then the answer to the upgrade request (each).
    Milliseconds handshake_timeout{std::chrono::seconds(30)};
    /// A server silent this long is taken for dead: after half of it the
    /// client pings, and a live server answers (any frame counts) within the
    /// other half. Then pending and later receive() and send_text() fail with
    /// HttpTransportError(timed_out). 0: never (a vanished peer is then only
    /// noticed when TCP gives up).
    Milliseconds idle_timeout{std::chrono::seconds(60)};
    /// The largest message accepted; a larger one fails the connection.
    std::size_t max_message_bytes = 16 * 1024 * 1024;
    TlsOptions tls;
    /// Use HTTPS_PROXY (wss) / HTTP_PROXY (ws) and NO_PROXY from the
    /// environment: both through a CONNECT tunnel.
    bool use_env_proxy = true;
    /// How long close() waits for the server's answer to its close frame.
    Milliseconds close_timeout{std::chrono::seconds(5)};
    std::string user_agent = "stirrup-cpp";
};

/// The server did not accept the WebSocket upgrade: it answered with another
/// status than 101 (404, a 200 with a web page...), or with a 101 that is
/// not a valid WebSocket answer, or without one of the subprotocols offered.
/// what() names the origin, the status and the start of the body.
class WebSocketRefused : public SystemError {
public:
    WebSocketRefused(std::error_code ec, int status, const std::string& what);
    /// The HTTP status of the answer (101 for a bad or incomplete upgrade).
    int status() const noexcept { return status_; }

private:
    int status_ = 0;
};

/// The server broke the WebSocket protocol (a bad frame) or sent a message
/// larger than max_message_bytes (code(): beast::websocket::error::
/// message_too_big); the connection is closed. Not a transport error.
class WebSocketError : public SystemError {
public:
    using SystemError::SystemError;
};

/// One WebSocket connection, client side. A handle: movable, not copyable;
/// a default-constructed (or moved-from) one has no connection: close() and
/// cancel() do nothing on it, the other calls throw std::logic_error.
///
/// Messages are read ahead, as they come, into a queue of at most about
/// max_message_bytes (then reading pauses until receive() takes some): so
/// pings are answered and a close from the server is seen even while nobody
/// waits in receive(), and cancelling a receive() loses no message.
///
/// Safe when the io_context runs on several threads: every operation runs
/// on the connection's strand. Destroying the object closes the socket at
/// once, without a close handshake (call close() for one).
class WebSocket {
public:
    /// Connects, upgrades and checks the chosen subprotocol. `url`: ws:// or
    /// wss:// (host, optional port, path and query). Throws ConfigError for
    /// another URL, HttpTransportError when the connection or the TLS
    /// handshake fails or times out (code() the cause, what() naming the
    /// origin; HttpCertificateRefused for a refused certificate),
    /// WebSocketRefused when the server refuses the upgrade. Cancellation
    /// throws operation_aborted.
    static boost::asio::awaitable<WebSocket> connect(boost::asio::any_io_executor ex, std::string url,
                                                     WebSocketOptions options = {});

    WebSocket() noexcept;
    WebSocket(WebSocket&&) noexcept;
    WebSocket& operator=(WebSocket&&) noexcept;
    ~WebSocket();

    /// The subprotocol the server chose ("" when none was offered).
    std::string_view subprotocol() const;
    /// "wss://host:port", for messages.
    const std::string& origin() const;

    /// Sends one text message, as one frame. Concurrent calls are queued in
    /// call order, never interleaved. Throws HttpTransportError when the
    /// connection has failed or closed (code() websocket::error::closed
    /// after a close) or the write fails. Cancelling a send that waits for
    /// its turn only takes it out of the queue; cancelling one being written
    /// fails the connection (half a frame is on the wire).
    boost::asio::awaitable<void> send_text(std::string message);

    /// The next message, or nullopt once the server closed the connection
    /// cleanly (a close frame: then always nullopt). Binary messages are
    /// returned the same way, as their bytes (MCP sends text only). Throws
    /// HttpTransportError when the connection failed (dropped without a
    /// close frame, even mid-frame; idle timeout), WebSocketError for a
    /// message too large or a protocol violation. Messages received before
    /// a failure or close are returned first. Cancellation throws
    /// operation_aborted and leaves the connection and the queue intact.
    boost::asio::awaitable<std::optional<std::string>> receive();

    /// The close handshake (close code 1000), bounded by close_timeout, then
    /// the socket is closed. Never throws. A pending receive() then returns
    /// what was queued, then nullopt.
    boost::asio::awaitable<void> close();

    /// Closes the socket now, without a close handshake: pending and later
    /// receive() and send_text() throw operation_aborted.
    void cancel() noexcept;

    struct Impl;

private:
    explicit WebSocket(std::shared_ptr<Impl> impl) noexcept;
    Impl& impl() const;

    std::shared_ptr<Impl> impl_;
};

} // namespace stirrup::net
