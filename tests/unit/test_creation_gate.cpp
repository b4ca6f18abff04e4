// The sandbox creation gate: the rate window, the live limit, FIFO order,
// cancellation of a queued wait, and many threads at once.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/creation_gate.hpp"

using namespace std::chrono_literals;
using stirrup::CreationGate;
using stirrup::CreationGateOptions;
using stirrup::CreationPermit;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// A free coroutine: its parameters live in its frame (a member coroutine of
// a temporary would outlive its object).
asio::awaitable<void> acquirer(std::shared_ptr<CreationGate> gate, int index, std::mutex* mutex,
                               std::vector<std::pair<int, Clock::time_point>>* order, std::chrono::milliseconds hold)
{
    CreationPermit permit = co_await gate->acquire();
    {
        std::lock_guard lock(*mutex);
        order->emplace_back(index, Clock::now());
    }
    if (hold.count() > 0) {
        asio::steady_timer t(co_await asio::this_coro::executor, hold);
        co_await t.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> worker(std::shared_ptr<CreationGate> gate, std::atomic<int>* live, std::atomic<int>* peak,
                             std::atomic<int>* done)
{
    CreationPermit p = co_await gate->acquire();
    const int now = ++*live;
    int seen = peak->load();
    while (now > seen && !peak->compare_exchange_weak(seen, now)) {
    }
    asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
    co_await t.async_wait(asio::use_awaitable);
    --*live;
    p.release();
    ++*done;
}

} // namespace

TEST_CASE("creation gate: invalid options")
{
    asio::io_context io;
    CHECK_THROWS_AS(CreationGate::make(io.get_executor(), {0, 1s, {}}), stirrup::ConfigError);
    CHECK_THROWS_AS(CreationGate::make(io.get_executor(), {1, 0ms, {}}), stirrup::ConfigError);
    CHECK_THROWS_AS(CreationGate::make(io.get_executor(), {1, 1s, std::size_t{0}}), stirrup::ConfigError);
}

TEST_CASE("creation gate: at most N per period, in arrival order")
{
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {2, 300ms, {}});
    std::mutex m;
    std::vector<std::pair<int, Clock::time_point>> order;
    const auto t0 = Clock::now();
    for (int i = 0; i < 6; ++i)
        asio::co_spawn(io, acquirer(gate, i, &m, &order, 0ms), asio::detached);
    io.run();
    REQUIRE(order.size() == 6);
    for (int i = 0; i < 6; ++i)
        CHECK(order[i].first == i);
    // Grants 0-1 at once, 2-3 one period later, 4-5 two periods later.
    CHECK(order[1].second - t0 < 150ms);
    CHECK(order[2].second - t0 >= 300ms);
    CHECK(order[4].second - t0 >= 600ms);
    // No window of one period holds more than two grants (the times here
    // are when each caller resumed, a little after its grant).
    for (std::size_t i = 2; i < order.size(); ++i)
        CHECK(order[i].second - order[i - 2].second >= 290ms);
    CHECK(gate->stats().granted == 6);
    CHECK(gate->stats().live == 0);
}

TEST_CASE("creation gate: at most M live; a release lets the next one in")
{
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {100, 1s, std::size_t{2}});
    std::mutex m;
    std::vector<std::pair<int, Clock::time_point>> order;
    const auto t0 = Clock::now();
    for (int i = 0; i < 5; ++i)
        asio::co_spawn(io, acquirer(gate, i, &m, &order, 100ms), asio::detached);
    io.run();
    REQUIRE(order.size() == 5);
    for (int i = 0; i < 5; ++i)
        CHECK(order[i].first == i);
    CHECK(order[1].second - t0 < 80ms);
    CHECK(order[2].second - t0 >= 100ms);
    CHECK(order[4].second - t0 >= 200ms);
    CHECK(gate->stats().live == 0);
}

namespace {

asio::awaitable<void> keep_permit(std::shared_ptr<CreationGate> gate, CreationPermit* kept)
{
    CreationPermit p = co_await gate->acquire();
    *kept = std::move(p);
}

asio::awaitable<void> cancel_then_acquire(std::shared_ptr<CreationGate> gate, bool* aborted, bool* third_granted)
{
    using namespace asio::experimental::awaitable_operators;
    CreationPermit first = co_await gate->acquire();
    // The second waits behind the live limit, then gives up.
    asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
    try {
        auto r = co_await (gate->acquire() || t.async_wait(asio::use_awaitable));
        CHECK(r.index() == 1);
        *aborted = true;
    } catch (const boost::system::system_error&) {
        *aborted = true;
    }
    CHECK(gate->stats().waiting == 0);
    first.release();
    CreationPermit third = co_await gate->acquire();
    *third_granted = true;
    CHECK(gate->stats().live == 1);
}

} // namespace

TEST_CASE("creation gate: a permit moves, and release is idempotent")
{
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {10, 1s, std::size_t{1}});
    CreationPermit kept;
    asio::co_spawn(io, keep_permit(gate, &kept), asio::detached);
    io.run();
    CHECK(kept);
    CHECK(gate->stats().live == 1);
    kept.release();
    kept.release();
    CHECK_FALSE(kept);
    CHECK(gate->stats().live == 0);
}

TEST_CASE("creation gate: a cancelled wait leaves the queue and is never granted")
{
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {10, 1s, std::size_t{1}});
    bool aborted = false;
    bool third_granted = false;
    asio::co_spawn(io, cancel_then_acquire(gate, &aborted, &third_granted), asio::detached);
    io.run();
    CHECK(aborted);
    CHECK(third_granted);
    CHECK(gate->stats().granted == 2);
    CHECK(gate->stats().live == 0);
}

TEST_CASE("creation gate: 200 callers from 4 threads, live limit never exceeded")
{
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {1000, 1s, std::size_t{5}});
    std::atomic<int> live{0}, peak{0}, done{0};
    for (int i = 0; i < 200; ++i)
        asio::co_spawn(asio::make_strand(io), worker(gate, &live, &peak, &done), asio::detached);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] { io.run(); });
    for (auto& t : threads)
        t.join();
    CHECK(done == 200);
    CHECK(peak <= 5);
    CHECK(gate->stats().live == 0);
    CHECK(gate->stats().granted == 200);
}
