#include "stirrup/net/websocket.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <list>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/coroutine.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/net/detail/connection.hpp"
#include "stirrup/net/detail/proxy.hpp"
#include "stirrup/net/detail/tls_context.hpp"
#include "stirrup/net/detail/url.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup::net::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;

// An open connection as the next layer of a beast::websocket::stream: reads
// and writes go to the stream inside (TCP, TLS or unix), so one websocket
// type serves them all.
class WsTransport {
public:
    using executor_type = asio::any_io_executor;

    WsTransport(std::unique_ptr<Connection> c, Milliseconds teardown_limit)
        : c_(std::move(c)), teardown_limit_(teardown_limit)
    {
    }

    executor_type get_executor() noexcept
    {
        return c_->visit_stream([](auto& s) -> executor_type { return s.get_executor(); });
    }

    template <class MutableBuffers, class Handler>
    void async_read_some(const MutableBuffers& buffers, Handler&& handler)
    {
        c_->visit_stream([&](auto& s) { s.async_read_some(buffers, std::forward<Handler>(handler)); });
    }

    template <class ConstBuffers, class Handler>
    void async_write_some(const ConstBuffers& buffers, Handler&& handler)
    {
        c_->visit_stream([&](auto& s) { s.async_write_some(buffers, std::forward<Handler>(handler)); });
    }

    Connection& connection() noexcept { return *c_; }

    // The end of a close handshake as RFC 6455 7.1.1 has a client end it:
    // read (and drop) until the server closes TCP, then close; at most
    // `teardown_limit`. Over TLS without a close_notify, which the close
    // frame makes redundant. Always succeeds: the close frames were
    // exchanged, how TCP ends is not the caller's concern.
    template <class Handler>
    void async_teardown(Handler&& handler)
    {
        c_->visit_stream([&](auto& s) {
            auto& lowest = beast::get_lowest_layer(s);
            lowest.expires_at(deadline_after(teardown_limit_));
            using Op = TeardownOp<std::remove_reference_t<decltype(lowest)>>;
            asio::async_compose<std::decay_t<Handler>, void(beast::error_code)>(Op{lowest}, handler, lowest);
        });
    }

private:
    template <class Stream>
    struct TeardownOp {
        Stream& s;
        // On the heap: the operation moves while a read into it is pending.
        std::unique_ptr<char[]> buffer = std::make_unique<char[]>(2048);
        asio::coroutine coro{};

        template <class Self>
        void operator()(Self& self, beast::error_code ec = {}, std::size_t = 0)
        {
            BOOST_ASIO_CORO_REENTER(coro)
            {
                // Beast 1.81's own teardown stops at the first read that
                // returns data: closing with the server's bytes unread
                // resets the connection, and the server may never see the
                // close frame.
                while (!ec) {
                    BOOST_ASIO_CORO_YIELD s.async_read_some(asio::buffer(buffer.get(), 2048), std::move(self));
                }
                s.expires_never();
                beast::error_code ignored;
                s.socket().shutdown(asio::socket_base::shutdown_both, ignored);
                s.socket().close(ignored);
                self.complete({});
            }
        }
    };

    std::unique_ptr<Connection> c_;
    Milliseconds teardown_limit_;
};

// What Beast calls to close the socket (its idle timeout, a failed close).
void beast_close_socket(WsTransport& t)
{
    t.connection().close();
}

// What Beast calls to end a close handshake.
template <class Handler>
void async_teardown(beast::role_type, WsTransport& t, Handler&& handler)
{
    t.async_teardown(std::forward<Handler>(handler));
}

void teardown(beast::role_type, WsTransport& t, beast::error_code& ec)
{
    t.connection().close();
    ec = {};
}

} // namespace stirrup::net::detail

namespace stirrup::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace wsb = boost::beast::websocket;

namespace websocket_impl {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// What one queued message counts for besides its bytes, so that a flood of
// empty messages is bounded too.
constexpr std::size_t message_overhead = 64;

// A Boost error code, or an enum of one, as the std::error_code our errors carry.
std::error_code std_code(boost::system::error_code ec)
{
    return ec;
}

[[noreturn]] void throw_aborted()
{
    throw boost::system::system_error(asio::error::operation_aborted);
}

bool cancelled(const asio::cancellation_state& cs)
{
    return cs.cancelled() != asio::cancellation_type::none;
}

bool starts_with_icase(std::string_view s, std::string_view prefix)
{
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

// ws:// and wss:// are http:// and https:// for everything but the scheme
// (RFC 6455 section 3).
detail::Url parse_ws_url(std::string_view text)
{
    std::string as_http;
    if (starts_with_icase(text, "ws://"))
        as_http = "http://" + std::string(text.substr(5));
    else if (starts_with_icase(text, "wss://"))
        as_http = "https://" + std::string(text.substr(6));
    else
        throw ConfigError("invalid WebSocket URL '" + std::string(text) + "': the scheme must be ws:// or wss://");
    try {
        return detail::parse_url(as_http);
    } catch (const ConfigError& e) {
        throw ConfigError("invalid WebSocket URL '" + std::string(text) + "' (" + e.what() + ")");
    }
}

// The start of a refusal's body, on one line, for an error message.
std::string excerpt(std::string_view body)
{
    constexpr std::size_t max_chars = 200;
    const std::string text = stirrup::detail::text::sanitize_utf8(body.substr(0, 4 * max_chars));
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += c;
    }
    const std::size_t cut = stirrup::detail::text::code_point_offset(out, max_chars);
    if (cut < out.size())
        out = out.substr(0, cut) + "...";
    return out;
}

std::string join(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

// Adds the caller's fields to the upgrade request.
struct Decorate {
    Headers headers;
    std::string user_agent;
    std::string subprotocols;

    void operator()(wsb::request_type& req) const
    {
        bool has_user_agent = false;
        for (const auto& [name, value] : headers) {
            if (beast::iequals(name, "host"))
                req.set(beast::http::field::host, value);
            else
                req.insert(name, value);
            has_user_agent = has_user_agent || beast::iequals(name, "user-agent");
        }
        if (has_user_agent || user_agent.empty())
            req.erase(beast::http::field::user_agent);
        if (!has_user_agent && !user_agent.empty())
            req.set(beast::http::field::user_agent, user_agent);
        if (!subprotocols.empty())
            req.set(beast::http::field::sec_websocket_protocol, subprotocols);
    }
};

// Turns at writing, in call order. Used on the connection's strand only.
class Turns {
public:
    // Throws operation_aborted when cancelled while waiting.
    asio::awaitable<void> acquire()
    {
        if (!busy_) {
            busy_ = true;
            co_return;
        }
        const auto ex = co_await asio::this_coro::executor;
        Waiter w(ex);
        waiting_.push_back(&w);
        Enlisted enlisted{waiting_, w};
        co_await w.timer.async_wait(use_tuple);
        if (!w.granted)
            throw_aborted();
    }

    void release() noexcept
    {
        if (waiting_.empty()) {
            busy_ = false;
            return;
        }
        Waiter* next = waiting_.front();
        waiting_.pop_front();
        next->granted = true;
        next->timer.cancel();
    }

private:
    struct Waiter {
        explicit Waiter(asio::any_io_executor ex) : timer(std::move(ex), asio::steady_timer::time_point::max()) {}
        asio::steady_timer timer;
        bool granted = false;
    };
    // Takes a waiter that leaves without its turn (cancelled) off the list.
    struct Enlisted {
        std::list<Waiter*>& list;
        Waiter& w;
        ~Enlisted()
        {
            if (!w.granted)
                list.remove(&w);
        }
    };

    bool busy_ = false;
    std::list<Waiter*> waiting_;
};

struct Turn {
    Turns& turns;
    ~Turn() { turns.release(); }
};

// Beast reports an expired timer as its own code; callers match on the
// portable one, as the HTTP client's do.
std::error_code portable(boost::system::error_code ec)
{
    if (ec == beast::error::timeout)
        return std_code(asio::error::timed_out);
    return ec;
}

} // namespace
} // namespace websocket_impl

WebSocketRefused::WebSocketRefused(std::error_code ec, int status, const std::string& what)
    : SystemError(ec, what), status_(status)
{
}

struct WebSocket::Impl {
    Impl(std::unique_ptr<detail::Connection> c, WebSocketOptions o, std::shared_ptr<asio::ssl::context> t,
         std::string origin_)
        : tls(std::move(t)),
          executor(c->visit_stream([](auto& s) -> asio::any_io_executor { return s.get_executor(); })),
          ws(std::move(c), o.close_timeout), options(std::move(o)), origin(std::move(origin_)),
          arrived(executor, asio::steady_timer::time_point::max()),
          room(executor, asio::steady_timer::time_point::max())
    {
    }

    enum class End { open, closed, failed, aborted };

    // The OpenSSL context outlives the connection's TLS state.
    std::shared_ptr<asio::ssl::context> tls;
    // The connection's strand: everything below is used on it only (but
    // `aborted`).
    asio::any_io_executor executor;
    // Without permessage-deflate, not even compiled in: simpler, and no
    // decompression bombs to bound.
    wsb::stream<detail::WsTransport, false> ws;
    WebSocketOptions options;
    std::string origin;
    std::string subprotocol;

    // Messages read ahead, and how the reading ended.
    std::deque<std::string> inbox;
    std::size_t inbox_bytes = 0;
    End end = End::open;
    std::exception_ptr failure;
    std::error_code failure_code;
    // Cancelled to wake whoever waits: receivers on `arrived` (a message, or
    // the end), the paused reader on `room`.
    asio::steady_timer arrived;
    asio::steady_timer room;

    websocket_impl::Turns writes;
    bool closing = false;
    std::atomic<bool> aborted{false};

    wsb::stream_base::timeout running_timeouts() const
    {
        wsb::stream_base::timeout t{};
        t.handshake_timeout = wsb::stream_base::none();
        t.idle_timeout = options.idle_timeout.count() > 0 ? wsb::stream_base::duration(options.idle_timeout)
                                                          : wsb::stream_base::none();
        t.keep_alive_pings = options.idle_timeout.count() > 0;
        return t;
    }

    // Beast's idle check (its timer and pings) sees the answers only
    // through a pending read: it is off while the reader pauses for a full
    // inbox, and once the connection ends.
    void idle_timer(bool on) noexcept
    {
        try {
            if (on) {
                ws.set_option(running_timeouts());
            } else {
                wsb::stream_base::timeout off{};
                off.handshake_timeout = wsb::stream_base::none();
                off.idle_timeout = wsb::stream_base::none();
                off.keep_alive_pings = false;
                ws.set_option(off);
            }
        } catch (...) {
        }
    }

    void finish(End e, std::exception_ptr why = {}, std::error_code code = {}) noexcept
    {
        if (end != End::open)
            return;
        end = e;
        failure = std::move(why);
        failure_code = code;
        arrived.cancel();
    }

    // Closes the socket now: every operation pending on it fails.
    void shutdown() noexcept
    {
        idle_timer(false);
        ws.next_layer().connection().close();
        arrived.cancel();
        room.cancel();
    }

    std::exception_ptr read_failure(boost::system::error_code ec) const
    {
        namespace text = stirrup::detail::text;
        if (ec == beast::error::timeout)
            return std::make_exception_ptr(HttpTransportError(
                websocket_impl::std_code(asio::error::timed_out),
                origin + ": no frame from the server for " + text::seconds_text(options.idle_timeout) +
                    " s, not even the answer to a ping (the idle timeout)"));
        if (ec == wsb::error::message_too_big)
            return std::make_exception_ptr(
                WebSocketError(ec, origin + ": a message larger than " + std::to_string(options.max_message_bytes) +
                                       " bytes (max_message_bytes); the connection is closed"));
        if (ec.category() == wsb::make_error_code(wsb::error::closed).category())
            return std::make_exception_ptr(
                WebSocketError(ec, origin + ": the server broke the WebSocket protocol; the connection is closed"));
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
            return std::make_exception_ptr(
                HttpTransportError(ec, origin + ": the server closed the connection without a close frame"));
        return std::make_exception_ptr(HttpTransportError(ec, origin + ": reading from the WebSocket"));
    }

    void ended_reading(boost::system::error_code ec) noexcept
    {
        if (aborted)
            finish(End::aborted);
        else if (ec == wsb::error::closed || closing)
            finish(End::closed);
        else
            finish(End::failed, read_failure(ec), websocket_impl::portable(ec));
        // close() closes the socket once its handshake (and TCP's) is done.
        if (!closing)
            shutdown();
    }

    [[noreturn]] void throw_cannot_send() const
    {
        if (aborted || end == End::aborted)
            websocket_impl::throw_aborted();
        if (end == End::failed)
            throw HttpTransportError(failure_code, origin + ": cannot send, the connection failed");
        throw HttpTransportError(websocket_impl::std_code(wsb::error::closed),
                                 origin + ": cannot send, the WebSocket is closed");
    }

    bool can_send() const noexcept { return !aborted && !closing && end == End::open; }
};

namespace websocket_impl {
namespace {

using Impl = WebSocket::Impl;

// The answer to the upgrade request, checked: a 101 with the right key and
// one of the subprotocols offered.
asio::awaitable<void> upgrade(std::shared_ptr<Impl> self, detail::Url url)
{
    namespace text = stirrup::detail::text;
    auto& ws = self->ws;
    const auto& options = self->options;
    const auto cs = co_await asio::this_coro::cancellation_state;

    // One frame per message: MCP's wire format, and what the simplest
    // servers expect.
    ws.auto_fragment(false);
    ws.read_message_max(options.max_message_bytes);
    ws.set_option(
        wsb::stream_base::decorator(Decorate{options.headers, options.user_agent, join(options.subprotocols)}));
    // The upgrade is bounded by the socket's expiry, Beast's timers are off
    // until it is done.
    self->idle_timer(false);
    auto set_expiry = [&](detail::SteadyTime t) {
        ws.next_layer().connection().visit_stream([&](auto& s) { beast::get_lowest_layer(s).expires_at(t); });
    };
    set_expiry(detail::deadline_after(options.handshake_timeout));

    const bool default_port = url.port == (url.is_tls() ? 443 : 80);
    const std::string host = !default_port                             ? url.authority()
                             : url.host.find(':') != std::string::npos ? "[" + url.host + "]"
                                                                       : url.host;
    wsb::response_type res;
    auto [ec] = co_await ws.async_handshake(res, host, url.target, use_tuple);
    set_expiry(detail::SteadyTime::max());
    if (ec) {
        if (cancelled(cs))
            throw_aborted();
        const int status = static_cast<int>(res.result_int());
        if (ec == wsb::error::upgrade_declined) {
            std::string what = self->origin + ": the server refused the WebSocket upgrade with HTTP " +
                               std::to_string(status) + " " + std::string(res.reason());
            if (const std::string body = excerpt(res.body()); !body.empty())
                what += " (" + body + ")";
            throw WebSocketRefused(ec, status, what);
        }
        if (ec.category() == wsb::make_error_code(wsb::error::closed).category())
            throw WebSocketRefused(ec, status,
                                   self->origin + ": invalid answer to the WebSocket upgrade (HTTP " +
                                       std::to_string(status) + ")");
        if (ec.category() == beast::http::make_error_code(beast::http::error::end_of_stream).category() &&
            ec != beast::http::error::end_of_stream)
            throw WebSocketRefused(ec, 0, self->origin + ": the answer to the WebSocket upgrade is not valid HTTP");
        if (ec == beast::http::error::end_of_stream)
            throw HttpTransportError(ec, self->origin + ": the server closed the connection instead of answering "
                                                        "the WebSocket upgrade");
        if (ec == beast::error::timeout)
            throw HttpTransportError(std_code(asio::error::timed_out),
                                     self->origin + ": no answer to the WebSocket upgrade within " +
                                         text::seconds_text(options.handshake_timeout) + " s (the handshake timeout)");
        throw HttpTransportError(ec, self->origin + ": WebSocket upgrade");
    }

    // RFC 6455 4.1: a subprotocol the client did not offer fails the
    // connection; MCP also needs the server to accept the one it offers.
    const std::string chosen(res[beast::http::field::sec_websocket_protocol]);
    const auto refused = std::make_error_code(std::errc::protocol_not_supported);
    if (options.subprotocols.empty()) {
        if (!chosen.empty())
            throw WebSocketRefused(refused, 101,
                                   self->origin + ": the server chose the subprotocol '" + chosen +
                                       "', though none was offered");
    } else if (chosen.empty()) {
        throw WebSocketRefused(refused, 101,
                               self->origin + ": the server accepted none of the subprotocols offered (" +
                                   join(options.subprotocols) + ")");
    } else if (std::find(options.subprotocols.begin(), options.subprotocols.end(), chosen) ==
               options.subprotocols.end()) {
        throw WebSocketRefused(refused, 101,
                               self->origin + ": the server chose the subprotocol '" + chosen +
                                   "', not one of those offered (" + join(options.subprotocols) + ")");
    }
    self->subprotocol = chosen;
    self->idle_timer(true);
}

// Reads messages as they come into the inbox, until the connection ends.
asio::awaitable<void> read_loop(std::shared_ptr<Impl> self)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        if (self->inbox_bytes >= self->options.max_message_bytes) {
            self->idle_timer(false);
            while (self->inbox_bytes >= self->options.max_message_bytes && !self->closing && !self->aborted)
                co_await self->room.async_wait(use_tuple);
            self->idle_timer(true);
        }
        if (self->closing || self->aborted) {
            self->ended_reading({});
            co_return;
        }
        std::string message;
        auto buffer = asio::dynamic_buffer(message);
        auto [ec, n] = co_await self->ws.async_read(buffer, use_tuple);
        if (ec) {
            self->ended_reading(ec);
            co_return;
        }
        self->inbox_bytes += message.size() + message_overhead;
        self->inbox.push_back(std::move(message));
        self->arrived.cancel();
    }
}

asio::awaitable<std::optional<std::string>> receive_on_strand(std::shared_ptr<Impl> self)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    for (;;) {
        if (self->aborted)
            throw_aborted();
        if (!self->inbox.empty()) {
            std::string message = std::move(self->inbox.front());
            self->inbox.pop_front();
            self->inbox_bytes -= message.size() + message_overhead;
            self->room.cancel();
            co_return message;
        }
        switch (self->end) {
        case Impl::End::open:
            break;
        case Impl::End::closed:
            co_return std::nullopt;
        case Impl::End::failed:
            std::rethrow_exception(self->failure);
        case Impl::End::aborted:
            throw_aborted();
        }
        co_await self->arrived.async_wait(use_tuple);
        if (cancelled(cs))
            throw_aborted();
    }
}

asio::awaitable<void> send_on_strand(std::shared_ptr<Impl> self, std::string message)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    co_await self->writes.acquire();
    Turn turn{self->writes};
    if (cancelled(cs))
        throw_aborted();
    if (!self->can_send())
        self->throw_cannot_send();
    self->ws.text(true);
    auto [ec, n] = co_await self->ws.async_write(asio::buffer(message), use_tuple);
    if (!ec)
        co_return;
    if (cancelled(cs)) {
        // Part of a frame may be on the wire: nothing can follow it.
        self->finish(Impl::End::failed,
                     std::make_exception_ptr(HttpTransportError(
                         std::make_error_code(std::errc::connection_aborted),
                         self->origin + ": a send was cancelled part-way, the connection is closed")),
                     std::make_error_code(std::errc::connection_aborted));
        self->shutdown();
        throw_aborted();
    }
    if (self->end != Impl::End::open || self->aborted || self->closing)
        self->throw_cannot_send();
    const std::error_code cause = portable(ec);
    self->finish(Impl::End::failed,
                 std::make_exception_ptr(HttpTransportError(cause, self->origin + ": sending a message failed")),
                 cause);
    self->shutdown();
    throw HttpTransportError(cause, self->origin + ": sending a message");
}

asio::awaitable<void> close_on_strand(std::shared_ptr<Impl> self)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    if (self->closing || self->aborted)
        co_return;
    self->closing = true;
    if (self->end == Impl::End::open) {
        // A server that never answers the close frame gets its socket closed.
        asio::steady_timer limit(self->executor, self->options.close_timeout);
        limit.async_wait([self](boost::system::error_code ec) {
            if (!ec)
                self->shutdown();
        });
        const wsb::close_reason normal(wsb::close_code::normal);
        co_await self->ws.async_close(normal, use_tuple);
        limit.cancel();
    }
    self->finish(Impl::End::closed);
    self->shutdown();
}

} // namespace
} // namespace websocket_impl

asio::awaitable<WebSocket> WebSocket::connect(asio::any_io_executor ex, std::string url, WebSocketOptions options)
{
    const auto cs = co_await asio::this_coro::cancellation_state;
    const detail::Url u = websocket_impl::parse_ws_url(url);
    std::optional<detail::ProxyEndpoint> proxy;
    if (options.use_env_proxy)
        proxy = detail::ProxySettings::from_env(detail::process_env()).select(u);
    std::shared_ptr<asio::ssl::context> tls;
    if (u.is_tls())
        tls = detail::make_tls_context(options.tls);
    Timeouts timeouts;
    timeouts.connect = options.connect_timeout;
    timeouts.tls_handshake = options.handshake_timeout;
    detail::ClientCounters counters;
    detail::ConnectSettings settings;
    settings.url = &u;
    settings.proxy = &proxy;
    settings.tls = tls.get();
    settings.verify = options.tls.verify;
    settings.timeouts = &timeouts;
    settings.counters = &counters;
    settings.tunnel_plain = true;

    std::unique_ptr<detail::Connection> connection;
    try {
        connection = co_await detail::Connection::open(ex, settings, detail::SteadyTime::max());
    } catch (const HttpTransportError&) {
        if (websocket_impl::cancelled(cs))
            websocket_impl::throw_aborted();
        throw;
    }
    std::string origin = (u.is_tls() ? "wss://" : "ws://") + u.authority();
    auto impl = std::make_shared<Impl>(std::move(connection), std::move(options), std::move(tls), std::move(origin));
    auto handshake = websocket_impl::upgrade(impl, u);
    co_await asio::co_spawn(impl->executor, std::move(handshake), asio::use_awaitable);
    asio::co_spawn(impl->executor, websocket_impl::read_loop(impl), asio::detached);
    co_return WebSocket(std::move(impl));
}

WebSocket::WebSocket() noexcept = default;
WebSocket::WebSocket(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
WebSocket::WebSocket(WebSocket&&) noexcept = default;

WebSocket& WebSocket::operator=(WebSocket&& other) noexcept
{
    if (this != &other) {
        cancel();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

WebSocket::~WebSocket()
{
    cancel();
}

WebSocket::Impl& WebSocket::impl() const
{
    if (!impl_)
        throw std::logic_error("stirrup::net::WebSocket: no connection (default-constructed or moved from)");
    return *impl_;
}

std::string_view WebSocket::subprotocol() const
{
    return impl().subprotocol;
}

const std::string& WebSocket::origin() const
{
    return impl().origin;
}

asio::awaitable<void> WebSocket::send_text(std::string message)
{
    impl();
    auto op = websocket_impl::send_on_strand(impl_, std::move(message));
    co_await asio::co_spawn(impl_->executor, std::move(op), asio::use_awaitable);
}

asio::awaitable<std::optional<std::string>> WebSocket::receive()
{
    impl();
    auto op = websocket_impl::receive_on_strand(impl_);
    co_return co_await asio::co_spawn(impl_->executor, std::move(op), asio::use_awaitable);
}

asio::awaitable<void> WebSocket::close()
{
    if (!impl_)
        co_return;
    const std::shared_ptr<Impl> self = impl_;
    try {
        auto op = websocket_impl::close_on_strand(self);
        co_await asio::co_spawn(self->executor, std::move(op), asio::use_awaitable);
    } catch (...) {
        // Cancelled before it could run, or out of memory: no handshake,
        // but the socket is closed all the same.
        try {
            asio::dispatch(self->executor, [self] {
                self->closing = true;
                self->finish(Impl::End::closed);
                self->shutdown();
            });
        } catch (...) {
        }
    }
}

void WebSocket::cancel() noexcept
{
    if (!impl_)
        return;
    impl_->aborted = true;
    try {
        asio::dispatch(impl_->executor, [self = impl_] { self->shutdown(); });
    } catch (...) {
    }
}

} // namespace stirrup::net
