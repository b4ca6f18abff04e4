#include "stirrup/net/detail/connection.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/net/detail/tls_context.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup::net::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Beast reports an expired stream as its own code; callers match on the
// portable one.
boost::system::error_code portable(boost::system::error_code ec)
{
    if (ec == beast::error::timeout)
        return asio::error::timed_out;
    return ec;
}

[[noreturn]] void fail(std::error_code ec, const std::string& origin, std::string_view phase)
{
    throw HttpTransportError(ec, origin + ": " + std::string(phase));
}

[[noreturn]] void fail(boost::system::error_code ec, const std::string& origin, std::string_view phase)
{
    fail(std::error_code(portable(ec)), origin, phase);
}

std::string describe(const Url& url)
{
    if (url.scheme == Scheme::unix_socket)
        return "unix://" + url.socket_path;
    return std::string(to_string(url.scheme)) + "://" + url.authority();
}

SteadyTime earlier(SteadyTime a, Milliseconds b)
{
    return std::min(a, deadline_after(b));
}

asio::awaitable<void> connect_tcp(beast::tcp_stream& stream, const std::string& host, std::uint16_t port,
                                  SteadyTime deadline, const std::string& origin)
{
    tcp::resolver resolver(stream.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
    if (rec)
        fail(rec, origin, "resolving " + host);
    stream.expires_at(deadline);
    auto [cec, ep] = co_await stream.async_connect(results, use_tuple);
    if (cec)
        fail(cec, origin, "connecting to " + host + ":" + std::to_string(port));
}

// Opens a tunnel with CONNECT (RFC 9110 section 9.3.6).
asio::awaitable<void> tunnel(beast::tcp_stream& stream, beast::flat_buffer& buffer, const Url& url,
                             const ProxyEndpoint& proxy, SteadyTime deadline, const std::string& origin)
{
    http::request<http::empty_body> req{http::verb::connect, url.authority(), 11};
    req.set(http::field::host, url.authority());
    if (!proxy.authorization.empty())
        req.set(http::field::proxy_authorization, proxy.authorization);
    stream.expires_at(deadline);
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec)
        fail(wec, origin, "sending CONNECT to the proxy");
    http::response_parser<http::empty_body> parser;
    parser.skip(true); // a 2xx answer to CONNECT has no body: the tunnel follows
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec)
        fail(rec, origin, "reading the proxy's CONNECT answer");
    const int status = parser.get().result_int();
    if (status / 100 != 2)
        fail(make_error_code(HttpErrc::proxy_refused), origin,
             "proxy " + proxy.host + ":" + std::to_string(proxy.port) + " answered CONNECT with " +
                 std::to_string(status));
    if (buffer.size() != 0)
        fail(make_error_code(HttpErrc::bad_response), origin, "proxy sent bytes before the TLS handshake");
}

} // namespace

SteadyTime deadline_after(Milliseconds d)
{
    const auto now = std::chrono::steady_clock::now();
    const auto room = std::chrono::duration_cast<Milliseconds>(SteadyTime::max() - now);
    return d >= room ? SteadyTime::max() : now + d;
}

asio::awaitable<std::unique_ptr<Connection>> Connection::open(asio::any_io_executor ex, const ConnectSettings& s,
                                                              SteadyTime deadline)
{
    const Url& url = *s.url;
    const auto& proxy = *s.proxy;
    const std::string origin = describe(url);
    // A strand per connection: the stream's expiry timer and its I/O must not
    // run concurrently when the io_context has several threads.
    auto strand = asio::make_strand(ex);
    std::unique_ptr<Connection> c;
    const SteadyTime connect_by = earlier(deadline, s.timeouts->connect);

    if (url.scheme == Scheme::unix_socket) {
        c.reset(new Connection(std::in_place_type<UnixStream>, strand));
        auto& stream = std::get<UnixStream>(c->stream_);
        stream.expires_at(connect_by);
        auto [ec] = co_await stream.async_connect(asio::local::stream_protocol::endpoint(url.socket_path), use_tuple);
        if (ec)
            fail(ec, origin, "connecting");
        s.counters->connections_opened.fetch_add(1, std::memory_order_relaxed);
    } else if (url.scheme == Scheme::http) {
        c.reset(new Connection(std::in_place_type<beast::tcp_stream>, strand));
        auto& stream = std::get<beast::tcp_stream>(c->stream_);
        if (proxy)
            co_await connect_tcp(stream, proxy->host, proxy->port, connect_by, origin);
        else
            co_await connect_tcp(stream, url.host, url.port, connect_by, origin);
        s.counters->connections_opened.fetch_add(1, std::memory_order_relaxed);
        if (proxy && s.tunnel_plain)
            co_await tunnel(stream, c->buffer, url, *proxy, connect_by, origin);
    } else {
        c.reset(new Connection(std::in_place_type<TlsStream>, strand, *s.tls));
        auto& stream = std::get<TlsStream>(c->stream_);
        auto& tcp_layer = beast::get_lowest_layer(stream);
        if (proxy) {
            co_await connect_tcp(tcp_layer, proxy->host, proxy->port, connect_by, origin);
            s.counters->connections_opened.fetch_add(1, std::memory_order_relaxed);
            co_await tunnel(tcp_layer, c->buffer, url, *proxy, connect_by, origin);
        } else {
            co_await connect_tcp(tcp_layer, url.host, url.port, connect_by, origin);
            s.counters->connections_opened.fetch_add(1, std::memory_order_relaxed);
        }
        configure_tls_connection(stream.native_handle(), url.host, s.verify);
        tcp_layer.expires_at(earlier(deadline, s.timeouts->tls_handshake));
        s.counters->tls_handshakes.fetch_add(1, std::memory_order_relaxed);
        auto [ec] = co_await stream.async_handshake(use_tuple);
        if (ec) {
            // OpenSSL's error says only "certificate verify failed"; the
            // reason (expired, unknown CA, name mismatch) is what a user acts on.
            const std::string refusal = stream.engine().certificate_refusal();
            if (!refusal.empty())
                throw HttpCertificateRefused(std::error_code(portable(ec)), origin + ": TLS handshake with " +
                                                                                url.host + ", certificate refused (" +
                                                                                refusal + ")");
            fail(ec, origin, "TLS handshake with " + url.host);
        }
    }
    c->origin = origin;
    c->last_used = std::chrono::steady_clock::now();
    co_return c;
}

void Connection::expire_at(SteadyTime t)
{
    std::visit([&](auto& s) { beast::get_lowest_layer(s).expires_at(t); }, stream_);
}

// The connection as the stream Beast's header and body reads read from,
// with a fresh expiry before every read of the socket: the earlier of the
// deadline and `idle` from now. An expiry set once per Beast read would also
// cut a header that arrives slowly but steadily, since Beast reads a header
// in as many socket reads as it takes to come. (Over TLS a record that
// arrives in pieces counts as one read.)
class Connection::BoundedReads {
public:
    using executor_type = asio::any_io_executor;

    BoundedReads(Connection& c, SteadyTime deadline, Milliseconds idle) : c_(c), deadline_(deadline), idle_(idle) {}

    executor_type get_executor() noexcept
    {
        return std::visit([](auto& s) -> executor_type { return s.get_executor(); }, c_.stream_);
    }

    // For Beast's composed reads, which pass a handler (not a token).
    template <class MutableBuffers, class Handler>
    void async_read_some(const MutableBuffers& buffers, Handler&& handler)
    {
        const SteadyTime quiet = deadline_after(idle_);
        idle_bound_ = quiet < deadline_;
        c_.expire_at(idle_bound_ ? quiet : deadline_);
        std::visit([&](auto& s) { s.async_read_some(buffers, std::forward<Handler>(handler)); }, c_.stream_);
    }

    // `phase`, and for a timeout which of the two bounds ran out.
    std::string failed(std::string phase, boost::system::error_code ec) const
    {
        if (ec != beast::error::timeout)
            return phase;
        if (idle_bound_)
            return phase + ": no data from the server for " + stirrup::detail::text::seconds_text(idle_) +
                   " s (the idle timeout)";
        return phase + ": the request timeout ran out";
    }

private:
    Connection& c_;
    SteadyTime deadline_;
    Milliseconds idle_;
    bool idle_bound_ = false;
};

asio::awaitable<void> Connection::write(RequestMessage& req, SteadyTime deadline)
{
    expire_at(deadline);
    auto [ec, n] = co_await std::visit([&](auto& s) { return http::async_write(s, req, use_tuple); }, stream_);
    if (ec)
        fail(ec, origin, "sending the request");
}

asio::awaitable<void> Connection::read_header(ResponseParser& parser, SteadyTime deadline, Milliseconds idle)
{
    BoundedReads reads(*this, deadline, idle);
    auto [ec, n] = co_await http::async_read_header(reads, buffer, parser, use_tuple);
    // A header past the parser's limit is the server's excess, not a broken
    // transport: the client reports it as such instead of retrying it.
    if (ec == http::error::header_limit)
        fail(make_error_code(HttpErrc::header_too_large), origin, "reading the response header");
    if (ec)
        fail(ec, origin, reads.failed("reading the response header", ec));
}

asio::awaitable<void> Connection::read_some(ResponseParser& parser, SteadyTime deadline, Milliseconds idle)
{
    BoundedReads reads(*this, deadline, idle);
    auto [ec, n] = co_await http::async_read_some(reads, buffer, parser, use_tuple);
    // buffer_body reports a full caller buffer as need_buffer: not an error.
    if (ec && ec != http::error::need_buffer)
        fail(ec, origin, reads.failed("reading the response body", ec));
}

int Connection::native_handle() const noexcept
{
    return std::visit(
        [](auto& s) -> int {
            auto& sock = beast::get_lowest_layer(const_cast<std::remove_cvref_t<decltype(s)>&>(s)).socket();
            return sock.is_open() ? static_cast<int>(sock.native_handle()) : -1;
        },
        stream_);
}

void Connection::close() noexcept
{
    std::visit(
        [](auto& s) {
            boost::system::error_code ignored;
            auto& sock = beast::get_lowest_layer(s).socket();
            sock.shutdown(asio::socket_base::shutdown_both, ignored);
            sock.close(ignored);
        },
        stream_);
}

void Connection::release_idle_memory() noexcept
{
    // Thousands of pooled connections each keeping the capacity of their
    // largest header read add up; a drained buffer costs nothing to regrow.
    if (buffer.size() == 0)
        buffer.shrink_to_fit();
}

bool Connection::is_open() const noexcept
{
    return native_handle() >= 0;
}

bool Connection::peer_closed_while_idle() const noexcept
{
    const int fd = native_handle();
    if (fd < 0)
        return true;
    if (buffer.size() != 0)
        return true;
    char byte;
    const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // EOF, an error, or bytes nobody asked for (a TLS close_notify, a stray
    // response): none of these connections can carry a new request.
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

} // namespace stirrup::net::detail
