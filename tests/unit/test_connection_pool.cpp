// ConnectionPool's slots under contention: sessions on their own strands of
// a four-thread io_context acquire, time out, get cancelled and give back
// slots at once. A grant that raced a cancellation must neither lose the
// slot nor touch the waiter's cancellation slot from the releasing thread
// (run under scripts/tsan-test to see the latter).

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/net/detail/connection_pool.hpp"
#include "stirrup/net/http_client.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using stirrup::net::HttpTransportError;
using stirrup::net::PoolOptions;
using stirrup::net::detail::ConnectionPool;
using stirrup::net::detail::deadline_after;

namespace {

constexpr std::size_t kSlots = 3;
// acquire() keeps a reference to its key while it waits.
const std::string kOrigin = "origin";

struct Tally {
    std::atomic<int> held{0};
    std::atomic<int> max_held{0};
    std::atomic<int> granted{0};
    std::atomic<int> timed_out{0};
    std::atomic<int> cancelled{0};
    std::atomic<int> failed{0};
    std::atomic<int> finished{0};
};

// Counts the lease as held across a few hops through the executor (so other
// threads run meanwhile), and stops counting it before it goes back.
asio::awaitable<void> use([[maybe_unused]] ConnectionPool::Lease lease, Tally& t, int hops)
{
    const int now = ++t.held;
    int seen = t.max_held.load();
    while (now > seen && !t.max_held.compare_exchange_weak(seen, now)) {
    }
    ++t.granted;
    const auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < hops; ++i) {
        auto hop = asio::post(ex, asio::use_awaitable);
        co_await std::move(hop);
    }
    --t.held;
}

// One session: each round either waits with a deadline of a few hundred
// microseconds (the pool's own timer racing the releases), or is cancelled
// from outside by a timer through `||` (the caller's slot racing them), or
// waits long enough to be granted.
asio::awaitable<void> session(std::shared_ptr<ConnectionPool> pool, Tally& t, unsigned seed, int rounds)
{
    std::minstd_rand rng(seed);
    const auto ex = co_await asio::this_coro::executor;
    for (int r = 0; r < rounds; ++r) {
        const auto wait = std::chrono::microseconds(rng() % 400);
        const int hops = static_cast<int>(rng() % 4);
        try {
            switch (rng() % 3) {
            case 0: {
                ConnectionPool::Lease lease = co_await pool->acquire(kOrigin, deadline_after(10s));
                co_await use(std::move(lease), t, hops);
                break;
            }
            case 1: {
                auto acquire = pool->acquire(kOrigin, std::chrono::steady_clock::now() + wait);
                ConnectionPool::Lease lease = co_await std::move(acquire);
                co_await use(std::move(lease), t, hops);
                break;
            }
            default: {
                asio::steady_timer timer(ex, wait);
                auto acquire = pool->acquire(kOrigin, deadline_after(10s));
                auto fire = timer.async_wait(asio::use_awaitable);
                auto which = co_await (std::move(acquire) || std::move(fire));
                if (which.index() == 0)
                    co_await use(std::move(std::get<0>(which)), t, hops);
                else
                    ++t.cancelled;
                break;
            }
            }
        } catch (const HttpTransportError&) {
            ++t.timed_out;
        }
    }
}

// Takes every slot at once without waiting, then finds the pool full.
asio::awaitable<void> all_slots_free(std::shared_ptr<ConnectionPool> pool, bool& ok)
{
    std::vector<ConnectionPool::Lease> leases;
    for (std::size_t i = 0; i < kSlots; ++i) {
        auto acquire = pool->acquire(kOrigin, std::chrono::steady_clock::now());
        leases.push_back(co_await std::move(acquire));
    }
    bool full = false;
    try {
        auto acquire = pool->acquire(kOrigin, deadline_after(5ms));
        ConnectionPool::Lease extra = co_await std::move(acquire);
    } catch (const HttpTransportError&) {
        full = true;
    }
    ok = full && leases.size() == kSlots;
}

} // namespace

TEST_CASE("ConnectionPool: acquire, cancel and give back from four threads, each session on its own strand")
{
    asio::io_context io;
    PoolOptions options;
    options.max_connections_per_host = kSlots;
    auto pool = std::make_shared<ConnectionPool>(io.get_executor(), options);
    Tally t;
    constexpr int sessions = 48;
    constexpr int rounds = 150;
    for (int i = 0; i < sessions; ++i)
        asio::co_spawn(asio::make_strand(io), session(pool, t, 1234u + static_cast<unsigned>(i), rounds),
                       [&t](std::exception_ptr e) {
                           if (e)
                               ++t.failed;
                           ++t.finished;
                       });
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&io] { io.run(); });
    for (auto& th : threads)
        th.join();

    CHECK(t.finished.load() == sessions);
    CHECK(t.failed.load() == 0);
    CHECK(t.held.load() == 0);
    CHECK(t.max_held.load() <= static_cast<int>(kSlots));
    CHECK(t.granted.load() + t.timed_out + t.cancelled == sessions * rounds);
    // The three outcomes all happened, so the races were really run.
    CHECK(t.granted.load() > 0);
    CHECK(t.timed_out.load() > 0);
    CHECK(t.cancelled.load() > 0);

    // No slot was lost to a grant that lost its race.
    bool ok = false;
    io.restart();
    asio::co_spawn(io, all_slots_free(pool, ok), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
    io.run();
    CHECK(ok);
}
