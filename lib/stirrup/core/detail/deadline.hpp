#pragma once
// Racing an operation against a deadline: the one implementation behind
// every bound that must stop what it bounds (a command in Docker, in E2B, or
// in a local child process; a wait for a pooled connection). The loser is
// cancelled, and the race never throws: a failure of the operation and the
// caller's cancellation come back in the result, so that the caller can
// kill what the operation started before passing either on (after
// `co_await boost::asio::this_coro::reset_cancellation_state()`, so that the
// cleanup is not cancelled too).

#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/detail/cancellation.hpp"
#include "stirrup/core/detail/timer_limit.hpp"

namespace stirrup::detail {

/// How an operation raced against a deadline ended: exactly one of
/// finished (with its value), failed (`failure`; `cancelled` when that is
/// the caller's cancellation), or timed out.
template <class T>
struct DeadlineRace {
    std::optional<T> value;
    std::exception_ptr failure;
    bool timed_out = false;
    bool cancelled = false;
    bool finished() const noexcept { return !failure && !timed_out; }
};

template <>
struct DeadlineRace<void> {
    std::exception_ptr failure;
    bool timed_out = false;
    bool cancelled = false;
    bool finished() const noexcept { return !failure && !timed_out; }
};

/// The first cause of a failure: composed operations (`a && b`) that all
/// fail, as they do when the caller cancels, throw nested
/// multiple_exceptions around it.
inline std::exception_ptr first_cause(std::exception_ptr failure)
{
    for (;;) {
        try {
            std::rethrow_exception(failure);
        } catch (const boost::asio::multiple_exceptions& inner) {
            failure = inner.first_exception();
            continue;
        } catch (...) {
        }
        return failure;
    }
}

namespace deadline_race {

// Runs `op` to completion and records its result or what it threw in `r`:
// it always succeeds, so that a failure of `op` ends the race at once
// instead of turning || (which waits for one success) into a wait for the
// timer.
template <class T>
boost::asio::awaitable<void> run_recorded(boost::asio::awaitable<T> op, DeadlineRace<T>& r)
{
    try {
        if constexpr (std::is_void_v<T>)
            co_await std::move(op);
        else
            r.value.emplace(co_await std::move(op));
    } catch (...) {
        r.failure = std::current_exception();
    }
}

} // namespace deadline_race

/// Runs `op` until it completes or `deadline` passes, whichever is first.
/// When the deadline wins, `op` is cancelled and whatever it produced
/// meanwhile is dropped (its destructor gives back what it was granted).
template <class T>
boost::asio::awaitable<DeadlineRace<T>> race_until(boost::asio::awaitable<T> op,
                                                   std::chrono::steady_clock::time_point deadline)
{
    using namespace boost::asio::experimental::awaitable_operators;
    DeadlineRace<T> r;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_at(deadline);
    try {
        boost::asio::awaitable<void> recorded = deadline_race::run_recorded(std::move(op), r);
        auto which = co_await (std::move(recorded) || timer.async_wait(boost::asio::use_awaitable));
        if (which.index() == 1) {
            if constexpr (!std::is_void_v<T>)
                r.value.reset();
            r.failure = nullptr;
            r.timed_out = true;
        }
    } catch (...) {
        // Both sides failed: only the caller's cancellation does that.
        r.failure = std::current_exception();
    }
    if (r.failure) {
        r.failure = first_cause(r.failure);
        r.cancelled = detail::is_cancellation(r.failure);
    }
    co_return r;
}

/// Same, with the deadline `timeout` from now (clamped: a "no limit" of
/// hours::max() is a year).
template <class T>
boost::asio::awaitable<DeadlineRace<T>> race_for(boost::asio::awaitable<T> op, std::chrono::milliseconds timeout)
{
    return race_until(std::move(op), std::chrono::steady_clock::now() + detail::clamp_timer(timeout));
}

} // namespace stirrup::detail
