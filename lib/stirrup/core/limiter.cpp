#include "stirrup/core/limiter.hpp"

#include "stirrup/core/detail/wait_queue.hpp"
#include "stirrup/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stirrup {
namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;
using detail::WaitQueue;

// The queue and counters both limiters share; guarded by `mutex`.
struct QueueState {
    std::mutex mutex;
    WaitQueue queue;
    LimiterStats stats;

    // Takes the first waiter out as granted, to be completed once the mutex
    // is released.
    WaitQueue::Grant pop_granted()
    {
        WaitQueue::Grant g = queue.pop();
        const double s = std::chrono::duration<double>(g.waited()).count();
        stats.total_wait_seconds += s;
        stats.max_wait_seconds = std::max(stats.max_wait_seconds, s);
        ++stats.admitted;
        return g;
    }

    LimiterStats snapshot()
    {
        LimiterStats s = stats;
        s.waiting = queue.size();
        s.queued = queue.total_queued();
        s.cancelled = queue.total_cancelled();
        s.peak_waiting = queue.peak();
        return s;
    }
};

} // namespace

// ---------------------------------------------------------------------------
// AsyncSemaphore

struct AsyncSemaphore::State : QueueState {
    explicit State(std::size_t n) : capacity(n) {}
    const std::size_t capacity;
    std::size_t in_use = 0;

    void release() noexcept
    {
        WaitQueue::Grant next;
        {
            std::lock_guard lock(mutex);
            if (queue.empty()) {
                --in_use;
                return;
            }
            // The permit passes straight to the first waiter: in_use is unchanged.
            next = pop_granted();
        }
        next.complete();
    }
};

AsyncSemaphore::AsyncSemaphore(std::size_t permits)
{
    if (permits == 0)
        throw ConfigError("AsyncSemaphore needs at least one permit");
    state_ = std::make_shared<State>(permits);
}

AsyncSemaphore::Permit& AsyncSemaphore::Permit::operator=(Permit&& o) noexcept
{
    if (this != &o) {
        reset();
        state_ = std::move(o.state_);
        waited_ = o.waited_;
    }
    return *this;
}

void AsyncSemaphore::Permit::reset() noexcept
{
    if (auto s = std::move(state_))
        s->release();
}

std::optional<AsyncSemaphore::Permit> AsyncSemaphore::try_acquire() const
{
    std::lock_guard lock(state_->mutex);
    if (!state_->queue.empty() || state_->in_use >= state_->capacity)
        return std::nullopt;
    ++state_->in_use;
    ++state_->stats.admitted;
    return Permit(state_, std::chrono::nanoseconds(0));
}

asio::awaitable<AsyncSemaphore::Permit> AsyncSemaphore::acquire() const
{
    // The common case costs a lock and no suspension.
    if (auto p = try_acquire())
        co_return std::move(*p);
    const std::shared_ptr<State> s = state_;
    auto decide = [&s](const asio::any_io_executor&) -> WaitQueue* {
        if (!s->queue.empty() || s->in_use >= s->capacity)
            return &s->queue;
        ++s->in_use;
        ++s->stats.admitted;
        return nullptr;
    };
    const std::chrono::nanoseconds waited = co_await WaitQueue::wait(s->mutex, s, decide);
    co_return Permit(s, waited);
}

std::size_t AsyncSemaphore::capacity() const noexcept
{
    return state_->capacity;
}

LimiterStats AsyncSemaphore::stats() const
{
    std::lock_guard lock(state_->mutex);
    LimiterStats out = state_->snapshot();
    out.in_use = state_->in_use;
    return out;
}

// ---------------------------------------------------------------------------
// RateLimiter: a token bucket whose queue is served by one timer at a time,
// armed on the executor of the waiter at the head of the queue. The timer is
// owned by its own completion handler, so no timer object is shared between
// threads.

struct RateLimiter::State : QueueState, std::enable_shared_from_this<RateLimiter::State> {
    State(RateLimit l, double b) : limit(l), burst(b), tokens(b), per_ns(l.per_minute / 60e9), last(Clock::now()) {}

    const RateLimit limit;
    const double burst;
    double tokens;
    const double per_ns;
    Clock::time_point last;
    bool timer_armed = false;

    // A token counts as there once it is within rounding of a whole one.
    static constexpr double whole = 1.0 - 1e-9;

    void refill(Clock::time_point now)
    {
        const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count();
        if (elapsed > 0)
            tokens = std::min(burst, tokens + static_cast<double>(elapsed) * per_ns);
        last = now;
    }

    bool take(Clock::time_point now)
    {
        refill(now);
        if (tokens < whole)
            return false;
        tokens = std::max(0.0, tokens - 1.0);
        return true;
    }

    // Under the lock: wakes the queue's head when its token is due.
    void arm(const asio::any_io_executor& ex)
    {
        if (timer_armed)
            return;
        timer_armed = true;
        refill(Clock::now());
        const double missing = std::max(0.0, 1.0 - tokens);
        const auto delay = std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(missing / per_ns)));
        auto timer = std::make_shared<asio::steady_timer>(ex, last + delay);
        std::weak_ptr<State> weak = weak_from_this();
        timer->async_wait([timer, weak](boost::system::error_code) {
            if (auto self = weak.lock())
                self->tick();
        });
    }

    void tick()
    {
        std::vector<WaitQueue::Grant> ready;
        {
            std::lock_guard lock(mutex);
            timer_armed = false;
            const auto now = Clock::now();
            while (!queue.empty() && take(now))
                ready.push_back(pop_granted());
            if (!queue.empty())
                arm(queue.front_executor());
        }
        for (auto& g : ready)
            g.complete();
    }
};

RateLimiter::RateLimiter(RateLimit limit)
{
    if (!(limit.per_minute > 0) || !std::isfinite(limit.per_minute))
        throw ConfigError("RateLimiter needs a positive rate per minute");
    if (!(limit.burst >= 0) || !std::isfinite(limit.burst))
        throw ConfigError("RateLimiter burst must be a non-negative number");
    const double burst = limit.burst > 0 ? std::max(1.0, limit.burst) : std::max(1.0, limit.per_minute / 60.0);
    state_ = std::make_shared<State>(limit, burst);
}

bool RateLimiter::try_acquire() const
{
    std::lock_guard lock(state_->mutex);
    if (!state_->queue.empty() || !state_->take(Clock::now()))
        return false;
    ++state_->stats.admitted;
    return true;
}

asio::awaitable<std::chrono::nanoseconds> RateLimiter::acquire() const
{
    if (try_acquire())
        co_return std::chrono::nanoseconds(0);
    const std::shared_ptr<State> s = state_;
    auto decide = [&s](const asio::any_io_executor& ex) -> WaitQueue* {
        if (s->queue.empty() && s->take(Clock::now())) {
            ++s->stats.admitted;
            return nullptr;
        }
        // Wakes the head of the queue when its token is due (once armed,
        // the timer re-arms itself while waiters remain).
        s->arm(ex);
        return &s->queue;
    };
    const std::chrono::nanoseconds waited = co_await WaitQueue::wait(s->mutex, s, decide);
    co_return waited;
}

RateLimit RateLimiter::limit() const noexcept
{
    return state_->limit;
}

LimiterStats RateLimiter::stats() const
{
    std::lock_guard lock(state_->mutex);
    return state_->snapshot();
}

} // namespace stirrup
