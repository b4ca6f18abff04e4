// The HTTP client's response limits against a real server socket: a body
// past max_body_bytes (declared, chunked without end, or delimited by the
// close and without end) and a header past max_header_bytes fail at once
// with HttpResponseTooLarge, are not retried, close their connection instead
// of pooling it, and leave the client usable. Streams are not limited.

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/this_coro.hpp>

#include "stirrup/net/http_client.hpp"
#include "support/http_test_server.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace stirrup::net;
using namespace std::chrono_literals;
using stirrup::test::Exchange;
using stirrup::test::HttpTestServer;
using stirrup::test::run_sync;
namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr std::size_t kLimit = 64 * 1024;

HttpClientOptions limited_options()
{
    HttpClientOptions o;
    o.use_env_proxy = false;
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 5ms;
    o.limits.max_body_bytes = kLimit;
    return o;
}

HttpRequest get(std::string url)
{
    HttpRequest r;
    r.url = std::move(url);
    // Long enough that waiting for a body instead of refusing it would show
    // as a timeout, not as the error the tests expect.
    r.timeout = 20s;
    return r;
}

// Writes until the client hangs up (the write then throws, ending the handler).
awaitable<void> forever(Exchange& x, const std::string& piece)
{
    for (;;)
        co_await x.send_raw(piece);
}

awaitable<void> handler(Exchange& x)
{
    const std::string& t = x.request.target;
    if (t == "/declared") {
        // 10 GiB announced, a little sent, then silence: refused on the header.
        co_await x.send_raw("HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\nxxxx");
        co_await x.stall();
    } else if (t == "/chunked") {
        co_await x.send_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        const std::string chunk = "1000\r\n" + std::string(0x1000, 'c') + "\r\n";
        co_await forever(x, chunk);
    } else if (t == "/until-close") {
        co_await x.send_raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        const std::string piece(16 * 1024, 'u');
        co_await forever(x, piece);
    } else if (t == "/exact") {
        std::string body(kLimit, 'e');
        co_await x.respond(200, std::move(body));
    } else if (t == "/big-header") {
        std::string answer =
            "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100 * 1024, 'h') + "\r\nContent-Length: 2\r\n\r\nok";
        co_await x.send_raw(std::move(answer));
    } else if (t == "/stream") {
        std::vector<std::string> pieces(6, std::string(kLimit / 2, 's'));
        co_await x.respond_chunked(200, std::move(pieces));
    } else {
        co_await x.respond(200, "fine");
    }
}

struct Refusal {
    bool thrown = false;
    std::error_code code;
    int status = -1;
    std::size_t limit = 0;
    std::string what;
};

awaitable<Refusal> refused(HttpClient& client, HttpRequest r)
{
    Refusal out;
    try {
        co_await client.request(std::move(r));
    } catch (const HttpResponseTooLarge& e) {
        out.thrown = true;
        out.code = e.code();
        out.status = e.status();
        out.limit = e.limit();
        out.what = e.what();
    }
    co_return out;
}

} // namespace

TEST_CASE("http limits: a body past max_body_bytes fails, declared, chunked or until the close, and the client goes on")
{
    HttpTestServer server(handler);
    for (const char* target : {"/declared", "/chunked", "/until-close"}) {
        CAPTURE(target);
        run_sync([&]() -> awaitable<void> {
            HttpClient client(co_await asio::this_coro::executor, limited_options());
            // A pooled connection first, so the failing request reuses it.
            CHECK((co_await client.request(get(server.url("/ok")))).body == "fine");
            const Refusal r = co_await refused(client, get(server.url(target)));
            CHECK(r.thrown);
            CHECK(r.code == HttpErrc::body_too_large);
            CHECK(r.status == 200);
            CHECK(r.limit == kLimit);
            CHECK(r.what.find("max_body_bytes") != std::string::npos);
            CHECK(client.stats().retries == 0);
            CHECK(client.stats().connections_opened == 1);
            // The next request works, on a new connection: the refused one
            // was closed with its answer half-read, not pooled.
            const HttpResponse after = co_await client.request(get(server.url("/ok")));
            CHECK(after.status == 200);
            CHECK(after.body == "fine");
            CHECK(client.stats().connections_opened == 2);
        });
    }
    // One request per attempt: nothing was retried.
    CHECK(server.requests() == 9);
}

TEST_CASE("http limits: a body of exactly the limit is accepted; the limit can be set per request")
{
    HttpTestServer server(handler);
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, limited_options());
        const HttpResponse exact = co_await client.request(get(server.url("/exact")));
        CHECK(exact.body.size() == kLimit);
        HttpRequest small = get(server.url("/ok"));
        small.max_body_bytes = 3;
        const Refusal r = co_await refused(client, small);
        CHECK(r.thrown);
        CHECK(r.limit == 3);
        HttpRequest larger = get(server.url("/stream"));
        larger.max_body_bytes = 4 * kLimit;
        const HttpResponse big = co_await client.request(larger);
        CHECK(big.body.size() == 3 * kLimit);
    });
}

TEST_CASE("http limits: a header past max_header_bytes fails without a retry, and the client goes on")
{
    HttpTestServer server(handler);
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, limited_options());
        const Refusal r = co_await refused(client, get(server.url("/big-header")));
        CHECK(r.thrown);
        CHECK(r.code == HttpErrc::header_too_large);
        CHECK(r.status == 0);
        CHECK(r.limit == client.options().limits.max_header_bytes);
        CHECK(r.what.find("max_header_bytes") != std::string::npos);
        CHECK(client.stats().retries == 0);
        CHECK((co_await client.request(get(server.url("/ok")))).body == "fine");
    });
    CHECK(server.requests() == 2);
}

TEST_CASE("http limits: a stream is read past max_body_bytes, piece by piece")
{
    HttpTestServer server(handler);
    run_sync([&]() -> awaitable<void> {
        HttpClient client(co_await asio::this_coro::executor, limited_options());
        HttpStream s = co_await client.stream(get(server.url("/stream")));
        std::size_t total = 0;
        for (;;) {
            const std::optional<std::string> piece = co_await s.read_some();
            if (!piece)
                break;
            total += piece->size();
        }
        CHECK(total == 3 * kLimit);
    });
}
