#include "stirrup/net/detail/connection_pool.hpp"

#include <optional>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup::net::detail {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

// `op` unless `deadline` comes first; then it is cancelled (giving back
// whatever it was granted meanwhile) and the wait fails as timed_out.
template <class T>
asio::awaitable<T> before_deadline(asio::awaitable<T> op, SteadyTime deadline, std::string what)
{
    auto raced = co_await stirrup::detail::race_until(std::move(op), deadline);
    if (raced.timed_out)
        throw HttpTransportError(make_error_code(std::errc::timed_out), what);
    if (raced.failure)
        std::rethrow_exception(raced.failure);
    T result = std::move(*raced.value);
    co_return result;
}

} // namespace

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

ConnectionPool::Lease::~Lease()
{
    release();
}

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
    stirrup::detail::WaitQueue::Grant next;
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
            next = h.waiters.pop();
        } else {
            --h.leased;
            if (h.leased == 0 && h.idle.empty())
                hosts_.erase(key);
        }
    }
    for (auto& d : dead)
        d->close();
    // The grant completes on the waiter's own executor (WaitQueue).
    next.complete();
}

asio::awaitable<ConnectionPool::Lease> ConnectionPool::wait_for_slot(const std::string& key)
{
    const std::size_t limit = std::max<std::size_t>(options_.max_connections_per_host, 1);
    auto decide = [this, &key, limit](const asio::any_io_executor&) -> stirrup::detail::WaitQueue* {
        auto& h = hosts_[key];
        // A slot may have been freed between the fast path and here.
        if (!h.waiters.empty() || h.leased >= limit)
            return &h.waiters;
        ++h.leased;
        return nullptr;
    };
    co_await stirrup::detail::WaitQueue::wait(mutex_, weak_from_this(), decide);
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
        lease = co_await before_deadline(wait_for_slot(key), deadline, std::move(what));
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
        permit = co_await before_deadline(opening_->acquire(), deadline, std::move(what));
    }
    co_return permit;
}

LimiterStats ConnectionPool::opening_stats() const
{
    return opening_ ? opening_->stats() : LimiterStats{};
}

} // namespace stirrup::net::detail
