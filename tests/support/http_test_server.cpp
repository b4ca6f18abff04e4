#include "support/http_test_server.hpp"

#include <cstdlib>
#include <stdexcept>

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "support/test_certs.hpp"

namespace stirrup::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string ReceivedRequest::header(std::string_view name) const
{
    for (const auto& [k, v] : headers)
        if (beast::iequals(k, name))
            return v;
    return {};
}

asio::awaitable<void> Exchange::respond(int status, std::string body, net::Headers headers)
{
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Test\r\n";
    bool has_length = false;
    for (const auto& [k, v] : headers) {
        out += k + ": " + v + "\r\n";
        has_length = has_length || beast::iequals(k, "content-length");
    }
    if (!has_length)
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n" + body;
    co_await io.write(std::move(out));
}

asio::awaitable<void> Exchange::respond_chunked(int status, std::vector<std::string> pieces, net::Headers headers,
                                                std::chrono::milliseconds gap)
{
    std::string head = "HTTP/1.1 " + std::to_string(status) + " Test\r\nTransfer-Encoding: chunked\r\n";
    for (const auto& [k, v] : headers)
        head += k + ": " + v + "\r\n";
    co_await io.write(head + "\r\n");
    for (auto& piece : pieces) {
        if (gap.count() > 0)
            co_await sleep(gap);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        co_await io.write(size + piece + "\r\n");
    }
    co_await io.write("0\r\n\r\n");
}

asio::awaitable<void> Exchange::send_raw(std::string bytes)
{
    co_await io.write(std::move(bytes));
}

asio::awaitable<void> Exchange::stall()
{
    co_await io.wait_closed();
}

asio::awaitable<void> Exchange::sleep(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

struct HttpTestServer::State {
    // Destroyed explicitly first, so that the coroutine frames it owns die
    // while the counters and the handler they use are still alive.
    std::optional<asio::io_context> io_storage;
    asio::io_context& io = io_storage.emplace();
    Handler handler;
    TestServerOptions options;
    std::unique_ptr<asio::ssl::context> tls;
    std::unique_ptr<tcp::acceptor> tcp_acceptor;
    std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
    std::filesystem::path socket_dir;
    std::uint16_t port = 0;
    std::thread thread;
    std::atomic<int> connections{0}, handshakes{0}, requests{0}, max_open{0}, open{0};
    mutable std::mutex mutex;
    std::vector<ReceivedRequest> received;
};

namespace {

template <class Stream>
asio::awaitable<void> write_all(Stream& s, std::string bytes)
{
    co_await asio::async_write(s, asio::buffer(bytes), asio::use_awaitable);
}

template <class Stream>
asio::awaitable<void> read_until_closed(Stream& s)
{
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        if (ec)
            co_return;
    }
}

struct OpenCount {
    HttpTestServer::State& s;
    explicit OpenCount(HttpTestServer::State& st) : s(st)
    {
        const int now = ++s.open;
        int max = s.max_open.load();
        while (now > max && !s.max_open.compare_exchange_weak(max, now)) {
        }
    }
    ~OpenCount() { --s.open; }
};

template <class Stream>
asio::awaitable<void> serve(HttpTestServer::State& st, Stream& stream, int connection)
{
    beast::flat_buffer buffer;
    for (int index = 0;; ++index) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (ec)
            co_return;
        const auto& msg = parser.get();
        Exchange x;
        x.request.method = std::string(msg.method_string());
        x.request.target = std::string(msg.target());
        x.request.body = msg.body();
        for (const auto& f : msg)
            x.request.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        x.request.connection = connection;
        x.request.index_on_connection = index;
        ++st.requests;
        if (st.options.record_requests) {
            std::lock_guard lock(st.mutex);
            st.received.push_back(x.request);
        }
        x.io.write = [&stream](std::string bytes) { return write_all(stream, std::move(bytes)); };
        x.io.wait_closed = [&stream]() { return read_until_closed(stream); };
        bool failed = false;
        try {
            co_await st.handler(x);
        } catch (const std::exception&) {
            failed = true; // the client went away mid-answer
        }
        if (x.reset_) {
            boost::system::error_code ignored;
            beast::get_lowest_layer(stream).set_option(asio::socket_base::linger(true, 0), ignored);
        }
        if (failed || x.close_ || !msg.keep_alive())
            co_return;
    }
}

asio::awaitable<void> tcp_session(HttpTestServer::State& st, tcp::socket socket)
{
    OpenCount open(st);
    const int connection = st.connections++;
    co_await serve(st, socket, connection);
}

asio::awaitable<void> unix_session(HttpTestServer::State& st, asio::local::stream_protocol::socket socket)
{
    OpenCount open(st);
    const int connection = st.connections++;
    co_await serve(st, socket, connection);
}

asio::awaitable<void> tls_session(HttpTestServer::State& st, tcp::socket socket)
{
    OpenCount open(st);
    const int connection = st.connections++;
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *st.tls);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec)
        co_return;
    ++st.handshakes;
    co_await serve(st, stream, connection);
}

asio::awaitable<void> accept_tcp(HttpTestServer::State& st)
{
    for (;;) {
        auto [ec, socket] = co_await st.tcp_acceptor->async_accept(use_tuple);
        if (ec)
            co_return;
        if (st.options.listener == Listener::tls)
            asio::co_spawn(st.io, tls_session(st, std::move(socket)), asio::detached);
        else
            asio::co_spawn(st.io, tcp_session(st, std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> accept_unix(HttpTestServer::State& st)
{
    for (;;) {
        auto [ec, socket] = co_await st.unix_acceptor->async_accept(use_tuple);
        if (ec)
            co_return;
        asio::co_spawn(st.io, unix_session(st, std::move(socket)), asio::detached);
    }
}

} // namespace

HttpTestServer::HttpTestServer(Handler handler, TestServerOptions options) : state_(std::make_shared<State>())
{
    auto& st = *state_;
    st.handler = std::move(handler);
    st.options = options;
    if (options.listener == Listener::unix_socket) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "stirrup-sock-XXXXXX").string();
        if (!::mkdtemp(tmpl.data()))
            throw std::runtime_error("mkdtemp failed");
        st.socket_dir = tmpl;
        st.unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(
            st.io, asio::local::stream_protocol::endpoint((st.socket_dir / "http.sock").string()));
        asio::co_spawn(st.io, accept_unix(st), asio::detached);
    } else {
        if (options.listener == Listener::tls) {
            const auto& certs = test_certs();
            st.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
            st.tls->use_certificate_chain_file(certs.cert(options.certificate).string());
            st.tls->use_private_key_file(certs.key(options.certificate).string(), asio::ssl::context::pem);
        }
        st.tcp_acceptor = std::make_unique<tcp::acceptor>(st.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        st.port = st.tcp_acceptor->local_endpoint().port();
        asio::co_spawn(st.io, accept_tcp(st), asio::detached);
    }
    st.thread = std::thread([&st] { st.io.run(); });
}

HttpTestServer::~HttpTestServer()
{
    state_->io.stop();
    state_->thread.join();
    state_->tcp_acceptor.reset();
    state_->unix_acceptor.reset();
    state_->io_storage.reset();
    if (!state_->socket_dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(state_->socket_dir, ec);
    }
}

std::string HttpTestServer::url(std::string_view target) const
{
    switch (state_->options.listener) {
    case Listener::unix_socket:
        return "unix://" + (state_->socket_dir / "http.sock").string() + ":" + std::string(target);
    case Listener::tls:
        return "https://127.0.0.1:" + std::to_string(state_->port) + std::string(target);
    default:
        return "http://127.0.0.1:" + std::to_string(state_->port) + std::string(target);
    }
}

std::uint16_t HttpTestServer::port() const
{
    return state_->port;
}
int HttpTestServer::connections() const
{
    return state_->connections.load();
}
int HttpTestServer::handshakes() const
{
    return state_->handshakes.load();
}
int HttpTestServer::requests() const
{
    return state_->requests.load();
}
int HttpTestServer::max_open_connections() const
{
    return state_->max_open.load();
}
int HttpTestServer::open_connections() const
{
    return state_->open.load();
}

std::vector<ReceivedRequest> HttpTestServer::received() const
{
    std::lock_guard lock(state_->mutex);
    return state_->received;
}

// The proxy.

struct ConnectProxy::State {
    std::optional<asio::io_context> io_storage;
    asio::io_context& io = io_storage.emplace();
    std::unique_ptr<tcp::acceptor> acceptor;
    std::thread thread;
    mutable std::mutex mutex;
    std::vector<std::string> tunnels;
};

namespace {

asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to)
{
    char buf[16 * 1024];
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), use_tuple);
        if (ec)
            co_return;
        auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf, n), use_tuple);
        if (wec)
            co_return;
    }
}

asio::awaitable<void> proxy_session(ConnectProxy::State& st, tcp::socket client)
{
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    auto [ec, n] = co_await http::async_read(client, buffer, parser, use_tuple);
    if (ec)
        co_return;
    const auto& req = parser.get();
    if (req.method() != http::verb::connect) {
        co_await write_all(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        co_return;
    }
    const std::string authority(req.target());
    {
        std::lock_guard lock(st.mutex);
        st.tunnels.push_back(authority);
    }
    const auto colon = authority.rfind(':');
    tcp::resolver resolver(client.get_executor());
    auto [rec, results] =
        co_await resolver.async_resolve(authority.substr(0, colon), authority.substr(colon + 1), use_tuple);
    tcp::socket upstream(client.get_executor());
    if (!rec) {
        auto [cec, ep] = co_await asio::async_connect(upstream, results, use_tuple);
        rec = cec;
    }
    if (rec) {
        co_await write_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        co_return;
    }
    co_await write_all(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    if (buffer.size() > 0) {
        std::string early(static_cast<const char*>(buffer.data().data()), buffer.size());
        co_await write_all(upstream, std::move(early));
    }
    co_await (pump(client, upstream) || pump(upstream, client));
}

asio::awaitable<void> accept_proxy(ConnectProxy::State& st)
{
    for (;;) {
        auto [ec, socket] = co_await st.acceptor->async_accept(use_tuple);
        if (ec)
            co_return;
        asio::co_spawn(st.io, proxy_session(st, std::move(socket)), asio::detached);
    }
}

} // namespace

ConnectProxy::ConnectProxy() : state_(std::make_shared<State>())
{
    auto& st = *state_;
    st.acceptor = std::make_unique<tcp::acceptor>(st.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = st.acceptor->local_endpoint().port();
    asio::co_spawn(st.io, accept_proxy(st), asio::detached);
    st.thread = std::thread([&st] { st.io.run(); });
}

ConnectProxy::~ConnectProxy()
{
    state_->io.stop();
    state_->thread.join();
    state_->acceptor.reset();
    state_->io_storage.reset();
}

std::vector<std::string> ConnectProxy::tunnels() const
{
    std::lock_guard lock(state_->mutex);
    return state_->tunnels;
}

ScopedEnv::ScopedEnv(std::vector<std::pair<std::string, std::string>> vars)
{
    for (auto& [k, v] : vars) {
        const char* old = std::getenv(k.c_str());
        saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
        ::setenv(k.c_str(), v.c_str(), 1);
    }
}

ScopedEnv::~ScopedEnv()
{
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
        if (it->second)
            ::setenv(it->first.c_str(), it->second->c_str(), 1);
        else
            ::unsetenv(it->first.c_str());
    }
}

} // namespace stirrup::test
