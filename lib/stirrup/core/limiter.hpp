#pragma once
// Async admission control shared by many sessions: a FIFO counting semaphore
// (caps things in flight: model requests, local commands) and a FIFO token
// bucket (caps things started per minute: requests to one endpoint).
//
// Both are handles to shared state behind a mutex, so copies (or one
// shared_ptr) may be used from every thread of a multi-threaded io_context
// and from several io_contexts. Waiters are served strictly in arrival order:
// a newcomer never overtakes a queued waiter, even when a permit is free at
// the moment it arrives. A wait is cancelled through the caller's
// cancellation slot (an awaitable `||` with a timer, a session cancel): the
// waiter leaves the queue at once, so it neither holds its place nor is
// granted a permit later, and acquire() throws
// boost::system::system_error(operation_aborted).
//
// A waiter is resumed through its own executor (a post); a session that
// awaits with `||` on a multi-threaded io_context must run on a strand, as
// Asio requires for any cancellation slot.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>

namespace stirrup {

/// Counters of one limiter since it was made.
struct LimiterStats {
    std::size_t in_use = 0;        ///< permits held now (semaphore only)
    std::size_t waiting = 0;       ///< callers queued now
    std::uint64_t admitted = 0;    ///< acquisitions granted, queued or not
    std::uint64_t queued = 0;      ///< of which had to wait in the queue
    std::uint64_t cancelled = 0;   ///< waits cancelled while queued
    std::size_t peak_waiting = 0;  ///< most callers queued at once
    double total_wait_seconds = 0; ///< summed over granted waits
    double max_wait_seconds = 0;
};

class AsyncSemaphore {
public:
    struct State;

    /// A held permit; destroying (or reset()) gives it back, to the first
    /// waiter if any.
    class Permit {
    public:
        Permit() = default;
        Permit(Permit&&) noexcept = default;
        Permit& operator=(Permit&& o) noexcept;
        ~Permit() { reset(); }

        explicit operator bool() const noexcept { return state_ != nullptr; }
        void reset() noexcept;
        /// How long the acquisition waited in the queue (zero when it did not).
        std::chrono::nanoseconds waited() const noexcept { return waited_; }

    private:
        friend class AsyncSemaphore;
        Permit(std::shared_ptr<State> s, std::chrono::nanoseconds waited) : state_(std::move(s)), waited_(waited) {}
        std::shared_ptr<State> state_;
        std::chrono::nanoseconds waited_{0};
    };

    /// `permits` >= 1 (throws ConfigError otherwise).
    explicit AsyncSemaphore(std::size_t permits);

    /// Waits, in FIFO order, for a permit. Cancellable while queued.
    boost::asio::awaitable<Permit> acquire() const;
    /// A permit now if one is free and nobody is queued.
    std::optional<Permit> try_acquire() const;

    std::size_t capacity() const noexcept;
    LimiterStats stats() const;

private:
    std::shared_ptr<State> state_;
};

/// How fast a RateLimiter admits.
struct RateLimit {
    /// Admissions per minute, > 0.
    double per_minute = 60;
    /// Admissions allowed at once after an idle spell (the bucket size);
    /// 0 means one second's worth (per_minute / 60, at least 1), so a burst
    /// after a pause does not trip a provider's per-second enforcement.
    double burst = 0;
};

class RateLimiter {
public:
    struct State;

    /// Throws ConfigError for a non-positive or non-finite rate.
    explicit RateLimiter(RateLimit limit);

    /// Waits, in FIFO order, for the next admission and returns how long it
    /// waited. Cancellable while queued (the admission is not consumed).
    boost::asio::awaitable<std::chrono::nanoseconds> acquire() const;
    /// Admits now if a token is available and nobody is queued.
    bool try_acquire() const;

    RateLimit limit() const noexcept;
    LimiterStats stats() const;

private:
    std::shared_ptr<State> state_;
};

} // namespace stirrup
