#pragma once
// A gate in front of sandbox creation, shared by every provider that holds it
// (E2B today, Docker later): at most N creations per period (a sliding
// window, so no burst ever exceeds N in any period) and, optionally, at most
// M sandboxes alive at once. Waiters are served strictly in arrival order.
// Many sessions creating sandboxes at once then stay inside an account's
// rate and concurrency limits instead of collecting 429s.
//
// Safe to use from several threads running the same or different executors.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>

#include "stirrup/core/awaitable.hpp"

namespace stirrup {

struct CreationGateOptions {
    /// Creations allowed in any window of `period`.
    std::size_t max_creations = 10;
    std::chrono::milliseconds period{std::chrono::seconds(1)};
    /// Sandboxes alive at once (a permit is held from creation until the
    /// sandbox is gone); nullopt: no limit.
    std::optional<std::size_t> max_live;
};

struct CreationGateStats {
    std::uint64_t granted = 0; ///< permits handed out so far
    std::size_t waiting = 0;   ///< callers queued now
    std::size_t live = 0;      ///< permits not yet released
};

class CreationGate;

/// The right to create one sandbox. Holding it counts as one live sandbox
/// until it is released or destroyed; move-only.
class CreationPermit {
public:
    CreationPermit() = default;
    CreationPermit(CreationPermit&&) noexcept;
    CreationPermit& operator=(CreationPermit&&) noexcept;
    ~CreationPermit();

    /// The sandbox is gone (or was never made): frees its live slot.
    void release() noexcept;
    explicit operator bool() const noexcept { return gate_ != nullptr; }

private:
    friend class CreationGate;
    explicit CreationPermit(std::shared_ptr<CreationGate> gate) : gate_(std::move(gate)) {}
    std::shared_ptr<CreationGate> gate_;
};

class CreationGate : public std::enable_shared_from_this<CreationGate> {
public:
    /// Throws ConfigError when max_creations is 0, the period is not
    /// positive, or max_live is 0. `ex` runs the gate's own timer.
    static std::shared_ptr<CreationGate> make(boost::asio::any_io_executor ex, CreationGateOptions options);

    /// Waits for a turn (FIFO) and returns a permit; the creation counts at
    /// this moment. Cancellable through the caller's cancellation slot
    /// (throws operation_aborted and leaves the queue).
    awaitable<CreationPermit> acquire();

    CreationGateStats stats() const;
    const CreationGateOptions& options() const noexcept { return options_; }

    ~CreationGate();
    CreationGate(const CreationGate&) = delete;
    CreationGate& operator=(const CreationGate&) = delete;

private:
    struct Impl;
    struct Waiter;
    friend class CreationPermit;
    CreationGate(boost::asio::any_io_executor ex, CreationGateOptions options);
    void release_live() noexcept;
    /// Grants to every waiter the limits allow, in order; with the mutex held.
    void pump_locked();
    void on_window_open();

    CreationGateOptions options_;
    std::unique_ptr<Impl> impl_;
};

} // namespace stirrup
