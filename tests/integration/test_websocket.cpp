// The WebSocket client against a `ws` server (tests/fakes/websocket/
// server.mjs): ws:// and wss://, subprotocols, message limits, clean and
// broken closes, refused upgrades, silent servers, concurrent senders,
// cancellation and proxies. Durations are asserted only as generous upper
// bounds that tell a configured timeout from a default one many times longer.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/json/parse.hpp>

#include "stirrup/net/http_client.hpp"
#include "stirrup/net/websocket.hpp"
#include "support/eventually.hpp"
#include "support/http_test_server.hpp"
#include "support/node_server.hpp"
#include "support/run_sync.hpp"
#include "support/test_certs.hpp"

using namespace stirrup;
using namespace stirrup::net;
using namespace std::chrono_literals;
using stirrup::test::run_sync;
namespace asio = boost::asio;
using asio::awaitable;

namespace {

// The fake WebSocket server, plain or TLS.
class WsServer {
public:
    explicit WsServer(bool tls) : tls_(tls), node_(STIRRUP_SOURCE_DIR "/tests/fakes/websocket/server.mjs", args(tls)) {}

    std::string url(const std::string& path) const
    {
        return std::string(tls_ ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(node_.port()) + path;
    }
    int port() const { return node_.port(); }

    /// Whether the server saw a connection to `path` closed with `code`.
    bool saw_close(const std::string& path, int code) const
    {
        const std::pair<std::string, int> want(path, code);
        return stirrup::test::eventually([&] {
            const auto all = closes();
            return std::find(all.begin(), all.end(), want) != all.end();
        });
    }

    /// The close frames the server received: (path, code) pairs.
    std::vector<std::pair<std::string, int>> closes() const
    {
        const std::string base = std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
        const auto events = boost::json::parse(stirrup::test::blocking_request("GET", base + "/events").body);
        std::vector<std::pair<std::string, int>> out;
        for (const auto& c : events.at("closes").as_array())
            out.emplace_back(std::string(c.at("path").as_string()), c.at("code").to_number<int>());
        return out;
    }

private:
    static std::vector<std::string> args(bool tls)
    {
        if (!tls)
            return {};
        const auto& certs = stirrup::test::test_certs();
        return {"--cert", certs.server_cert.string(), "--key", certs.server_key.string()};
    }

    bool tls_;
    stirrup::test::NodeServer node_;
};

WebSocketOptions test_options()
{
    WebSocketOptions o;
    o.tls.ca_file = stirrup::test::test_certs().ca_cert.string();
    o.use_env_proxy = false;
    o.subprotocols = {"mcp"};
    return o;
}

awaitable<void> pause(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// The senders of the concurrency test (a coroutine lambda's captures would
// die with the lambda).
awaitable<void> send_one(WebSocket& ws, std::string message, std::atomic<int>& done)
{
    co_await ws.send_text(std::move(message));
    ++done;
}

bool same_code(const std::error_code& got, boost::system::error_code want)
{
    return got == std::error_code(want);
}

// Runs `f` and returns what it threw, as type E (fails the test when it
// threw nothing or something else).
template <class E, class F>
std::optional<E> thrown(F&& f)
{
    try {
        f();
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL_CHECK("unexpected exception: " << e.what());
        return std::nullopt;
    }
    FAIL_CHECK("no exception");
    return std::nullopt;
}

} // namespace

TEST_CASE("WebSocket: echo over ws:// and wss://, with the subprotocol the server chose")
{
    for (bool tls : {false, true}) {
        CAPTURE(tls);
        WsServer server(tls);
        run_sync([&]() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            const auto url = server.url("/echo");
            auto ws = co_await WebSocket::connect(ex, url, test_options());
            CHECK(ws.subprotocol() == "mcp");
            CHECK(ws.origin() == std::string(tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(server.port()));
            const std::string hello = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
            co_await ws.send_text(hello);
            CHECK(co_await ws.receive() == hello);
            const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93";
            co_await ws.send_text(unicode);
            const std::string empty;
            co_await ws.send_text(empty);
            CHECK(co_await ws.receive() == unicode);
            CHECK(co_await ws.receive() == empty);
            co_await ws.close();
            CHECK(co_await ws.receive() == std::nullopt);
            // Closed: a send fails, receiving stays at the end.
            bool send_failed = false;
            try {
                co_await ws.send_text(hello);
            } catch (const HttpTransportError& e) {
                send_failed = same_code(e.code(), boost::beast::websocket::error::closed);
            }
            CHECK(send_failed);
            CHECK(co_await ws.receive() == std::nullopt);
        });
        CHECK(server.saw_close("/echo", 1000));
    }
}

TEST_CASE("WebSocket: subprotocol negotiation")
{
    WsServer server(false);
    // The server's pick among several offered.
    run_sync([&]() -> awaitable<void> {
        auto o = test_options();
        o.subprotocols = stirrup::test::strings("x-unknown", "chat", "mcp");
        const auto url = server.url("/echo");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
        CHECK(ws.subprotocol() == "chat");
        co_await ws.close();
    });
    // None offered, none chosen.
    run_sync([&]() -> awaitable<void> {
        auto o = test_options();
        o.subprotocols.clear();
        const auto url = server.url("/echo");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
        CHECK(ws.subprotocol().empty());
        const std::string x = "x";
        co_await ws.send_text(x);
        CHECK(co_await ws.receive() == "x");
        co_await ws.close();
    });
    // The server accepts none of those offered; chooses one not offered;
    // chooses one when none was offered.
    struct Case {
        std::string path;
        std::vector<std::string> offered;
        std::string says;
    };
    const std::vector<Case> cases = {
        {"/echo?protocol=none", {"mcp"}, "accepted none of the subprotocols offered (mcp)"},
        {"/echo?protocol=other", {"mcp"}, "chose the subprotocol 'other', not one of those offered (mcp)"},
        {"/echo?protocol=mcp", {}, "chose the subprotocol 'mcp', though none was offered"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.path);
        const auto e = thrown<WebSocketRefused>([&] {
            run_sync([&]() -> awaitable<void> {
                auto o = test_options();
                o.subprotocols = c.offered;
                const auto url = server.url(c.path);
                co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
            });
        });
        REQUIRE(e);
        CHECK(e->status() == 101);
        CHECK(e->code() == std::errc::protocol_not_supported);
        CHECK(std::string(e->what()).find(c.says) != std::string::npos);
    }
}

TEST_CASE("WebSocket: a large message within the limit; one over it fails the connection")
{
    for (bool tls : {false, true}) {
        CAPTURE(tls);
        WsServer server(tls);
        run_sync([&]() -> awaitable<void> {
            auto o = test_options();
            o.max_message_bytes = 4 * 1024 * 1024;
            const auto url = server.url("/big?bytes=3000000");
            auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
            const auto big = co_await ws.receive();
            REQUIRE(big);
            CHECK(big->size() == 3000000);
            CHECK(big->find_first_not_of('x') == std::string::npos);
            // And one as large sent, echoed.
            std::string out(3500000, 'y');
            out[1234567] = 'z';
            co_await ws.send_text(out);
            CHECK(co_await ws.receive() == out);
            co_await ws.close();
        });
        const auto e = thrown<WebSocketError>([&] {
            run_sync([&]() -> awaitable<void> {
                auto o = test_options();
                o.max_message_bytes = 1024 * 1024;
                const auto url = server.url("/big?bytes=2000000");
                auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
                co_await ws.receive();
            });
        });
        REQUIRE(e);
        CHECK(same_code(e->code(), boost::beast::websocket::error::message_too_big));
        CHECK(std::string(e->what()).find("larger than 1048576 bytes") != std::string::npos);
        // The client said why it closed: 1009, message too big.
        CHECK(server.saw_close("/big", 1009));
    }
}

TEST_CASE("WebSocket: a server that closes cleanly, and a binary message")
{
    WsServer server(false);
    run_sync([&]() -> awaitable<void> {
        const auto url = server.url("/messages?n=3");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, test_options());
        // Read ahead before the close, still delivered in order.
        co_await pause(100ms);
        CHECK(co_await ws.receive() == "m0");
        CHECK(co_await ws.receive() == "m1");
        CHECK(co_await ws.receive() == "m2");
        CHECK(co_await ws.receive() == std::nullopt);
        CHECK(co_await ws.receive() == std::nullopt);
        bool send_failed = false;
        try {
            const std::string late = "late";
            co_await ws.send_text(late);
        } catch (const HttpTransportError& e) {
            send_failed = same_code(e.code(), boost::beast::websocket::error::closed);
        }
        CHECK(send_failed);
        co_await ws.close(); // nothing left to close: returns
    });
    run_sync([&]() -> awaitable<void> {
        const auto url = server.url("/binary");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, test_options());
        const std::string bytes("\x00\x01\x02\xff", 4);
        CHECK(co_await ws.receive() == bytes);
        co_await ws.close();
    });
}

TEST_CASE("WebSocket: a server that drops the connection mid-frame")
{
    for (bool tls : {false, true}) {
        CAPTURE(tls);
        WsServer server(tls);
        const auto e = thrown<HttpTransportError>([&] {
            run_sync([&]() -> awaitable<void> {
                const auto url = server.url("/drop-mid-frame");
                auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, test_options());
                co_await ws.receive();
            });
        });
        REQUIRE(e);
        CHECK((same_code(e->code(), asio::error::eof) || same_code(e->code(), asio::ssl::error::stream_truncated) ||
               e->code() == std::errc::connection_reset));
        CHECK(std::string(e->what()).find("without a close frame") != std::string::npos);
    }
}

TEST_CASE("WebSocket: a refused upgrade names the status")
{
    WsServer server(false);
    const auto not_found = thrown<WebSocketRefused>([&] {
        run_sync([&]() -> awaitable<void> {
            const auto url = server.url("/refuse");
            co_await WebSocket::connect(co_await asio::this_coro::executor, url, test_options());
        });
    });
    REQUIRE(not_found);
    CHECK(not_found->status() == 404);
    CHECK(same_code(not_found->code(), boost::beast::websocket::error::upgrade_declined));
    const std::string what = not_found->what();
    CHECK(what.find("refused the WebSocket upgrade with HTTP 404 Not Found") != std::string::npos);
    CHECK(what.find("<h1>Not Found</h1>") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);

    const auto page = thrown<WebSocketRefused>([&] {
        run_sync([&]() -> awaitable<void> {
            const auto url = server.url("/html");
            co_await WebSocket::connect(co_await asio::this_coro::executor, url, test_options());
        });
    });
    REQUIRE(page);
    CHECK(page->status() == 200);
    CHECK(std::string(page->what()).find("HTTP 200 OK") != std::string::npos);

    const auto garbage = thrown<WebSocketRefused>([&] {
        run_sync([&]() -> awaitable<void> {
            const auto url = server.url("/not-http");
            co_await WebSocket::connect(co_await asio::this_coro::executor, url, test_options());
        });
    });
    REQUIRE(garbage);
    CHECK(garbage->status() == 0);
    CHECK(std::string(garbage->what()).find("is not valid HTTP") != std::string::npos);
}

TEST_CASE("WebSocket: a server that accepts the connection and never answers times out")
{
    // Listening, never accepting: the kernel completes the TCP handshake.
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    const std::string port = std::to_string(silent.local_endpoint().port());
    for (const std::string scheme : {"ws", "wss"}) {
        CAPTURE(scheme);
        const auto started = std::chrono::steady_clock::now();
        const auto e = thrown<HttpTransportError>([&] {
            run_sync([&]() -> awaitable<void> {
                auto o = test_options();
                o.handshake_timeout = 300ms;
                const std::string url = scheme + "://127.0.0.1:" + port + "/echo";
                co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
            });
        });
        REQUIRE(e);
        CHECK(e->code() == std::errc::timed_out);
        if (scheme == "ws")
            CHECK(std::string(e->what()).find("the handshake timeout") != std::string::npos);
        CHECK(std::chrono::steady_clock::now() - started < 10s);
    }
}

TEST_CASE("WebSocket: concurrent senders on several threads are queued, never interleaved")
{
    for (bool tls : {false, true}) {
        CAPTURE(tls);
        WsServer server(tls);
        asio::thread_pool pool(4);
        constexpr int senders = 40;
        auto run = [&]() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            const auto url = server.url("/echo");
            auto ws = co_await WebSocket::connect(ex, url, test_options());
            std::set<std::string> sent;
            for (int i = 0; i < senders; ++i)
                sent.insert(std::to_string(i) + ":" + std::string(20000 + 997 * i, static_cast<char>('a' + i % 26)));
            std::atomic<int> done{0};
            for (const auto& m : sent)
                asio::co_spawn(ex, send_one(ws, m, done), asio::detached);
            std::set<std::string> echoed;
            for (int i = 0; i < senders; ++i) {
                auto m = co_await ws.receive();
                REQUIRE(m);
                echoed.insert(std::move(*m));
            }
            CHECK(echoed == sent);
            // Each sender resumes once its write completed: before its echo
            // came back, but on another thread than this one.
            for (int i = 0; i < 100 && done != senders; ++i)
                co_await pause(10ms);
            CHECK(done == senders);
            co_await ws.close();
        };
        auto finished = asio::co_spawn(pool, run(), asio::use_future);
        finished.get();
        pool.join();
    }
}

TEST_CASE("WebSocket: cancelling a pending receive loses nothing; cancel() fails it")
{
    using namespace boost::asio::experimental::awaitable_operators;
    WsServer server(true);
    run_sync([&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        const auto url = server.url("/echo");
        auto ws = co_await WebSocket::connect(ex, url, test_options());
        asio::steady_timer timer(ex, 100ms);
        auto which = co_await (ws.receive() || timer.async_wait(asio::use_awaitable));
        CHECK(which.index() == 1);
        // The connection and its queue are intact.
        const std::string after = "after";
        co_await ws.send_text(after);
        CHECK(co_await ws.receive() == "after");

        // Through a cancellation slot, while a message is on its way.
        asio::cancellation_signal cancel;
        bool aborted = false;
        asio::co_spawn(ex, ws.receive(), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, auto) {
                           try {
                               if (e)
                                   std::rethrow_exception(e);
                           } catch (const boost::system::system_error& se) {
                               aborted = se.code() == asio::error::operation_aborted;
                           }
                       }));
        co_await pause(50ms);
        cancel.emit(asio::cancellation_type::terminal);
        co_await pause(50ms);
        CHECK(aborted);
        const std::string kept = "kept";
        co_await ws.send_text(kept);
        CHECK(co_await ws.receive() == "kept");

        // cancel(): the socket closes, the pending receive fails at once.
        bool cancelled = false;
        asio::co_spawn(ex, ws.receive(), [&](std::exception_ptr e, auto) {
            try {
                if (e)
                    std::rethrow_exception(e);
            } catch (const boost::system::system_error& se) {
                cancelled = se.code() == asio::error::operation_aborted;
            }
        });
        co_await pause(50ms);
        ws.cancel();
        co_await pause(50ms);
        CHECK(cancelled);
        bool later = false;
        try {
            co_await ws.receive();
        } catch (const boost::system::system_error& se) {
            later = se.code() == asio::error::operation_aborted;
        }
        CHECK(later);
    });
}

TEST_CASE("WebSocket: the idle timeout: pings keep a live server, a server that never answers is dropped")
{
    WsServer server(false);
    run_sync([&]() -> awaitable<void> {
        auto o = test_options();
        o.idle_timeout = 300ms;
        const auto url = server.url("/echo");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
        co_await pause(1200ms); // quiet, but for the pings and their answers
        const std::string alive = "alive";
        co_await ws.send_text(alive);
        CHECK(co_await ws.receive() == "alive");
        co_await ws.close();
    });
    const auto started = std::chrono::steady_clock::now();
    const auto e = thrown<HttpTransportError>([&] {
        run_sync([&]() -> awaitable<void> {
            auto o = test_options();
            o.idle_timeout = 300ms;
            const auto url = server.url("/no-pong");
            auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
            co_await ws.receive();
        });
    });
    REQUIRE(e);
    CHECK(e->code() == std::errc::timed_out);
    CHECK(std::string(e->what()).find("idle timeout") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
}

TEST_CASE("WebSocket: close() against a server that never answers returns after close_timeout")
{
    WsServer server(false);
    const auto started = std::chrono::steady_clock::now();
    run_sync([&]() -> awaitable<void> {
        auto o = test_options();
        o.close_timeout = 300ms;
        o.idle_timeout = 0ms;
        const auto url = server.url("/deaf");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
        co_await ws.close();
        CHECK(co_await ws.receive() == std::nullopt);
    });
    CHECK(std::chrono::steady_clock::now() - started < 4s);
}

TEST_CASE("WebSocket: through a CONNECT proxy from the environment")
{
    stirrup::test::ConnectProxy proxy;
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
    for (bool tls : {false, true}) {
        CAPTURE(tls);
        WsServer server(tls);
        stirrup::test::ScopedEnv env({{"HTTP_PROXY", proxy_url}, {"HTTPS_PROXY", proxy_url}, {"NO_PROXY", ""}});
        run_sync([&]() -> awaitable<void> {
            auto o = test_options();
            o.use_env_proxy = true;
            const auto url = server.url("/echo");
            auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
            const std::string message = "via proxy";
            co_await ws.send_text(message);
            CHECK(co_await ws.receive() == "via proxy");
            co_await ws.close();
        });
        const auto tunnels = proxy.tunnels();
        REQUIRE(!tunnels.empty());
        CHECK(tunnels.back() == "127.0.0.1:" + std::to_string(server.port()));
    }
}

TEST_CASE("WebSocket: the upgrade request's headers; URLs and certificates refused")
{
    WsServer server(true);
    run_sync([&]() -> awaitable<void> {
        auto o = test_options();
        o.headers.emplace_back("Authorization", "Bearer t0ken");
        const auto url = server.url("/headers");
        auto ws = co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
        const auto got = co_await ws.receive();
        REQUIRE(got);
        const auto headers = boost::json::parse(*got).as_object();
        CHECK(headers.at("authorization").as_string() == "Bearer t0ken");
        CHECK(headers.at("user-agent").as_string() == "stirrup-cpp");
        CHECK(headers.at("sec-websocket-protocol").as_string() == "mcp");
        CHECK(headers.at("host").as_string() == "127.0.0.1:" + std::to_string(server.port()));
        CHECK(!headers.contains("sec-websocket-extensions")); // permessage-deflate is off
        co_await ws.close();
    });

    for (const std::string bad : {"http://127.0.0.1/x", "ws://", "wss://host:99999/"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(run_sync([&]() -> awaitable<void> {
                            co_await WebSocket::connect(co_await asio::this_coro::executor, bad, test_options());
                        }),
                        ConfigError);
    }

    const auto refused = thrown<HttpCertificateRefused>([&] {
        run_sync([&]() -> awaitable<void> {
            auto o = test_options();
            o.tls.ca_file.reset();
            const auto url = server.url("/echo");
            co_await WebSocket::connect(co_await asio::this_coro::executor, url, o);
        });
    });
    REQUIRE(refused);

    // An empty handle.
    WebSocket none;
    CHECK_THROWS_AS(none.subprotocol(), std::logic_error);
    none.cancel();
}
