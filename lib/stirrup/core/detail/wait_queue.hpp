#pragma once
// A FIFO queue of coroutines waiting for something their owner hands out (a
// semaphore permit, a rate limiter's token, a connection slot), with
// cancellation. The limiters (core/limiter) and the connection pool
// (net/detail/connection_pool) share it.
//
// The queue has no lock of its own: it lives under its owner's mutex, which
// wait() takes and which every other call needs held. A waiter is resumed on
// its own executor (a post), never inline, so an owner may grant under its
// lock and the waiter may live on another thread. A wait is cancelled
// through the caller's cancellation slot: the waiter leaves the queue at
// once (it neither keeps its place nor is granted later) and wait() throws
// boost::system::system_error(operation_aborted). As for any Asio
// cancellation slot, a waiting coroutine on a multi-threaded io_context must
// run on a strand.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stirrup::detail {

class WaitQueue {
public:
    using Handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;
    struct Waiter;

    /// The first waiter, taken out of the queue by pop(): resume it with
    /// complete() once the owner's mutex is released.
    class Grant {
    public:
        Grant() = default;
        explicit operator bool() const noexcept { return waiter_ != nullptr; }
        /// How long the waiter was queued.
        std::chrono::nanoseconds waited() const noexcept;
        /// Resumes the waiter (on its executor); a no-op on an empty grant.
        void complete();

    private:
        friend class WaitQueue;
        explicit Grant(std::shared_ptr<Waiter> w) : waiter_(std::move(w)) {}
        std::shared_ptr<Waiter> waiter_;
    };

    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;
    ~WaitQueue();

    /// Waits for a turn. Under `mutex`, `decide(executor)` (the caller's
    /// executor) returns nullptr to admit the caller at once, or the queue it
    /// joins at the back. A `decide` that admits must check that queue's
    /// empty() first, so that nobody overtakes a waiter. Returns how long the
    /// caller was queued (zero when admitted at once). `owner` keeps `mutex`
    /// alive, and the queue too while it holds waiters, for a cancellation
    /// that comes later.
    template <class Decide>
    static boost::asio::awaitable<std::chrono::nanoseconds> wait(std::mutex& mutex, std::weak_ptr<void> owner,
                                                                 Decide decide);

    // The rest is called with the owner's mutex held.

    bool empty() const noexcept { return waiters_.empty(); }
    std::size_t size() const noexcept { return waiters_.size(); }
    /// Takes the first waiter out; empty when there is none.
    Grant pop();
    /// The first waiter's executor; the queue must not be empty.
    const boost::asio::any_io_executor& front_executor() const;

    /// Waiters queued since the queue was made, cancelled while queued, and
    /// the most queued at once.
    std::uint64_t total_queued() const noexcept { return total_queued_; }
    std::uint64_t total_cancelled() const noexcept { return total_cancelled_; }
    std::size_t peak() const noexcept { return peak_; }

private:
    struct CancelWait;
    using List = std::list<std::shared_ptr<Waiter>>;

    static std::shared_ptr<Waiter> make_waiter();
    static std::chrono::nanoseconds waited_of(const Waiter& w) noexcept;
    static void resume_now(boost::asio::any_io_executor ex, Handler h);
    void push(const std::shared_ptr<Waiter>& w, Handler h, boost::asio::any_io_executor ex,
              boost::asio::cancellation_slot slot, std::mutex& mutex, std::weak_ptr<void> owner);

    List waiters_;
    std::uint64_t total_queued_ = 0;
    std::uint64_t total_cancelled_ = 0;
    std::size_t peak_ = 0;
};

template <class Decide>
boost::asio::awaitable<std::chrono::nanoseconds> WaitQueue::wait(std::mutex& mutex, std::weak_ptr<void> owner,
                                                                 Decide decide)
{
    namespace asio = boost::asio;
    const std::shared_ptr<Waiter> w = make_waiter();
    auto initiate = [&](auto handler) {
        asio::any_io_executor ex = asio::get_associated_executor(handler);
        asio::cancellation_slot slot = asio::get_associated_cancellation_slot(handler);
        WaitQueue* queue = nullptr;
        {
            std::lock_guard lock(mutex);
            queue = decide(std::as_const(ex));
            if (queue)
                queue->push(w, Handler(std::move(handler)), ex, slot, mutex, std::move(owner));
        }
        if (!queue)
            resume_now(std::move(ex), Handler(std::move(handler)));
    };
    co_await asio::async_initiate<decltype(asio::use_awaitable), void(boost::system::error_code)>(initiate,
                                                                                                  asio::use_awaitable);
    co_return waited_of(*w);
}

} // namespace stirrup::detail
