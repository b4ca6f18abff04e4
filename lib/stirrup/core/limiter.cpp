#include "stirrup/core/limiter.hpp"

#include <algorithm>
#include <cmath>
#include <list>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stirrup {
namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;
// Boost 1.81's any_completion_handler move-assignment recurses forever
// (it re-wraps the source as an lvalue): handlers are only ever
// move-constructed here (emplace, pair construction), never assigned.
using Handler = asio::any_completion_handler<void(boost::system::error_code)>;

struct Waiter;
using WaitList = std::list<std::shared_ptr<Waiter>>;

struct Waiter {
    std::optional<Handler> handler;
    asio::any_io_executor executor;
    asio::cancellation_slot slot;
    Clock::time_point enqueued;
    WaitList::iterator pos;
    bool queued = false;
    std::chrono::nanoseconds waited{0};
};

// The queue and counters both limiters share; guarded by `mutex`.
struct QueueState {
    std::mutex mutex;
    WaitList waiters;
    LimiterStats stats;

    void push(const std::shared_ptr<Waiter>& w)
    {
        w->enqueued = Clock::now();
        w->pos = waiters.insert(waiters.end(), w);
        w->queued = true;
        ++stats.queued;
        stats.peak_waiting = std::max(stats.peak_waiting, waiters.size());
    }

    // Takes the first waiter out as granted and returns it with its handler.
    std::pair<std::shared_ptr<Waiter>, Handler> pop_granted(Clock::time_point now)
    {
        auto w = std::move(waiters.front());
        waiters.pop_front();
        w->queued = false;
        w->waited = now - w->enqueued;
        const double s = std::chrono::duration<double>(w->waited).count();
        stats.total_wait_seconds += s;
        stats.max_wait_seconds = std::max(stats.max_wait_seconds, s);
        ++stats.admitted;
        Handler h = std::move(*w->handler);
        w->handler.reset();
        return {std::move(w), std::move(h)};
    }

    LimiterStats snapshot()
    {
        LimiterStats s = stats;
        s.waiting = waiters.size();
        return s;
    }
};

// Resumes a waiter on its own executor, never inline: the caller may hold
// locks, and the waiter may live on another thread. Clearing the slot there
// keeps it on the thread (strand) that may emit cancellation into it.
void complete(std::shared_ptr<Waiter> w, Handler h, boost::system::error_code ec)
{
    auto ex = w->executor;
    asio::post(ex, [w = std::move(w), h = std::move(h), ec]() mutable {
        w->slot.clear();
        std::move(h)(ec);
    });
}

// Installed in a queued waiter's cancellation slot: removes it from the
// queue (unless it was granted meanwhile) and fails its wait.
struct CancelWait {
    std::weak_ptr<QueueState> state;
    std::weak_ptr<Waiter> waiter;

    void operator()(asio::cancellation_type) const
    {
        auto s = state.lock();
        auto w = waiter.lock();
        if (!s || !w)
            return;
        std::optional<Handler> h;
        {
            std::lock_guard lock(s->mutex);
            if (!w->queued)
                return;
            s->waiters.erase(w->pos);
            w->queued = false;
            ++s->stats.cancelled;
            h.emplace(std::move(*w->handler));
            w->handler.reset();
        }
        complete(w, std::move(*h), asio::error::operation_aborted);
    }
};

// Queues `w`, unless `admit_now` (called under the lock) admits it at once;
// then `after_push` (under the lock) may arm a timer. Resumes when granted;
// throws operation_aborted when cancelled while queued.
template <class AdmitNow, class AfterPush>
asio::awaitable<void> wait_turn(std::shared_ptr<QueueState> s, std::shared_ptr<Waiter> w, AdmitNow admit_now,
                                AfterPush after_push)
{
    co_await asio::async_initiate<decltype(asio::use_awaitable), void(boost::system::error_code)>(
        [&](auto handler) {
            w->executor = asio::get_associated_executor(handler);
            w->slot = asio::get_associated_cancellation_slot(handler);
            bool granted = false;
            {
                std::lock_guard lock(s->mutex);
                if (s->waiters.empty() && admit_now()) {
                    ++s->stats.admitted;
                    granted = true;
                } else {
                    w->handler.emplace(std::move(handler));
                    s->push(w);
                    if (w->slot.is_connected())
                        w->slot.template emplace<CancelWait>(CancelWait{s, w});
                    after_push();
                }
            }
            if (granted)
                complete(w, Handler(std::move(handler)), {});
        },
        asio::use_awaitable);
}

} // namespace

// ---------------------------------------------------------------------------
// AsyncSemaphore

struct AsyncSemaphore::State : QueueState {
    explicit State(std::size_t n) : capacity(n) {}
    const std::size_t capacity;
    std::size_t in_use = 0;

    void release() noexcept
    {
        std::optional<std::pair<std::shared_ptr<Waiter>, Handler>> next;
        {
            std::lock_guard lock(mutex);
            if (waiters.empty()) {
                --in_use;
                return;
            }
            // The permit passes straight to the first waiter: in_use is unchanged.
            next.emplace(pop_granted(Clock::now()));
        }
        complete(std::move(next->first), std::move(next->second), {});
    }
};

AsyncSemaphore::AsyncSemaphore(std::size_t permits)
{
    if (permits == 0)
        throw std::invalid_argument("AsyncSemaphore needs at least one permit");
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
    if (!state_->waiters.empty() || state_->in_use >= state_->capacity)
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
    auto w = std::make_shared<Waiter>();
    auto admit_now = [&s] {
        if (s->in_use >= s->capacity)
            return false;
        ++s->in_use;
        return true;
    };
    co_await wait_turn(s, w, admit_now, [] {});
    co_return Permit(s, w->waited);
}

std::size_t AsyncSemaphore::capacity() const noexcept { return state_->capacity; }

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
        std::vector<std::pair<std::shared_ptr<Waiter>, Handler>> ready;
        {
            std::lock_guard lock(mutex);
            timer_armed = false;
            const auto now = Clock::now();
            while (!waiters.empty() && take(now))
                ready.push_back(pop_granted(now));
            if (!waiters.empty())
                arm(waiters.front()->executor);
        }
        for (auto& [w, h] : ready)
            complete(std::move(w), std::move(h), {});
    }
};

RateLimiter::RateLimiter(RateLimit limit)
{
    if (!(limit.per_minute > 0) || !std::isfinite(limit.per_minute))
        throw std::invalid_argument("RateLimiter needs a positive rate per minute");
    if (!(limit.burst >= 0) || !std::isfinite(limit.burst))
        throw std::invalid_argument("RateLimiter burst must be a non-negative number");
    const double burst = limit.burst > 0 ? std::max(1.0, limit.burst) : std::max(1.0, limit.per_minute / 60.0);
    state_ = std::make_shared<State>(limit, burst);
}

bool RateLimiter::try_acquire() const
{
    std::lock_guard lock(state_->mutex);
    if (!state_->waiters.empty() || !state_->take(Clock::now()))
        return false;
    ++state_->stats.admitted;
    return true;
}

asio::awaitable<std::chrono::nanoseconds> RateLimiter::acquire() const
{
    if (try_acquire())
        co_return std::chrono::nanoseconds(0);
    const std::shared_ptr<State> s = state_;
    auto w = std::make_shared<Waiter>();
    auto admit_now = [&s] { return s->take(Clock::now()); };
    auto after_push = [&s, &w] { s->arm(w->executor); };
    co_await wait_turn(s, w, admit_now, after_push);
    co_return w->waited;
}

RateLimit RateLimiter::limit() const noexcept { return state_->limit; }

LimiterStats RateLimiter::stats() const
{
    std::lock_guard lock(state_->mutex);
    return state_->snapshot();
}

} // namespace stirrup
