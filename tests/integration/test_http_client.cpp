// The HTTP client against a real server (tests/support/http_test_server):
// transports, pooling, retries, TLS failures, cancellation, timeouts,
// streaming, proxies and concurrency. Assertions are on behaviour (counts of
// attempts, connections, handshakes), never on durations, but for generous
// upper bounds that tell an idle timeout from a request timeout many times
// longer.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/net/http_client.hpp"
#include "support/http_test_server.hpp"
#include "support/run_sync.hpp"
#include "support/test_certs.hpp"

using namespace stirrup;
using namespace stirrup::net;
using namespace std::chrono_literals;
using stirrup::test::Exchange;
using stirrup::test::HttpTestServer;
using stirrup::test::Listener;
using stirrup::test::one_header;
using stirrup::test::run_sync;
namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {

HttpClientOptions test_options()
{
    HttpClientOptions o;
    o.tls.ca_file = stirrup::test::test_certs().ca_cert.string();
    o.use_env_proxy = false;
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 5ms;
    return o;
}

HttpRequest get(std::string url)
{
    HttpRequest r;
    r.url = std::move(url);
    return r;
}

awaitable<void> pause(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Polls (without asserting on time) until `done` or about 10 s passed.
template <class F>
awaitable<bool> eventually(F done)
{
    for (int i = 0; i < 1000; ++i) {
        if (done())
            co_return true;
        co_await pause(10ms);
    }
    co_return done();
}

awaitable<void> ok_handler(Exchange& x)
{
    co_await x.respond(200, "hello " + x.request.target, one_header("Content-Type", "text/plain"));
}

template <class E>
bool code_is(const E& e, std::errc c)
{
    // A condition, not a code: the cause may be in the system or generic category.
    return e.code() == c;
}

} // namespace

TEST_CASE("http: plain, TLS and unix requests")
{
    for (auto listener : {Listener::tcp, Listener::tls, Listener::unix_socket}) {
        CAPTURE(static_cast<int>(listener));
        HttpTestServer server(ok_handler, {.listener = listener});
        run_sync([&]() -> awaitable<void> {
            HttpClient client(co_await asio::this_coro::executor, test_options());
            HttpRequest r = get(server.url("/a?b=c"));
            r.method = "POST";
            r.headers.emplace_back("X-Test", "1");
            r.body = "payload";
            auto resp = co_await client.request(r);
            CHECK(resp.status == 200);
            CHECK(resp.body == "hello /a?b=c");
            CHECK(resp.header("content-type") == std::string_view("text/plain"));
            CHECK(resp.attempts == 1);
        });
        const auto got = server.received();
        REQUIRE(got.size() == 1);
        CHECK(got[0].method == "POST");
        CHECK(got[0].body == "payload");
        CHECK(got[0].header("X-Test") == "1");
        CHECK(got[0].header("User-Agent") == "stirrup-cpp");
        CHECK(got[0].header("Content-Length") == "7");
        if (listener == Listener::unix_socket)
            CHECK(got[0].header("Host") == "localhost");
        else
            CHECK(got[0].header("Host") == "127.0.0.1:" + std::to_string(server.port()));
    }
}

TEST_CASE("http: HEAD and 204 responses have no body")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.method == "HEAD")
            co_await x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
        else
            co_await x.send_raw("HTTP/1.1 204 No Content\r\n\r\n");
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        HttpRequest head = get(server.url());
        head.method = "HEAD";
        auto r1 = co_await client.request(head);
        CHECK(r1.status == 200);
        CHECK(r1.body.empty());
        auto r2 = co_await client.request(get(server.url()));
        CHECK(r2.status == 204);
        CHECK(client.stats().connections_opened == 1);
    });
}

TEST_CASE("http: pool reuse, one TLS handshake for many sequential requests")
{
    HttpTestServer server(ok_handler, {.listener = Listener::tls});
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        for (int i = 0; i < 25; ++i) {
            auto r = co_await client.request(get(server.url("/" + std::to_string(i))));
            CHECK(r.status == 200);
        }
        const auto s = client.stats();
        CHECK(s.tls_handshakes == 1);
        CHECK(s.connections_opened == 1);
        CHECK(s.requests_sent == 25);
        CHECK(s.retries == 0);
    });
    CHECK(server.handshakes() == 1);
    CHECK(server.connections() == 1);
}

TEST_CASE("http: a keep-alive connection the server closed while idle is replaced")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        co_await x.respond(200, "ok");
        x.close(); // after promising keep-alive
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.request(get(server.url()));
            CHECK(r.status == 200);
            CHECK(r.attempts == 1);
            co_await eventually([&] { return server.open_connections() == 0; });
        }
        CHECK(client.stats().retries == 0);
        CHECK(client.stats().connections_opened == 3);
    });
    CHECK(server.connections() == 3);
}

TEST_CASE("http: a reused connection closed as the request arrives is resent once, not retried")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.index_on_connection == 1) {
            x.close(); // the race of an idle timeout on the server
            co_return;
        }
        co_await x.respond(200, "ok");
    });
    run_sync([&]() -> awaitable<void> {
        HttpClientOptions o = test_options();
        o.retry.max_retries = 0;
        HttpClient client(co_await asio::this_coro::executor, o);
        CHECK((co_await client.request(get(server.url()))).status == 200);
        auto r = co_await client.request(get(server.url()));
        CHECK(r.status == 200);
        CHECK(r.attempts == 1);
        CHECK(client.stats().retries == 0);
        CHECK(client.stats().connections_opened == 2);
    });
    CHECK(server.requests() == 3);
}

TEST_CASE("http: retries on 429 with Retry-After, 500 and 503, with the exact number of attempts")
{
    for (int status : {429, 500, 503}) {
        CAPTURE(status);
        std::atomic<int> calls{0};
        HttpTestServer server([&](Exchange& x) -> awaitable<void> {
            if (calls++ < 2)
                co_await x.respond(status, "busy", one_header("Retry-After", "0"));
            else
                co_await x.respond(200, "done");
        });
        run_sync([&]() -> awaitable<void> {
            HttpClient client(co_await asio::this_coro::executor, test_options());
            auto r = co_await client.request(get(server.url()));
            CHECK(r.status == 200);
            CHECK(r.body == "done");
            CHECK(r.attempts == 3);
            CHECK(client.stats().retries == 2);
        });
        CHECK(server.requests() == 3);
        CHECK(server.connections() == 1); // error bodies were read: the connection was reused
    }
}

TEST_CASE("http: retry budget exhausted returns the last response")
{
    HttpTestServer server(
        [](Exchange& x) -> awaitable<void> { co_await x.respond(429, "slow down", one_header("Retry-After", "0")); });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto r = co_await client.request(get(server.url()));
        CHECK(r.status == 429);
        CHECK(r.body == "slow down");
        CHECK(r.attempts == 3);
        HttpRequest once = get(server.url());
        once.max_retries = 0;
        CHECK((co_await client.request(once)).attempts == 1);
    });
    CHECK(server.requests() == 4);
}

TEST_CASE("http: a Retry-After longer than the policy allows is not waited for")
{
    HttpTestServer server(
        [](Exchange& x) -> awaitable<void> { co_await x.respond(503, "", one_header("Retry-After", "3600")); });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto r = co_await client.request(get(server.url()));
        CHECK(r.status == 503);
        CHECK(r.attempts == 1);
    });
}

TEST_CASE("http: connection resets are retried, then surface as HttpTransportError")
{
    std::atomic<int> calls{0};
    HttpTestServer server([&](Exchange& x) -> awaitable<void> {
        if (calls++ == 0 || x.request.target == "/always") {
            x.reset();
            co_return;
        }
        co_await x.respond(200, "ok");
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto r = co_await client.request(get(server.url()));
        CHECK(r.status == 200);
        CHECK(r.attempts == 2);
        bool thrown = false;
        try {
            co_await client.request(get(server.url("/always")));
        } catch (const HttpTransportError& e) {
            thrown = true;
            CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
        }
        CHECK(thrown);
        CHECK(client.stats().retries == 3);
    });
    // The first attempt of /always went out on the kept-alive connection and
    // was resent once on a fresh one (not a retry), then retried twice.
    CHECK(server.requests() == 2 + 4);
}

TEST_CASE("http: no retry on 400 and 401")
{
    for (int status : {400, 401}) {
        HttpTestServer server([&](Exchange& x) -> awaitable<void> { co_await x.respond(status, "{\"error\":{}}"); });
        run_sync([&]() -> awaitable<void> {
            HttpClient client(co_await asio::this_coro::executor, test_options());
            auto r = co_await client.request(get(server.url()));
            CHECK(r.status == status);
            CHECK(r.attempts == 1);
            CHECK(r.body == "{\"error\":{}}");
        });
        CHECK(server.requests() == 1);
    }
}

TEST_CASE("http: x-should-retry overrides the status rules")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.target == "/yes")
            co_await x.respond(400, "", one_header("x-should-retry", "true"));
        else
            co_await x.respond(503, "", one_header("x-should-retry", "false"));
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        CHECK((co_await client.request(get(server.url("/yes")))).attempts == 3);
        CHECK((co_await client.request(get(server.url("/no")))).attempts == 1);
    });
    CHECK(server.requests() == 4);
}

TEST_CASE("http: TLS fails on an untrusted certificate and on a wrong host name")
{
    SUBCASE("untrusted")
    {
        HttpTestServer server(ok_handler, {.listener = Listener::tls});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            o.tls.ca_file.reset();
            o.retry.max_retries = 0;
            HttpClient client(co_await asio::this_coro::executor, o);
            bool thrown = false;
            try {
                co_await client.request(get(server.url()));
            } catch (const HttpTransportError& e) {
                thrown = true;
                CHECK(std::string(e.what()).find("TLS handshake") != std::string::npos);
            }
            CHECK(thrown);
        });
        CHECK(server.requests() == 0);
    }
    SUBCASE("wrong host name")
    {
        HttpTestServer server(ok_handler, {.listener = Listener::tls, .certificate = "wronghost"});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            o.retry.max_retries = 0;
            HttpClient client(co_await asio::this_coro::executor, o);
            bool thrown = false;
            try {
                co_await client.request(get(server.url()));
            } catch (const HttpTransportError&) {
                thrown = true;
            }
            CHECK(thrown);
            // localhost is not wrong-host.invalid either.
            thrown = false;
            try {
                co_await client.request(get("https://localhost:" + std::to_string(server.port()) + "/"));
            } catch (const HttpTransportError&) {
                thrown = true;
            }
            CHECK(thrown);
        });
        CHECK(server.requests() == 0);
    }
    SUBCASE("SSL_CERT_FILE is honoured")
    {
        HttpTestServer server(ok_handler, {.listener = Listener::tls});
        stirrup::test::ScopedEnv env({{"SSL_CERT_FILE", stirrup::test::test_certs().ca_cert.string()}});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            o.tls.ca_file.reset();
            HttpClient client(co_await asio::this_coro::executor, o);
            CHECK((co_await client.request(get(server.url()))).status == 200);
        });
    }
}

TEST_CASE("http: a refused certificate's error names the reason, and keeps OpenSSL's code")
{
    struct Case {
        const char* certificate;
        const char* host;
        std::string reason;
    };
    const std::string cn_only =
        ": the certificate has no subjectAltName, and a name only in its subject CN is not accepted";
    const Case cases[] = {
        {"untrusted", "127.0.0.1", "unable to get local issuer certificate"},
        {"expired", "127.0.0.1", "certificate has expired"},
        {"wronghost", "127.0.0.1", "IP address mismatch"},
        {"wronghost", "localhost", "hostname mismatch"},
        // CN=localhost without a subjectAltName: OpenSSL alone accepts it.
        {"cnonly", "localhost", "hostname mismatch" + cn_only},
        {"cnonly", "127.0.0.1", "IP address mismatch" + cn_only},
    };
    for (const auto& c : cases) {
        CAPTURE(c.certificate);
        CAPTURE(c.host);
        HttpTestServer server(ok_handler, {.listener = Listener::tls, .certificate = c.certificate});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            o.retry.max_retries = 0;
            HttpClient client(co_await asio::this_coro::executor, o);
            std::string what;
            std::error_code code;
            try {
                co_await client.request(
                    get("https://" + std::string(c.host) + ":" + std::to_string(server.port()) + "/"));
            } catch (const HttpTransportError& e) {
                what = e.what();
                code = e.code();
            }
            INFO(what);
            CHECK(what.find("TLS handshake with " + std::string(c.host) + ", certificate refused (" + c.reason + ")") !=
                  std::string::npos);
            CHECK(std::string_view(code.category().name()) == asio::error::get_ssl_category().name());
            CHECK(code.message().find("certificate verify failed") != std::string::npos);
        });
        CHECK(server.requests() == 0);
    }
    // With retries allowed, a refusal is still final: one handshake, not three.
    {
        HttpTestServer expired(ok_handler, {.listener = Listener::tls, .certificate = "expired"});
        run_sync([&]() -> awaitable<void> {
            HttpClient client(co_await asio::this_coro::executor, test_options());
            bool refused = false;
            try {
                co_await client.request(get("https://127.0.0.1:" + std::to_string(expired.port()) + "/"));
            } catch (const HttpCertificateRefused&) {
                refused = true;
            }
            CHECK(refused);
            CHECK(client.stats().tls_handshakes == 1);
            CHECK(client.stats().retries == 0);
        });
    }
    // The certificate the others were made beside is accepted, by either name.
    HttpTestServer server(ok_handler, {.listener = Listener::tls});
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        for (const char* host : {"127.0.0.1", "localhost"}) {
            CAPTURE(host);
            CHECK((co_await client.request(
                       get("https://" + std::string(host) + ":" + std::to_string(server.port()) + "/")))
                      .status == 200);
        }
    });
}

TEST_CASE("http: cancelling one request closes only its connection")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.target == "/stall")
            co_await x.stall();
        else if (x.request.target == "/slow")
            co_await x.sleep(100ms);
        co_await x.respond(200, "ok");
    });
    run_sync([&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        HttpClient client(ex, test_options());
        asio::cancellation_signal signal;
        std::exception_ptr stalled_error;
        bool stalled_done = false;
        asio::co_spawn(ex, client.request(get(server.url("/stall"))),
                       asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, HttpResponse) {
                           stalled_error = e;
                           stalled_done = true;
                       }));
        co_await eventually([&] { return server.requests() == 1; });
        // A second request in flight on its own connection.
        bool slow_ok = false;
        asio::co_spawn(ex, client.request(get(server.url("/slow"))),
                       [&](std::exception_ptr e, HttpResponse r) { slow_ok = !e && r.status == 200; });
        co_await eventually([&] { return server.requests() == 2; });
        signal.emit(asio::cancellation_type::terminal);
        co_await eventually([&] { return stalled_done && slow_ok; });
        REQUIRE(stalled_done);
        CHECK(slow_ok);
        bool aborted = false;
        try {
            std::rethrow_exception(stalled_error);
        } catch (const boost::system::system_error& e) {
            aborted = e.code() == asio::error::operation_aborted;
        }
        CHECK(aborted);
        CHECK(co_await eventually([&] { return server.open_connections() == 1; }));
        // The client is still usable and reuses the surviving connection.
        CHECK((co_await client.request(get(server.url()))).status == 200);
        CHECK(client.stats().connections_opened == 2);
        CHECK(client.stats().retries == 0);
    });
}

TEST_CASE("http: request timeout")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> { co_await x.stall(); });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        HttpRequest r = get(server.url());
        r.timeout = 100ms;
        r.max_retries = 1;
        bool timed_out = false;
        try {
            co_await client.request(r);
        } catch (const HttpTransportError& e) {
            timed_out = code_is(e, std::errc::timed_out);
            CAPTURE(e.what());
            CHECK(timed_out);
        }
        CHECK(timed_out);
        CHECK(client.stats().retries == 1);
    });
    CHECK(server.requests() == 2);
}

TEST_CASE("http: a server that accepts and never answers fails the attempt after the idle timeout, not the request "
          "timeout")
{
    for (auto listener : {Listener::tcp, Listener::tls, Listener::unix_socket}) {
        CAPTURE(static_cast<int>(listener));
        HttpTestServer server([](Exchange& x) -> awaitable<void> { co_await x.stall(); }, {.listener = listener});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            // Far longer than the idle timeout: hitting it fails the bound below.
            o.timeouts.request = 30s;
            o.timeouts.idle = 200ms;
            o.retry.max_retries = 1;
            HttpClient client(co_await asio::this_coro::executor, o);
            for (const bool streamed : {false, true}) {
                CAPTURE(streamed);
                const auto started = std::chrono::steady_clock::now();
                std::string what;
                bool timed_out = false;
                try {
                    if (streamed)
                        co_await client.stream(get(server.url()));
                    else
                        co_await client.request(get(server.url()));
                } catch (const HttpTransportError& e) {
                    timed_out = code_is(e, std::errc::timed_out);
                    what = e.what();
                }
                const auto took = std::chrono::steady_clock::now() - started;
                INFO(what);
                CHECK(timed_out);
                CHECK(what.find("reading the response header: no data from the server for 0.2 s (the idle timeout)") !=
                      std::string::npos);
                // Two attempts of 0.2 s; a request timeout would be 60 s.
                CHECK(took < 20s);
            }
            // A transport error like any other: retried within the budget.
            CHECK(client.stats().retries == 2);

            // Per request, the idle timeout can be longer or shorter.
            HttpRequest r = get(server.url());
            r.idle_timeout = 100ms;
            r.max_retries = 0;
            std::string what;
            try {
                co_await client.request(r);
            } catch (const HttpTransportError& e) {
                what = e.what();
            }
            CHECK(what.find("no data from the server for 0.1 s (the idle timeout)") != std::string::npos);
        });
        CHECK(server.requests() == 5);
    }
}

TEST_CASE("http: an answer that trickles in steadily is not cut by the idle timeout; the request timeout still holds")
{
    // A byte every 25 ms: header and body take several idle timeouts in all,
    // each gap a small fraction of one.
    const auto trickle = [](Exchange& x, std::string bytes, bool endless) -> awaitable<void> {
        for (std::size_t i = 0; endless || i < bytes.size(); ++i) {
            co_await x.send_raw(std::string(1, endless && i >= bytes.size() ? 'x' : bytes[i]));
            co_await x.sleep(25ms);
        }
    };
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nslow but sure";
    HttpTestServer server([&](Exchange& x) -> awaitable<void> {
        if (x.request.target == "/endless")
            co_await trickle(x, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", true);
        else
            co_await trickle(x, answer, false);
    });
    run_sync([&]() -> awaitable<void> {
        HttpClientOptions o = test_options();
        o.timeouts.idle = 300ms;
        o.retry.max_retries = 0;
        HttpClient client(co_await asio::this_coro::executor, o);
        const auto resp = co_await client.request(get(server.url("/slow")));
        CHECK(resp.status == 200);
        CHECK(resp.body == "slow but sure");
        auto s = co_await client.stream(get(server.url("/slow")));
        std::string streamed;
        while (auto piece = co_await s.read_some())
            streamed += *piece;
        CHECK(streamed == "slow but sure");

        HttpRequest r = get(server.url("/endless"));
        r.timeout = 3s;
        std::string what;
        try {
            co_await client.request(r);
        } catch (const HttpTransportError& e) {
            CHECK(code_is(e, std::errc::timed_out));
            what = e.what();
        }
        CHECK(what.find("reading the response body: the request timeout ran out") != std::string::npos);
    });
}

TEST_CASE("http: a chunked stream is read piece by piece, then the connection is reused")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.target == "/stream") {
            std::vector<std::string> pieces{"data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"};
            co_await x.respond_chunked(200, pieces, one_header("Content-Type", "text/event-stream"), 30ms);
        } else {
            co_await x.respond(200, "after");
        }
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto s = co_await client.stream(get(server.url("/stream")));
        CHECK(s.status() == 200);
        CHECK(s.header("content-type") == std::string_view("text/event-stream"));
        std::string all;
        int pieces = 0;
        for (;;) {
            auto piece = co_await s.read_some();
            if (!piece)
                break;
            ++pieces;
            all += *piece;
        }
        CHECK(all == "data: one\n\ndata: two\n\ndata: [DONE]\n\n");
        CHECK(pieces >= 2);
        CHECK_FALSE((co_await s.read_some()).has_value());
        const auto after = co_await client.request(get(server.url()));
        CHECK(after.body == "after");
        CHECK(client.stats().connections_opened == 1);
    });
}

TEST_CASE("http: a stream abandoned before its end does not return its connection")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.target == "/stream") {
            std::vector<std::string> pieces{"a", "b", "c"};
            co_await x.respond_chunked(200, pieces, {}, 50ms);
        } else {
            co_await x.respond(200, "after");
        }
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        {
            auto s = co_await client.stream(get(server.url("/stream")));
            CHECK((co_await s.read_some()).has_value());
        }
        const auto after = co_await client.request(get(server.url()));
        CHECK(after.body == "after");
        CHECK(client.stats().connections_opened == 2);
    });
}

TEST_CASE("http: stream idle timeout")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        co_await x.send_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
        co_await x.stall();
    });
    run_sync([&]() -> awaitable<void> {
        HttpClientOptions o = test_options();
        o.timeouts.idle = 100ms;
        HttpClient client(co_await asio::this_coro::executor, o);
        auto s = co_await client.stream(get(server.url()));
        const auto first = co_await s.read_some();
        CHECK(first == std::string("first"));
        bool timed_out = false;
        try {
            co_await s.read_some();
        } catch (const HttpTransportError& e) {
            timed_out = code_is(e, std::errc::timed_out);
            CAPTURE(e.what());
            CHECK(timed_out);
            CHECK(std::string(e.what()).find("reading the response body: no data from the server for 0.1 s (the idle "
                                             "timeout)") != std::string::npos);
        }
        CHECK(timed_out);
        bool again = false;
        try {
            co_await s.read_some();
        } catch (const HttpTransportError&) {
            again = true;
        }
        CHECK(again);
    });
}

TEST_CASE("http: a stream dropped mid-body is an HttpTransportError, never retried")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        co_await x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        x.close();
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto s = co_await client.stream(get(server.url()));
        std::string got;
        bool dropped = false;
        try {
            while (auto piece = co_await s.read_some())
                got += *piece;
        } catch (const HttpTransportError&) {
            dropped = true;
        }
        CHECK(dropped);
        CHECK(got == "partial");
        CHECK(client.stats().retries == 0);
    });
    CHECK(server.requests() == 1);
}

TEST_CASE("http: a whole-body request dropped mid-body is retried")
{
    std::atomic<int> calls{0};
    HttpTestServer server([&](Exchange& x) -> awaitable<void> {
        if (calls++ == 0) {
            co_await x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
            x.close();
            co_return;
        }
        co_await x.respond(200, "complete");
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto r = co_await client.request(get(server.url()));
        CHECK(r.body == "complete");
        CHECK(r.attempts == 2);
    });
}

TEST_CASE("http: stream() retries a 503 before handing out the headers")
{
    std::atomic<int> calls{0};
    HttpTestServer server([&](Exchange& x) -> awaitable<void> {
        if (calls++ == 0)
            co_await x.respond(503, "overloaded");
        else
            co_await x.respond_chunked(200, stirrup::test::strings("x"));
    });
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, test_options());
        auto s = co_await client.stream(get(server.url()));
        CHECK(s.status() == 200);
        const auto x = co_await s.read_some();
        CHECK(x == std::string("x"));
        CHECK(client.stats().retries == 1);
    });
}

TEST_CASE("http: HTTPS through a CONNECT proxy, bypassed by NO_PROXY")
{
    HttpTestServer server(ok_handler, {.listener = Listener::tls});
    stirrup::test::ConnectProxy proxy;
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
    {
        stirrup::test::ScopedEnv env({{"HTTPS_PROXY", proxy_url}, {"NO_PROXY", "example.invalid"}});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            o.use_env_proxy = true;
            HttpClient client(co_await asio::this_coro::executor, o);
            CHECK((co_await client.request(get(server.url("/p1")))).status == 200);
            CHECK((co_await client.request(get(server.url("/p2")))).status == 200);
        });
        const auto tunnels = proxy.tunnels();
        REQUIRE(tunnels.size() == 1); // one tunnel, reused
        CHECK(tunnels[0] == "127.0.0.1:" + std::to_string(server.port()));
    }
    {
        stirrup::test::ScopedEnv env({{"HTTPS_PROXY", proxy_url}, {"NO_PROXY", "localhost,127.0.0.1"}});
        run_sync([&]() -> awaitable<void> {
            HttpClientOptions o = test_options();
            o.use_env_proxy = true;
            HttpClient client(co_await asio::this_coro::executor, o);
            CHECK((co_await client.request(get(server.url("/direct")))).status == 200);
        });
        CHECK(proxy.tunnels().size() == 1);
    }
    CHECK(server.handshakes() == 2);
}

TEST_CASE("http: plain HTTP through a proxy uses absolute-form targets")
{
    // The test server stands in for the proxy: it just records what it got.
    HttpTestServer proxy(ok_handler);
    stirrup::test::ScopedEnv env({{"HTTP_PROXY", "127.0.0.1:" + std::to_string(proxy.port())}, {"NO_PROXY", ""}});
    run_sync([&]() -> awaitable<void> {
        HttpClientOptions o = test_options();
        o.use_env_proxy = true;
        HttpClient client(co_await asio::this_coro::executor, o);
        CHECK((co_await client.request(get("http://example.invalid:8080/x?y=1"))).status == 200);
    });
    const auto got = proxy.received();
    REQUIRE(got.size() == 1);
    CHECK(got[0].target == "http://example.invalid:8080/x?y=1");
    CHECK(got[0].header("Host") == "example.invalid:8080");
}

TEST_CASE("http: waiting for a free connection is bounded by the request timeout")
{
    HttpTestServer server([](Exchange& x) -> awaitable<void> {
        if (x.request.target == "/stall")
            co_await x.stall();
        co_await x.respond(200, "ok");
    });
    run_sync([&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        HttpClientOptions o = test_options();
        o.pool.max_connections_per_host = 1;
        o.retry.max_retries = 0;
        HttpClient client(ex, o);
        asio::cancellation_signal signal;
        bool stalled_done = false;
        asio::co_spawn(ex, client.request(get(server.url("/stall"))),
                       asio::bind_cancellation_slot(signal.slot(),
                                                    [&](std::exception_ptr, HttpResponse) { stalled_done = true; }));
        co_await eventually([&] { return server.requests() == 1; });
        HttpRequest r = get(server.url());
        r.timeout = 100ms;
        bool timed_out = false;
        try {
            co_await client.request(r);
        } catch (const HttpTransportError& e) {
            timed_out = code_is(e, std::errc::timed_out);
        }
        CHECK(timed_out);
        CHECK(server.requests() == 1); // it never got a connection
        signal.emit(asio::cancellation_type::terminal);
        co_await eventually([&] { return stalled_done; });
        // The cancelled request gave its slot back.
        CHECK((co_await client.request(get(server.url()))).status == 200);
    });
}

TEST_CASE("http: connections being opened at once are bounded by max_opening; the wait by the request timeout")
{
    SUBCASE("requests wait their turn to open, and all complete")
    {
        HttpTestServer server(ok_handler, {.listener = Listener::tls});
        run_sync([&]() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            HttpClientOptions o = test_options();
            o.pool.max_opening = 2;
            HttpClient client(ex, o);
            constexpr int n = 8;
            int ok = 0, done = 0;
            for (int i = 0; i < n; ++i)
                asio::co_spawn(ex, client.request(get(server.url())), [&](std::exception_ptr e, HttpResponse r) {
                    ok += !e && r.status == 200;
                    ++done;
                });
            co_await eventually([&] { return done == n; });
            CHECK(ok == n);
            const auto st = client.stats();
            CHECK(st.connections_opened == n);
            CHECK(st.opens_queued == n - 2); // the first two found the gate open
            CHECK(st.opens_peak_waiting == n - 2);
        });
        CHECK(server.handshakes() == 8);
    }
    SUBCASE("a request whose deadline passes in the queue fails without connecting; cancelling frees the gate")
    {
        HttpTestServer server(ok_handler, {.listener = Listener::tls});
        run_sync([&]() -> awaitable<void> {
            auto ex = co_await asio::this_coro::executor;
            // Accepts and never answers: a TLS handshake with it hangs.
            tcp::acceptor silent(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
            std::vector<tcp::socket> accepted;
            asio::co_spawn(
                ex,
                [&]() -> awaitable<void> {
                    for (;;)
                        accepted.push_back(co_await silent.async_accept(asio::use_awaitable));
                },
                asio::detached);
            const std::string hanging = "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/";

            HttpClientOptions o = test_options();
            o.pool.max_opening = 1;
            o.retry.max_retries = 0;
            HttpClient client(ex, o);
            asio::cancellation_signal signal;
            bool first_done = false;
            asio::co_spawn(ex, client.request(get(hanging)),
                           asio::bind_cancellation_slot(signal.slot(),
                                                        [&](std::exception_ptr, HttpResponse) { first_done = true; }));
            co_await eventually([&] { return accepted.size() == 1; });

            HttpRequest r = get(hanging);
            r.timeout = 150ms;
            bool timed_out = false;
            try {
                co_await client.request(r);
            } catch (const HttpTransportError& e) {
                timed_out = code_is(e, std::errc::timed_out) &&
                            std::string(e.what()).find("waiting to open a connection") != std::string::npos;
            }
            CHECK(timed_out);
            CHECK(accepted.size() == 1); // it never connected

            signal.emit(asio::cancellation_type::terminal);
            co_await eventually([&] { return first_done; });
            CHECK((co_await client.request(get(server.url()))).status == 200);
            silent.close();
        });
    }
}

TEST_CASE("http: a thousand concurrent requests through one pool with a per-host limit, on four threads")
{
    HttpTestServer server(ok_handler, {.listener = Listener::tls});
    asio::io_context io;
    HttpClientOptions o = test_options();
    o.pool.max_connections_per_host = 8;
    HttpClient client(io.get_executor(), o);
    constexpr int n = 1000;
    std::atomic<int> ok{0}, failed{0};
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(io, client.request(get(server.url("/" + std::to_string(i)))),
                       [&ok, &failed, i](std::exception_ptr e, HttpResponse r) {
                           if (!e && r.status == 200 && r.body == "hello /" + std::to_string(i))
                               ++ok;
                           else
                               ++failed;
                       });
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&io] { io.run(); });
    for (auto& t : threads)
        t.join();
    CHECK(ok == n);
    CHECK(failed == 0);
    CHECK(server.requests() == n);
    CHECK(server.max_open_connections() <= 8);
    CHECK(client.stats().connections_opened <= 8);
    CHECK(client.stats().tls_handshakes == client.stats().connections_opened);
}
