// The E2B backend when E2B misbehaves (the fake's fault injection): rate
// limits and 5xx on create (retried, or a clear error), a wrong API key, a
// slow create cancelled half-way, a sandbox that vanishes mid-command, a
// stream dropped mid-command, a kill answered 404; and the creation gate:
// Stirrup's order (gate, then create), and 100 sessions through one gate.
// Each ends with no live sandbox and no running process on the fake.

#include <doctest/doctest.h>

#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/creation_gate.hpp"
#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/net/http_client.hpp"
#include "support/eventually.hpp"
#include "support/fake_e2b.hpp"
#include "support/run_sync.hpp"

using namespace std::chrono_literals;
using stirrup::CommandResult;
using stirrup::E2BCodeExec;
using stirrup::E2BCodeExecOptions;
using stirrup::e2b::E2BError;
using stirrup::e2b::ErrorCategory;
using stirrup::test::check_fake_e2b_clean;
using stirrup::test::eventually;
using stirrup::test::FakeE2B;
using stirrup::test::fresh_fake_e2b;
using stirrup::test::run_sync;
namespace asio = boost::asio;

namespace {

// Starts, runs `fn`, stops: returns the E2BError start threw, if any.
std::optional<E2BError> start_error(E2BCodeExecOptions options)
{
    auto env = E2BCodeExec::make(std::move(options));
    try {
        run_sync([&]() -> asio::awaitable<void> {
            co_await env->start();
            co_await env->stop();
        });
    } catch (const E2BError& e) {
        return e;
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("e2b faults: 429 on create is retried after Retry-After")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"create_429":{"count":2,"retry_after":1}})");
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(start_error(fake.provider_options()));
    CHECK(std::chrono::steady_clock::now() - t0 >= 1900ms);
    CHECK(fake.route_count("POST /sandboxes") == 3);
    CHECK(fake.stats().at("created") == 1);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: a Retry-After longer than allowed, or too many 429s, is a rate-limit error")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"create_429":{"count":1,"retry_after":120}})");
    auto e = start_error(fake.provider_options());
    REQUIRE(e);
    CHECK(e->category() == ErrorCategory::rate_limited);
    CHECK(e->status() == 429);
    CHECK(fake.route_count("POST /sandboxes") == 1);

    fake.reset();
    fake.set_faults(R"({"create_429":{"count":5,"retry_after":0}})");
    auto options = fake.provider_options();
    options.max_create_retries = 2;
    e = start_error(options);
    REQUIRE(e);
    CHECK(e->category() == ErrorCategory::rate_limited);
    CHECK(std::string(e->what()).find("sandbox create failed (HTTP 429)") != std::string::npos);
    CHECK(fake.route_count("POST /sandboxes") == 3);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: 503 on create is retried with backoff, then reported")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"create_5xx":{"count":2,"status":503}})");
    CHECK_FALSE(start_error(fake.provider_options()));
    CHECK(fake.route_count("POST /sandboxes") == 3);

    fake.reset();
    fake.set_faults(R"({"create_5xx":{"count":10,"status":500}})");
    auto e = start_error(fake.provider_options());
    REQUIRE(e);
    CHECK(e->category() == ErrorCategory::server);
    CHECK(e->status() == 500);
    CHECK(fake.route_count("POST /sandboxes") == 1); // 500 is not "busy": not retried
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: a wrong API key is an authentication error")
{
    auto& fake = fresh_fake_e2b();
    auto options = fake.provider_options();
    options.api_key = "e2b_ffffffffffffffffffffffffffffffffffffffff";
    auto e = start_error(options);
    REQUIRE(e);
    CHECK(e->category() == ErrorCategory::authentication);
    CHECK(e->status() == 401);
    CHECK(std::string(e->what()).find("E2B_API_KEY") != std::string::npos);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: a start cancelled while the create is in flight kills the sandbox it made")
{
    using namespace asio::experimental::awaitable_operators;
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"create_delay_ms":800})");
    auto env = E2BCodeExec::make(fake.provider_options());
    bool aborted = false;
    run_sync([&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
        try {
            auto which = co_await (env->start() || timer.async_wait(asio::use_awaitable));
            CHECK(which.index() == 1);
            aborted = true;
        } catch (const boost::system::system_error& e) {
            aborted = e.code() == asio::error::operation_aborted;
        }
    });
    CHECK(aborted);
    CHECK_FALSE(env->started());
    CHECK(fake.stats().at("created") == 1);
    CHECK(fake.stats().at("killed") == 1);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: a sandbox that vanishes mid-command is a sandbox_gone error, and stop still succeeds")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"vanish_on_command":"VANISH-NOW"})");
    std::vector<std::string> warnings;
    auto options = fake.provider_options();
    options.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
    auto env = E2BCodeExec::make(options);
    std::optional<E2BError> error;
    run_sync([&]() -> asio::awaitable<void> {
        co_await env->start();
        try {
            co_await env->run_command("echo VANISH-NOW; sleep 30");
        } catch (const E2BError& e) {
            error = e;
        }
        // The next call learns it from envd's proxy (502).
        try {
            co_await env->read_file("x");
        } catch (const E2BError& e) {
            CHECK(e.category() == ErrorCategory::sandbox_gone);
        }
        co_await env->stop();
    });
    REQUIRE(error);
    CHECK((error->category() == ErrorCategory::transport || error->category() == ErrorCategory::sandbox_gone));
    CHECK(warnings.empty()); // a kill answered 404 is what stop wanted
    CHECK(fake.stats().at("vanished") == 1);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: a stream dropped mid-command is an error, and the orphaned process is killed")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"drop_stream_on_command":"DROP-ME"})");
    std::optional<E2BError> error;
    auto env = E2BCodeExec::make(fake.provider_options());
    run_sync([&]() -> asio::awaitable<void> {
        co_await env->start();
        try {
            co_await env->run_command("echo DROP-ME; sleep 30");
        } catch (const E2BError& e) {
            error = e;
        }
        CHECK(eventually([&] { return fake.running_processes() == 0; }));
        fake.clear_faults();
        const CommandResult r = co_await env->run_command("echo fine");
        CHECK(r.stdout_text == "fine\n");
        co_await env->stop();
    });
    REQUIRE(error);
    CHECK(error->category() == ErrorCategory::transport);
    CHECK(fake.route_count("POST /process.Process/SendSignal") == 1);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b faults: a kill answered 404 means already gone")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"kill_404":true})");
    std::vector<std::string> warnings;
    auto options = fake.provider_options();
    options.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
    CHECK_FALSE(start_error(options));
    CHECK(warnings.empty());
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b gate: the gate is entered before the create, and a live limit holds the next session back")
{
    auto& fake = fresh_fake_e2b();
    asio::io_context io;
    auto gate = stirrup::CreationGate::make(io.get_executor(), {10, 1s, std::size_t{1}});
    auto options = fake.provider_options();
    options.creation_gate = gate;
    auto first = E2BCodeExec::make(options);
    auto second = E2BCodeExec::make(options);
    std::vector<std::string> events;
    struct Session {
        E2BCodeExec* env;
        std::vector<std::string>* events;
        std::string name;
        asio::awaitable<void> operator()() const
        {
            co_await env->start();
            events->push_back(name + " started");
            asio::steady_timer t(co_await asio::this_coro::executor, 500ms);
            co_await t.async_wait(asio::use_awaitable);
            events->push_back(name + " stopping");
            co_await env->stop();
        }
    };
    const Session a{first.get(), &events, "a"};
    const Session b{second.get(), &events, "b"};
    asio::co_spawn(io, a(), asio::detached);
    asio::co_spawn(io, b(), asio::detached);
    // While `a` holds the only live slot, `b` waits in the gate and has made
    // no create request.
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (events.empty() && std::chrono::steady_clock::now() < limit)
        io.run_for(20ms);
    REQUIRE(events == stirrup::test::strings("a started"));
    CHECK(gate->stats().waiting == 1);
    CHECK(gate->stats().live == 1);
    CHECK(fake.route_count("POST /sandboxes") == 1);
    io.run();
    CHECK(events == stirrup::test::strings("a started", "a stopping", "b started", "b stopping"));
    CHECK(fake.route_count("POST /sandboxes") == 2);
    CHECK(gate->stats().live == 0);
    check_fake_e2b_clean(fake);
}

namespace {

asio::awaitable<void> one_session(E2BCodeExecOptions options, int* ok, int* failed)
{
    auto env = E2BCodeExec::make(std::move(options));
    try {
        co_await env->start();
        const CommandResult r = co_await env->run_command("echo $((6 * 7))");
        if (r.exit_code == 0 && r.stdout_text == "42\n")
            ++*ok;
        else
            ++*failed;
    } catch (const std::exception& e) {
        MESSAGE("session failed: " << e.what());
        ++*failed;
    }
    co_await env->stop();
}

} // namespace

TEST_CASE("e2b gate: 100 sessions create sandboxes concurrently through one gate")
{
    auto& fake = fresh_fake_e2b();
    asio::io_context io;
    auto gate = stirrup::CreationGate::make(io.get_executor(), {50, 1s, std::size_t{20}});
    auto options = fake.provider_options();
    options.creation_gate = gate;
    // One HTTP client for all: a pool of keep-alive connections.
    options.http = std::make_shared<stirrup::net::HttpClient>(io.get_executor(), options.http_options);
    int ok = 0, failed = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i)
        asio::co_spawn(io, one_session(options, &ok, &failed), asio::detached);
    io.run();
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(ok == 100);
    CHECK(failed == 0);
    CHECK(gate->stats().granted == 100);
    CHECK(gate->stats().live == 0);
    // 50 per second: the last 50 creations had to wait for the second window.
    CHECK(took >= 1s);
    const auto stats = fake.stats();
    CHECK(stats.at("created") == 100);
    CHECK(stats.at("killed") == 100);
    // The pool reused connections: at most 20 sessions were ever live at once.
    CHECK(options.http->stats().tls_handshakes <= 40);
    check_fake_e2b_clean(fake);
}
