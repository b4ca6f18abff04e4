#pragma once
// Keep-alive connections per origin, with a limit on connections per origin:
// a caller first obtains a lease (a slot), waiting while the limit is
// reached, then an idle connection if a live one is pooled. Pool state is
// behind a mutex, so leases may be taken and returned from any thread of a
// multi-threaded io_context. A waiter's wake-up runs on its own executor,
// where its cancellation slot lives: a waiting coroutine must run on a strand
// there (as Asio's own cancellation requires). Internal to the library.

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "stirrup/core/detail/wait_queue.hpp"
#include "stirrup/core/limiter.hpp"
#include "stirrup/net/detail/connection.hpp"

namespace stirrup::net::detail {

class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
public:
    explicit ConnectionPool(boost::asio::any_io_executor ex, PoolOptions options);
    ~ConnectionPool();

    /// A slot for one request to one origin, with the connection it uses.
    /// Destroying the lease returns the connection to the pool if keep_alive
    /// was set and it is still open, else closes it; then frees the slot.
    class Lease {
    public:
        Lease() = default;
        Lease(Lease&&) noexcept = default;
        Lease& operator=(Lease&& o) noexcept;
        ~Lease();

        explicit operator bool() const noexcept { return pool_ != nullptr; }
        /// The connection, empty when none was pooled or it was dropped.
        std::unique_ptr<Connection> connection;
        bool keep_alive = false;

    private:
        friend class ConnectionPool;
        Lease(std::shared_ptr<ConnectionPool> pool, std::string key) : pool_(std::move(pool)), key_(std::move(key)) {}
        void release() noexcept;
        std::shared_ptr<ConnectionPool> pool_;
        std::string key_;
    };

    /// Waits for a slot until `deadline` (then throws HttpTransportError
    /// timed_out); cancellable through the caller's slot.
    boost::asio::awaitable<Lease> acquire(const std::string& key, SteadyTime deadline);

    /// Leave to open one connection (PoolOptions::max_opening), held until
    /// it is open or failed; empty when there is no limit. Waits until
    /// `deadline` (then throws HttpTransportError timed_out); cancellable.
    boost::asio::awaitable<std::optional<AsyncSemaphore::Permit>> admit_opening(const std::string& key,
                                                                                SteadyTime deadline);
    /// The opening gate's counters (all zero without a limit).
    LimiterStats opening_stats() const;

private:
    struct Host {
        std::size_t leased = 0;
        std::deque<std::unique_ptr<Connection>> idle;
        /// Callers waiting for a slot; a Host with waiters is never erased.
        stirrup::detail::WaitQueue waiters;
    };

    bool try_take_slot(const std::string& key);
    boost::asio::awaitable<Lease> wait_for_slot(const std::string& key);
    std::unique_ptr<Connection> take_idle(const std::string& key);
    void give_back(const std::string& key, std::unique_ptr<Connection> c, bool keep) noexcept;
    /// Connections to close once the mutex is released. A vector: it costs
    /// nothing when empty, as it is on nearly every call.
    using Closing = std::vector<std::unique_ptr<Connection>>;
    void drop_expired(Host& h, Closing& out);

    boost::asio::any_io_executor ex_;
    PoolOptions options_;
    std::optional<AsyncSemaphore> opening_;
    std::mutex mutex_;
    std::unordered_map<std::string, Host> hosts_;
};

} // namespace stirrup::net::detail
