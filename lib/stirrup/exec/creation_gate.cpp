#include "stirrup/exec/creation_gate.hpp"

#include <algorithm>
#include <deque>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/error.hpp"

namespace stirrup {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// A queued caller, woken through a one-slot channel: a send that comes before
// the caller waits is kept, so no wake-up is lost whatever thread grants it.
struct CreationGate::Waiter {
    explicit Waiter(const asio::any_io_executor& ex) : wakeup(ex, 1) {}
    asio::experimental::concurrent_channel<void(boost::system::error_code)> wakeup;
    bool granted = false; // guarded by Impl::mutex
};

struct CreationGate::Impl {
    explicit Impl(const asio::any_io_executor& ex) : pump_timer(ex) {}

    mutable std::mutex mutex;
    std::deque<std::shared_ptr<Waiter>> queue;
    std::deque<Clock::time_point> recent; // grant times inside the current window
    std::size_t live = 0;
    std::uint64_t granted = 0;
    asio::steady_timer pump_timer;
    bool pump_armed = false;
};

CreationPermit::CreationPermit(CreationPermit&& o) noexcept : gate_(std::move(o.gate_)) {}

CreationPermit& CreationPermit::operator=(CreationPermit&& o) noexcept
{
    if (this != &o) {
        release();
        gate_ = std::move(o.gate_);
    }
    return *this;
}

CreationPermit::~CreationPermit()
{
    release();
}

void CreationPermit::release() noexcept
{
    if (auto g = std::move(gate_))
        g->release_live();
}

CreationGate::CreationGate(asio::any_io_executor ex, CreationGateOptions options)
    : options_(options), impl_(std::make_unique<Impl>(ex))
{
}

CreationGate::~CreationGate() = default;

std::shared_ptr<CreationGate> CreationGate::make(asio::any_io_executor ex, CreationGateOptions options)
{
    if (options.max_creations == 0)
        throw ConfigError("CreationGate: max_creations must be at least 1");
    if (options.period <= std::chrono::milliseconds::zero())
        throw ConfigError("CreationGate: period must be positive");
    if (options.max_live && *options.max_live == 0)
        throw ConfigError("CreationGate: max_live must be at least 1");
    return std::shared_ptr<CreationGate>(new CreationGate(std::move(ex), options));
}

CreationGateStats CreationGate::stats() const
{
    std::lock_guard lock(impl_->mutex);
    return {impl_->granted, impl_->queue.size(), impl_->live};
}

void CreationGate::pump_locked()
{
    auto& s = *impl_;
    const auto now = Clock::now();
    while (!s.recent.empty() && s.recent.front() + options_.period <= now)
        s.recent.pop_front();
    while (!s.queue.empty()) {
        if (options_.max_live && s.live >= *options_.max_live)
            return; // a release pumps again
        if (s.recent.size() >= options_.max_creations) {
            // The rate holds the head back: come back when its window opens.
            if (!s.pump_armed) {
                s.pump_armed = true;
                s.pump_timer.expires_at(s.recent.front() + options_.period);
                s.pump_timer.async_wait([weak = weak_from_this()](const boost::system::error_code&) {
                    if (auto g = weak.lock())
                        g->on_window_open();
                });
            }
            return;
        }
        auto w = std::move(s.queue.front());
        s.queue.pop_front();
        w->granted = true;
        s.recent.push_back(now);
        ++s.live;
        ++s.granted;
        w->wakeup.try_send(boost::system::error_code{});
    }
}

void CreationGate::on_window_open()
{
    std::lock_guard lock(impl_->mutex);
    impl_->pump_armed = false;
    pump_locked();
}

void CreationGate::release_live() noexcept
{
    std::lock_guard lock(impl_->mutex);
    if (impl_->live > 0)
        --impl_->live;
    try {
        pump_locked();
    } catch (...) {
        // A timer that cannot be armed leaves the waiters to the next release.
    }
}

awaitable<CreationPermit> CreationGate::acquire()
{
    auto self = shared_from_this();
    auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    {
        std::lock_guard lock(impl_->mutex);
        impl_->queue.push_back(waiter);
        pump_locked();
    }
    auto [ec] = co_await waiter->wakeup.async_receive(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(impl_->mutex);
    // A grant that raced the cancellation wins: the caller gets its permit
    // and its own cancellation check decides what to do with it.
    if (waiter->granted)
        co_return CreationPermit(self);
    (void)ec;
    auto& q = impl_->queue;
    q.erase(std::remove(q.begin(), q.end(), waiter), q.end());
    pump_locked();
    throw boost::system::system_error(asio::error::operation_aborted);
}

} // namespace stirrup
