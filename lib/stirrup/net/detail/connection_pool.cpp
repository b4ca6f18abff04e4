#include "stirrup/net/detail/connection_pool.hpp"

#include <optional>
#include <variant>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/net/http_client.hpp"

namespace stirrup::net::detail {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Handler = asio::any_completion_handler<void(boost::system::error_code)>;

namespace {

// `op` unless `deadline` comes first; then it is cancelled (giving back
// whatever it was granted meanwhile) and the wait fails as timed_out.
template <class T>
asio::awaitable<T> before_deadline(asio::any_io_executor ex, asio::awaitable<T> op, SteadyTime deadline,
                                   std::string what)
{
    asio::steady_timer timer(ex);
    timer.expires_at(deadline);
    auto which = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    if (which.index() == 1)
        throw HttpTransportError(make_error_code(std::errc::timed_out), what);
    T result = std::move(std::get<0>(which));
    co_return result;
}

} // namespace

// A caller queued for a slot. Whoever moves `handler` out (under the pool
// mutex) decides its outcome: a release grants it, a cancellation fails it,
// never both. `slot` belongs to the caller's coroutine and is touched only on
// `executor` (its strand), as Asio's cancellation slots are not thread-safe.
struct ConnectionPool::Waiter {
    std::optional<Handler> handler;
    asio::any_io_executor executor;
    asio::cancellation_slot slot;
};

// Installed in a waiting caller's cancellation slot: takes the waiter out of
// the queue (unless a release already granted it a slot) and fails it.
struct ConnectionPool::CancelWaiter {
    std::weak_ptr<ConnectionPool> pool;
    std::string key;
    std::weak_ptr<Waiter> waiter;

    void operator()(asio::cancellation_type) const
    {
        auto p = pool.lock();
        auto w = waiter.lock();
        if (!p || !w)
            return;
        std::optional<Handler> handler;
        {
            std::lock_guard lock(p->mutex_);
            auto& h = p->hosts_[key];
            for (auto it = h.waiters.begin(); it != h.waiters.end(); ++it) {
                if (*it == w) {
                    handler = std::move(w->handler);
                    h.waiters.erase(it);
                    break;
                }
            }
        }
        if (handler)
            asio::post(w->executor, [h = std::move(*handler)]() mutable { std::move(h)(asio::error::operation_aborted); });
    }
};

ConnectionPool::ConnectionPool(asio::any_io_executor ex, PoolOptions options) : ex_(std::move(ex)), options_(options)
{
    if (options_.max_opening != 0)
        opening_.emplace(options_.max_opening);
}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& o) noexcept
{
    if (this != &o) {
        release();
        connection = std::move(o.connection);
        keep_alive = o.keep_alive;
        pool_ = std::move(o.pool_);
        key_ = std::move(o.key_);
    }
    return *this;
}

ConnectionPool::Lease::~Lease() { release(); }

void ConnectionPool::Lease::release() noexcept
{
    if (auto pool = std::move(pool_)) {
        pool->give_back(key_, std::move(connection), keep_alive);
    } else if (connection) {
        connection->close();
        connection.reset();
    }
    keep_alive = false;
}

void ConnectionPool::drop_expired(Host& h, Closing& out)
{
    const auto oldest = std::chrono::steady_clock::now() - options_.idle_expiry;
    // Idle connections are pushed at the back, so the front is the oldest.
    while (!h.idle.empty() && h.idle.front()->last_used < oldest) {
        out.push_back(std::move(h.idle.front()));
        h.idle.pop_front();
    }
}

bool ConnectionPool::try_take_slot(const std::string& key)
{
    std::lock_guard lock(mutex_);
    auto& h = hosts_[key];
    if (h.leased >= std::max<std::size_t>(options_.max_connections_per_host, 1) || !h.waiters.empty())
        return false;
    ++h.leased;
    return true;
}

std::unique_ptr<Connection> ConnectionPool::take_idle(const std::string& key)
{
    Closing dead;
    std::unique_ptr<Connection> found;
    {
        std::lock_guard lock(mutex_);
        auto& h = hosts_[key];
        drop_expired(h, dead);
        // The most recently used first: it is the likeliest still open, and
        // the rest can expire when the load drops.
        while (!h.idle.empty()) {
            auto c = std::move(h.idle.back());
            h.idle.pop_back();
            if (c->peer_closed_while_idle()) {
                dead.push_back(std::move(c));
                continue;
            }
            found = std::move(c);
            break;
        }
    }
    for (auto& c : dead)
        c->close();
    return found;
}

void ConnectionPool::give_back(const std::string& key, std::unique_ptr<Connection> c, bool keep) noexcept
{
    std::optional<Handler> next;
    std::shared_ptr<Waiter> waiter;
    Closing dead;
    if (c && !(keep && c->is_open()))
        dead.push_back(std::move(c));
    {
        std::lock_guard lock(mutex_);
        auto& h = hosts_[key];
        if (c) {
            c->last_used = std::chrono::steady_clock::now();
            c->release_idle_memory();
            h.idle.push_back(std::move(c));
        }
        drop_expired(h, dead);
        if (!h.waiters.empty()) {
            // The slot passes straight to the first waiter: h.leased is unchanged.
            waiter = std::move(h.waiters.front());
            h.waiters.pop_front();
            next = std::move(waiter->handler);
        } else {
            --h.leased;
            if (h.leased == 0 && h.idle.empty())
                hosts_.erase(key);
        }
    }
    for (auto& d : dead)
        d->close();
    // The grant completes on the waiter's own executor: this thread may be
    // another session's, and the waiter's strand may at this moment be
    // emitting a cancellation through the slot (its deadline firing), so
    // clearing the slot here would race with that.
    if (next)
        asio::post(waiter->executor, [waiter, h = std::move(*next)]() mutable {
            waiter->slot.clear();
            std::move(h)(boost::system::error_code{});
        });
}

asio::awaitable<ConnectionPool::Lease> ConnectionPool::wait_for_slot(const std::string& key)
{
    co_await asio::async_initiate<decltype(asio::use_awaitable), void(boost::system::error_code)>(
        [this, &key](auto handler) {
            auto w = std::make_shared<Waiter>();
            w->executor = asio::get_associated_executor(handler, ex_);
            w->slot = asio::get_associated_cancellation_slot(handler);
            bool granted = false;
            {
                std::lock_guard lock(mutex_);
                auto& h = hosts_[key];
                // A slot may have been freed between the fast path and here.
                if (h.waiters.empty() && h.leased < std::max<std::size_t>(options_.max_connections_per_host, 1)) {
                    ++h.leased;
                    granted = true;
                } else {
                    w->handler.emplace(std::move(handler));
                    h.waiters.push_back(w);
                    if (w->slot.is_connected())
                        w->slot.template emplace<CancelWaiter>(CancelWaiter{weak_from_this(), key, w});
                }
            }
            if (granted)
                asio::post(w->executor,
                           [h = std::move(handler)]() mutable { std::move(h)(boost::system::error_code{}); });
        },
        asio::use_awaitable);
    // A lease at once: if the deadline won the race meanwhile, dropping the
    // loser's result gives the slot back.
    co_return Lease(shared_from_this(), key);
}

asio::awaitable<ConnectionPool::Lease> ConnectionPool::acquire(const std::string& key, SteadyTime deadline)
{
    Lease lease;
    if (try_take_slot(key)) {
        lease = Lease(shared_from_this(), key);
    } else {
        std::string what = key + ": waiting for a free connection";
        lease = co_await before_deadline(ex_, wait_for_slot(key), deadline, std::move(what));
    }
    lease.connection = take_idle(key);
    co_return lease;
}

asio::awaitable<std::optional<AsyncSemaphore::Permit>> ConnectionPool::admit_opening(const std::string& key,
                                                                                    SteadyTime deadline)
{
    std::optional<AsyncSemaphore::Permit> permit;
    if (!opening_)
        co_return permit;
    permit = opening_->try_acquire();
    if (!permit) {
        std::string what = key + ": waiting to open a connection (PoolOptions::max_opening)";
        permit = co_await before_deadline(ex_, opening_->acquire(), deadline, std::move(what));
    }
    co_return permit;
}

LimiterStats ConnectionPool::opening_stats() const
{
    return opening_ ? opening_->stats() : LimiterStats{};
}

} // namespace stirrup::net::detail
