#include "stirrup/core/detail/wait_queue.hpp"

#include <algorithm>
#include <optional>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

namespace stirrup::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Whoever takes a waiter out of its queue (under the owner's mutex) decides
// its outcome: pop() grants it, a cancellation fails it, never both. `queue`
// is set while it is queued. Boost 1.81's any_completion_handler
// move-assignment recurses forever, so `handler` is only ever
// move-constructed (emplace), never assigned.
struct WaitQueue::Waiter {
    std::optional<Handler> handler;
    asio::any_io_executor executor;
    /// Belongs to the caller's coroutine: touched only on `executor`.
    asio::cancellation_slot slot;
    WaitQueue* queue = nullptr;
    List::iterator pos;
    Clock::time_point enqueued;
    std::chrono::nanoseconds waited{0};
};

namespace {

// Resumes `w` on its own executor, never inline: the caller may hold locks,
// and the waiter may live on another thread. Clearing the slot there keeps
// it on the thread (strand) that may be emitting a cancellation into it.
void finish(std::shared_ptr<WaitQueue::Waiter> w, boost::system::error_code ec)
{
    auto ex = w->executor;
    asio::post(ex, [w = std::move(w), ec]() mutable {
        w->slot.clear();
        WaitQueue::Handler h(std::move(*w->handler));
        w->handler.reset();
        std::move(h)(ec);
    });
}

} // namespace

// Installed in a queued waiter's cancellation slot: takes it out of the
// queue (unless it was granted meanwhile) and fails its wait.
struct WaitQueue::CancelWait {
    std::weak_ptr<void> owner;
    std::mutex* mutex;
    std::weak_ptr<Waiter> waiter;

    void operator()(asio::cancellation_type) const
    {
        const auto keep = owner.lock();
        auto w = waiter.lock();
        if (!keep || !w)
            return;
        {
            std::lock_guard lock(*mutex);
            // Queued means its queue is alive: an owner keeps a queue with
            // waiters.
            WaitQueue* q = w->queue;
            if (!q)
                return;
            q->waiters_.erase(w->pos);
            w->queue = nullptr;
            ++q->total_cancelled_;
        }
        finish(std::move(w), asio::error::operation_aborted);
    }
};

WaitQueue::~WaitQueue()
{
    for (auto& w : waiters_)
        w->queue = nullptr;
}

std::chrono::nanoseconds WaitQueue::Grant::waited() const noexcept
{
    return waiter_ ? waiter_->waited : std::chrono::nanoseconds(0);
}

void WaitQueue::Grant::complete()
{
    if (waiter_)
        finish(std::move(waiter_), {});
}

std::shared_ptr<WaitQueue::Waiter> WaitQueue::make_waiter()
{
    return std::make_shared<Waiter>();
}

std::chrono::nanoseconds WaitQueue::waited_of(const Waiter& w) noexcept
{
    return w.waited;
}

void WaitQueue::resume_now(asio::any_io_executor ex, Handler h)
{
    asio::post(ex, [h = std::move(h)]() mutable { std::move(h)(boost::system::error_code{}); });
}

void WaitQueue::push(const std::shared_ptr<Waiter>& w, Handler h, asio::any_io_executor ex,
                     asio::cancellation_slot slot, std::mutex& mutex, std::weak_ptr<void> owner)
{
    w->handler.emplace(std::move(h));
    w->executor = std::move(ex);
    w->slot = slot;
    w->enqueued = Clock::now();
    w->pos = waiters_.insert(waiters_.end(), w);
    w->queue = this;
    ++total_queued_;
    peak_ = std::max(peak_, waiters_.size());
    if (slot.is_connected())
        slot.template emplace<CancelWait>(CancelWait{std::move(owner), &mutex, w});
}

WaitQueue::Grant WaitQueue::pop()
{
    if (waiters_.empty())
        return {};
    std::shared_ptr<Waiter> w = std::move(waiters_.front());
    waiters_.pop_front();
    w->queue = nullptr;
    w->waited = Clock::now() - w->enqueued;
    return Grant(std::move(w));
}

const asio::any_io_executor& WaitQueue::front_executor() const
{
    return waiters_.front()->executor;
}

} // namespace stirrup::detail
