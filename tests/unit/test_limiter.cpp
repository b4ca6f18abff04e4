// AsyncSemaphore and RateLimiter: FIFO order, no overtaking, cancellation
// that really leaves the queue, wait times, and use from several threads.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/detail/wait_queue.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/core/limiter.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using stirrup::AsyncSemaphore;
using stirrup::ConfigError;
using stirrup::RateLimit;
using stirrup::RateLimiter;

namespace {

// Runs a callable's coroutine with the callable kept alive in this frame: a
// member coroutine called on a temporary would outlive its `this`.
template <class F>
asio::awaitable<void> hold(F f)
{
    co_await f();
}

struct Log {
    std::vector<int> granted;
    std::vector<int> aborted;
};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Takes a permit, logs it, holds it for `hold`.
asio::awaitable<void> hold_permit(AsyncSemaphore sem, int id, std::chrono::milliseconds hold, Log* log)
{
    try {
        auto permit = co_await sem.acquire();
        log->granted.push_back(id);
        co_await sleep_for(hold);
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            throw;
        log->aborted.push_back(id);
    }
}

asio::awaitable<void> take_token(RateLimiter rl, int id, Log* log, std::vector<double>* at,
                                 std::chrono::steady_clock::time_point t0)
{
    try {
        co_await rl.acquire();
        log->granted.push_back(id);
        at->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            throw;
        log->aborted.push_back(id);
    }
}

// Waits for a permit for at most `limit` (an awaitable `||` with a timer).
asio::awaitable<void> acquire_with_timeout(AsyncSemaphore sem, std::chrono::milliseconds limit, int* outcome)
{
    auto which = co_await (sem.acquire() || sleep_for(limit));
    *outcome = static_cast<int>(which.index());
}

} // namespace

TEST_CASE("AsyncSemaphore: permits are granted in arrival order")
{
    asio::io_context io;
    AsyncSemaphore sem(2);
    Log log;
    for (int i = 0; i < 6; ++i)
        asio::co_spawn(io, hold_permit(sem, i, 20ms, &log), asio::detached);
    io.run();
    CHECK(log.granted == std::vector<int>{0, 1, 2, 3, 4, 5});
    const auto st = sem.stats();
    CHECK(st.in_use == 0);
    CHECK(st.waiting == 0);
    CHECK(st.admitted == 6);
    CHECK(st.queued == 4);
    CHECK(st.peak_waiting == 4);
    CHECK(st.max_wait_seconds >= 0.015);
}

TEST_CASE("AsyncSemaphore: a newcomer never overtakes a queued waiter")
{
    asio::io_context io;
    AsyncSemaphore sem(1);
    auto first = sem.try_acquire();
    REQUIRE(first);
    CHECK_FALSE(sem.try_acquire());
    Log log;
    asio::co_spawn(io, hold_permit(sem, 1, 0ms, &log), asio::detached);
    io.poll(); // the waiter is queued now
    CHECK(sem.stats().waiting == 1);
    first.reset();
    // The freed permit went to the waiter, not to whoever asks next.
    CHECK_FALSE(sem.try_acquire());
    io.run();
    CHECK(log.granted == std::vector<int>{1});
    CHECK(sem.try_acquire());
}

TEST_CASE("AsyncSemaphore: a cancelled waiter leaves the queue and gets nothing later")
{
    asio::io_context io;
    AsyncSemaphore sem(1);
    auto held = sem.try_acquire();
    Log log;
    asio::cancellation_signal cancel;
    asio::co_spawn(io, hold_permit(sem, 1, 0ms, &log), asio::bind_cancellation_slot(cancel.slot(), asio::detached));
    asio::co_spawn(io, hold_permit(sem, 2, 0ms, &log), asio::detached);
    io.poll();
    CHECK(sem.stats().waiting == 2);
    cancel.emit(asio::cancellation_type::terminal);
    io.poll();
    CHECK(log.aborted == std::vector<int>{1});
    CHECK(sem.stats().waiting == 1);
    CHECK(sem.stats().cancelled == 1);
    held.reset();
    io.run();
    CHECK(log.granted == std::vector<int>{2});
    CHECK(sem.stats().in_use == 0);
}

TEST_CASE("AsyncSemaphore: a wait raced against a timer gives up its place")
{
    asio::io_context io;
    AsyncSemaphore sem(1);
    auto held = sem.try_acquire();
    int outcome = -1;
    asio::co_spawn(io, acquire_with_timeout(sem, 10ms, &outcome), asio::detached);
    io.run();
    CHECK(outcome == 1);
    CHECK(sem.stats().waiting == 0);
    held.reset();
    CHECK(sem.stats().in_use == 0);
    CHECK(sem.try_acquire());
}

TEST_CASE("AsyncSemaphore: the permit says how long it waited")
{
    asio::io_context io;
    AsyncSemaphore sem(1);
    auto held = sem.try_acquire();
    CHECK(held->waited() == std::chrono::nanoseconds(0));
    std::chrono::nanoseconds waited{0};
    struct Probe {
        AsyncSemaphore sem;
        std::chrono::nanoseconds* out;
        asio::awaitable<void> operator()() const
        {
            auto p = co_await sem.acquire();
            *out = p.waited();
        }
    };
    asio::co_spawn(io, hold(Probe{sem, &waited}), asio::detached);
    asio::steady_timer t(io, 30ms);
    t.async_wait([&](boost::system::error_code) { held.reset(); });
    io.run();
    CHECK(waited >= 25ms);
    CHECK(sem.stats().total_wait_seconds >= 0.025);
}

TEST_CASE("AsyncSemaphore: many waiters on four threads, some cancelled")
{
    asio::io_context io;
    constexpr std::size_t cap = 3;
    AsyncSemaphore sem(cap);
    std::atomic<int> inside{0};
    std::atomic<int> peak{0};
    std::atomic<int> done{0};
    std::atomic<int> timed_out{0};
    struct Worker {
        AsyncSemaphore sem;
        int i;
        std::atomic<int>* inside;
        std::atomic<int>* peak;
        std::atomic<int>* done;
        std::atomic<int>* timed_out;
        asio::awaitable<void> body() const
        {
            auto p = co_await sem.acquire();
            // Left when the permit is, even when the sleep is cancelled.
            struct Inside {
                std::atomic<int>* n;
                ~Inside() { n->fetch_sub(1); }
            };
            const int now = inside->fetch_add(1) + 1;
            const Inside guard{inside};
            int seen = peak->load();
            while (now > seen && !peak->compare_exchange_weak(seen, now)) {
            }
            co_await sleep_for(std::chrono::milliseconds(i % 2));
        }
        asio::awaitable<void> operator()() const
        {
            // Every fifth waits at most 1 ms, so cancellations race grants.
            if (i % 5 == 0) {
                auto which = co_await (body() || sleep_for(1ms));
                if (which.index() == 1)
                    timed_out->fetch_add(1);
            } else {
                co_await body();
            }
            done->fetch_add(1);
        }
    };
    constexpr int n = 2000;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(asio::make_strand(io), hold(Worker{sem, i, &inside, &peak, &done, &timed_out}), asio::detached);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { io.run(); });
    for (auto& t : threads)
        t.join();
    CHECK(done.load() == n);
    CHECK(peak.load() <= static_cast<int>(cap));
    CHECK(peak.load() >= 1);
    const auto st = sem.stats();
    CHECK(st.in_use == 0);
    CHECK(st.waiting == 0);
    CHECK(st.admitted + st.cancelled >= static_cast<std::uint64_t>(n - timed_out.load()));
}

TEST_CASE("AsyncSemaphore: no permits is an error")
{
    CHECK_THROWS_AS(AsyncSemaphore(0), ConfigError);
}

TEST_CASE("RateLimiter: admits a burst, then one per interval, in order")
{
    asio::io_context io;
    RateLimiter rl(RateLimit{6000, 2}); // 100 per second, 2 at once
    Log log;
    std::vector<double> at;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 7; ++i)
        asio::co_spawn(io, take_token(rl, i, &log, &at, t0), asio::detached);
    io.run();
    CHECK(log.granted == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
    REQUIRE(at.size() == 7);
    CHECK(at[1] < 0.005);  // the burst
    CHECK(at[6] >= 0.045); // then five more at 10 ms each
    CHECK(at[6] < 0.5);
    // Never ahead of the bucket: by time t at most 2 + 100 t admissions (a
    // late timer may admit two at once, which the bucket allows).
    for (std::size_t i = 2; i < at.size(); ++i)
        CHECK(at[i] >= static_cast<double>(i - 1) * 0.010 - 0.001);
    CHECK(rl.stats().queued == 5);
}

TEST_CASE("RateLimiter: a cancelled waiter does not use up an admission")
{
    asio::io_context io;
    RateLimiter rl(RateLimit{600, 1}); // one per 100 ms
    REQUIRE(rl.try_acquire());
    CHECK_FALSE(rl.try_acquire());
    Log log;
    std::vector<double> at;
    const auto t0 = std::chrono::steady_clock::now();
    asio::cancellation_signal cancel;
    asio::co_spawn(io, take_token(rl, 1, &log, &at, t0), asio::bind_cancellation_slot(cancel.slot(), asio::detached));
    asio::co_spawn(io, take_token(rl, 2, &log, &at, t0), asio::detached);
    io.poll();
    CHECK(rl.stats().waiting == 2);
    cancel.emit(asio::cancellation_type::terminal);
    io.run();
    CHECK(log.aborted == std::vector<int>{1});
    CHECK(log.granted == std::vector<int>{2});
    REQUIRE(at.size() == 1);
    // The second waiter got the first token after the burst: ~100 ms, not 200.
    CHECK(at[0] >= 0.08);
    CHECK(at[0] < 0.19);
    CHECK(rl.stats().cancelled == 1);
}

TEST_CASE("RateLimiter: the default burst is one second's worth")
{
    RateLimiter rl(RateLimit{120}); // 2 per second
    CHECK(rl.try_acquire());
    CHECK(rl.try_acquire());
    CHECK_FALSE(rl.try_acquire());
    CHECK_THROWS_AS(RateLimiter(RateLimit{0}), ConfigError);
    CHECK_THROWS_AS(RateLimiter(RateLimit{-1}), ConfigError);
}

TEST_CASE("RateLimiter: waiters on several threads all get through, in rate")
{
    asio::io_context io;
    RateLimiter rl(RateLimit{60000, 1}); // one per ms
    Log unused;
    std::atomic<int> done{0};
    struct Taker {
        RateLimiter rl;
        std::atomic<int>* done;
        asio::awaitable<void> operator()() const
        {
            co_await rl.acquire();
            done->fetch_add(1);
        }
    };
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i)
        asio::co_spawn(asio::make_strand(io), hold(Taker{rl, &done}), asio::detached);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { io.run(); });
    for (auto& t : threads)
        t.join();
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(done.load() == 100);
    CHECK(took >= 0.09);
    CHECK(rl.stats().waiting == 0);
}

// ---------------------------------------------------------------------------
// WaitQueue, the FIFO queue with cancellation under the limiters and
// the connection pool.

namespace {

using stirrup::detail::WaitQueue;

struct QueueOwner {
    std::mutex mutex;
    WaitQueue queue;
    bool admit = false; ///< decide admits at once when the queue is empty
};

struct WaitLog {
    std::vector<int> resumed;
    std::vector<int> aborted;
    std::vector<std::chrono::nanoseconds> waited;
};

asio::awaitable<void> wait_in(std::shared_ptr<QueueOwner> owner, int id, WaitLog* log)
{
    auto decide = [&owner](const asio::any_io_executor&) -> WaitQueue* {
        if (owner->admit && owner->queue.empty())
            return nullptr;
        return &owner->queue;
    };
    try {
        const std::chrono::nanoseconds waited = co_await WaitQueue::wait(owner->mutex, owner, decide);
        log->resumed.push_back(id);
        log->waited.push_back(waited);
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            throw;
        log->aborted.push_back(id);
    }
}

// Grants the first waiter, as an owner does: pop under the lock, complete after.
bool grant_one(QueueOwner& o)
{
    WaitQueue::Grant g;
    {
        std::lock_guard lock(o.mutex);
        g = o.queue.pop();
    }
    const bool any = static_cast<bool>(g);
    g.complete();
    return any;
}

std::size_t queued(QueueOwner& o)
{
    std::lock_guard lock(o.mutex);
    return o.queue.size();
}

} // namespace

TEST_CASE("WaitQueue: waiters are resumed in arrival order, each when granted")
{
    asio::io_context io;
    auto owner = std::make_shared<QueueOwner>();
    WaitLog log;
    for (int i = 0; i < 4; ++i)
        asio::co_spawn(io, wait_in(owner, i, &log), asio::detached);
    io.poll();
    CHECK(queued(*owner) == 4);
    CHECK(log.resumed.empty());
    std::this_thread::sleep_for(2ms);
    for (int i = 0; i < 4; ++i) {
        REQUIRE(grant_one(*owner));
        io.poll();
        CHECK(log.resumed.size() == static_cast<std::size_t>(i + 1));
    }
    CHECK(log.resumed == std::vector<int>{0, 1, 2, 3});
    CHECK(log.waited.front() >= 2ms);
    CHECK_FALSE(grant_one(*owner)); // empty: an empty grant, a no-op
    std::lock_guard lock(owner->mutex);
    CHECK(owner->queue.total_queued() == 4);
    CHECK(owner->queue.peak() == 4);
    CHECK(owner->queue.total_cancelled() == 0);
}

TEST_CASE("WaitQueue: decide may admit at once; the caller is then never queued")
{
    asio::io_context io;
    auto owner = std::make_shared<QueueOwner>();
    owner->admit = true;
    WaitLog log;
    asio::co_spawn(io, wait_in(owner, 7, &log), asio::detached);
    io.run();
    CHECK(log.resumed == std::vector<int>{7});
    CHECK(log.waited == std::vector<std::chrono::nanoseconds>{std::chrono::nanoseconds(0)});
    CHECK(owner->queue.total_queued() == 0);
}

TEST_CASE("WaitQueue: a cancelled waiter leaves the queue at once and is never granted")
{
    asio::io_context io;
    auto owner = std::make_shared<QueueOwner>();
    WaitLog log;
    asio::cancellation_signal cancel_middle;
    asio::co_spawn(io, wait_in(owner, 0, &log), asio::detached);
    asio::co_spawn(io, wait_in(owner, 1, &log), asio::bind_cancellation_slot(cancel_middle.slot(), asio::detached));
    asio::co_spawn(io, wait_in(owner, 2, &log), asio::detached);
    io.poll();
    REQUIRE(queued(*owner) == 3);

    // co_spawn hands the cancellation to the coroutine through its executor.
    cancel_middle.emit(asio::cancellation_type::terminal);
    io.poll();
    CHECK(queued(*owner) == 2);
    CHECK(log.aborted == std::vector<int>{1});

    REQUIRE(grant_one(*owner));
    REQUIRE(grant_one(*owner));
    CHECK_FALSE(grant_one(*owner));
    io.poll();
    CHECK(log.resumed == std::vector<int>{0, 2});
    std::lock_guard lock(owner->mutex);
    CHECK(owner->queue.total_cancelled() == 1);
}

TEST_CASE("WaitQueue: a cancellation after the grant changes nothing")
{
    asio::io_context io;
    auto owner = std::make_shared<QueueOwner>();
    WaitLog log;
    asio::cancellation_signal cancel;
    asio::co_spawn(io, wait_in(owner, 0, &log), asio::bind_cancellation_slot(cancel.slot(), asio::detached));
    io.poll();
    WaitQueue::Grant g;
    {
        std::lock_guard lock(owner->mutex);
        g = owner->queue.pop();
    }
    REQUIRE(g);
    cancel.emit(asio::cancellation_type::terminal); // granted: too late
    g.complete();
    io.poll();
    CHECK(log.resumed == std::vector<int>{0});
    CHECK(log.aborted.empty());
    CHECK(owner->queue.total_cancelled() == 0);
}
