// race_for / race_until: an operation against a deadline, with timers only.
// Which side wins, that the loser is really cancelled, that a failure ends
// the race at once, and that the caller's cancellation cancels the
// operation and comes back as `cancelled`.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/detail/deadline.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using stirrup::detail::DeadlineRace;
using stirrup::detail::race_for;
using stirrup::detail::race_until;

namespace {

struct Seen {
    bool started = false;
    bool completed = false;
    bool aborted = false;
};

// Sleeps `d`, then returns `value`; records whether it was cancelled.
asio::awaitable<int> sleeper(std::chrono::milliseconds d, int value, Seen* seen)
{
    seen->started = true;
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    try {
        co_await t.async_wait(asio::use_awaitable);
    } catch (const boost::system::system_error& e) {
        seen->aborted = e.code() == asio::error::operation_aborted;
        throw;
    }
    seen->completed = true;
    co_return value;
}

asio::awaitable<void> void_sleeper(std::chrono::milliseconds d, Seen* seen)
{
    co_await sleeper(d, 0, seen);
}

asio::awaitable<int> failing(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
    throw std::runtime_error("boom");
}

// Runs `op` on a fresh io_context; `cancel_after`: emit a cancellation
// through the coroutine's slot then.
template <class T>
DeadlineRace<T> run(asio::awaitable<DeadlineRace<T>> op, std::optional<std::chrono::milliseconds> cancel_after = {},
                    std::chrono::milliseconds* elapsed = nullptr)
{
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<DeadlineRace<T>> out;
    std::exception_ptr error;
    const auto start = Clock::now();
    asio::co_spawn(io, std::move(op),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, DeadlineRace<T> r) {
                       error = e;
                       out = std::move(r);
                   }));
    asio::steady_timer canceller(io);
    if (cancel_after) {
        canceller.expires_after(*cancel_after);
        canceller.async_wait([&](boost::system::error_code ec) {
            if (!ec)
                signal.emit(asio::cancellation_type::terminal);
        });
    }
    io.run();
    if (elapsed)
        *elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (error)
        std::rethrow_exception(error);
    REQUIRE(out);
    return std::move(*out);
}

} // namespace

TEST_CASE("race_for: the operation finishing first gives its value")
{
    Seen seen;
    std::chrono::milliseconds elapsed{};
    auto r = run(race_for(sleeper(10ms, 42, &seen), 5s), {}, &elapsed);
    CHECK(r.finished());
    REQUIRE(r.value);
    CHECK(*r.value == 42);
    CHECK_FALSE(r.timed_out);
    CHECK_FALSE(r.cancelled);
    CHECK(seen.completed);
    CHECK(elapsed < 2s); // the timer was cancelled, not waited for
}

TEST_CASE("race_for: the deadline first cancels the operation and drops its value")
{
    Seen seen;
    std::chrono::milliseconds elapsed{};
    auto r = run(race_for(sleeper(10s, 42, &seen), 20ms), {}, &elapsed);
    CHECK(r.timed_out);
    CHECK_FALSE(r.finished());
    CHECK_FALSE(r.value);
    CHECK_FALSE(r.failure); // the operation's operation_aborted is not a failure
    CHECK_FALSE(r.cancelled);
    CHECK(seen.aborted);
    CHECK_FALSE(seen.completed);
    CHECK(elapsed < 5s);
}

TEST_CASE("race_for: a failure ends the race at once, without waiting for the deadline")
{
    std::chrono::milliseconds elapsed{};
    auto r = run(race_for(failing(10ms), 10s), {}, &elapsed);
    CHECK_FALSE(r.timed_out);
    CHECK_FALSE(r.cancelled);
    REQUIRE(r.failure);
    CHECK_THROWS_WITH_AS(std::rethrow_exception(r.failure), "boom", std::runtime_error);
    CHECK(elapsed < 5s);
}

TEST_CASE("race_for: the caller's cancellation cancels the operation and is reported")
{
    Seen seen;
    std::chrono::milliseconds elapsed{};
    auto r = run(race_for(sleeper(10s, 42, &seen), 20s), 20ms, &elapsed);
    CHECK(r.cancelled);
    CHECK_FALSE(r.timed_out);
    REQUIRE(r.failure);
    CHECK(stirrup::detail::is_cancellation(r.failure));
    CHECK(seen.aborted);
    CHECK_FALSE(seen.completed);
    CHECK(elapsed < 5s);
}

TEST_CASE("race_for: a cancelled composite operation reports its first cause")
{
    using namespace asio::experimental::awaitable_operators;
    Seen a, b;
    auto both = [&]() -> asio::awaitable<DeadlineRace<void>> {
        asio::awaitable<void> op = (void_sleeper(10s, &a) && void_sleeper(10s, &b));
        co_return co_await race_for(std::move(op), 20s);
    };
    auto r = run(both(), 20ms);
    CHECK(r.cancelled);
    CHECK(stirrup::detail::is_cancellation(r.failure));
    CHECK(a.aborted);
    CHECK(b.aborted);
}

TEST_CASE("race_for: void operations, and a timeout of milliseconds::max() does not overflow")
{
    Seen seen;
    auto r = run(race_for(void_sleeper(10ms, &seen), std::chrono::milliseconds::max()));
    CHECK(r.finished());
    CHECK(seen.completed);
}

TEST_CASE("race_until: a deadline already past times out")
{
    Seen seen;
    auto r = run(race_until(sleeper(10s, 1, &seen), Clock::now() - 1s));
    CHECK(r.timed_out);
    CHECK(seen.aborted);
}
