#pragma once
// One HTTP/1.1 connection: TCP, TLS over TCP (possibly through a CONNECT
// proxy) or a unix stream socket, behind one interface. Every operation takes
// a deadline, enforced by the Beast stream's expiry (the socket is closed
// when it passes). Internal to the library.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "stirrup/net/detail/proxy.hpp"
#include "stirrup/net/detail/tls_stream.hpp"
#include "stirrup/net/detail/url.hpp"
#include "stirrup/net/http_options.hpp"

namespace stirrup::net::detail {

using SteadyTime = std::chrono::steady_clock::time_point;
using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;
using ResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

struct ClientCounters {
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::uint64_t> tls_handshakes{0};
    std::atomic<std::uint64_t> requests_sent{0};
    std::atomic<std::uint64_t> retries{0};
};

struct ConnectSettings {
    const Url* url = nullptr;
    const std::optional<ProxyEndpoint>* proxy = nullptr;
    boost::asio::ssl::context* tls = nullptr;
    bool verify = true;
    const Timeouts* timeouts = nullptr;
    ClientCounters* counters = nullptr;
    /// Reach a plain-HTTP URL through the proxy with a CONNECT tunnel too,
    /// instead of sending the proxy absolute-form requests: for a protocol
    /// the proxy must not read (WebSocket).
    bool tunnel_plain = false;
};

/// `now + d` without overflowing for huge durations.
SteadyTime deadline_after(Milliseconds d);

class Connection {
public:
    using UnixStream = boost::beast::basic_stream<boost::asio::local::stream_protocol>;

    /// Connects (and tunnels, and handshakes) by `deadline` at the latest.
    /// Throws HttpTransportError.
    static boost::asio::awaitable<std::unique_ptr<Connection>> open(boost::asio::any_io_executor ex,
                                                                    const ConnectSettings& s, SteadyTime deadline);

    boost::asio::awaitable<void> write(RequestMessage& req, SteadyTime deadline);
    /// Reads fail after `deadline`, or after `idle` without a byte from the
    /// peer, whichever comes first (asio::error::timed_out; what() says which).
    boost::asio::awaitable<void> read_header(ResponseParser& parser, SteadyTime deadline, Milliseconds idle);
    /// Reads what is available of the body into the parser's buffer_body.
    boost::asio::awaitable<void> read_some(ResponseParser& parser, SteadyTime deadline, Milliseconds idle);

    /// Closes the socket now; pending operations complete with an error.
    void close() noexcept;
    bool is_open() const noexcept;
    /// Whether the peer closed (or sent unexpected bytes on) an idle
    /// connection, checked without blocking.
    bool peer_closed_while_idle() const noexcept;
    /// Gives back the read buffer while the connection waits in the pool.
    void release_idle_memory() noexcept;

    /// f(stream) with the open stream (a tcp_stream, TlsStream or
    /// UnixStream), for a protocol that takes the connection over (WebSocket).
    template <class F>
    decltype(auto) visit_stream(F&& f)
    {
        return std::visit(std::forward<F>(f), stream_);
    }

    SteadyTime last_used{};
    boost::beast::flat_buffer buffer;
    /// "https://host:port" (or the socket path), for error messages.
    std::string origin;

private:
    class BoundedReads;

    template <class S>
    explicit Connection(std::in_place_type_t<S> t, auto&&... args) : stream_(t, std::forward<decltype(args)>(args)...)
    {
    }
    int native_handle() const noexcept;
    void expire_at(SteadyTime t);

    std::variant<boost::beast::tcp_stream, TlsStream, UnixStream> stream_;
};

} // namespace stirrup::net::detail
