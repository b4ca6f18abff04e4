#pragma once
// Admission of model requests: a cap on requests in flight across every
// client that shares the limiter, and a cap on requests started per minute
// per endpoint. Waiters queue in FIFO order (see core/limiter.hpp); the time
// a call spent queued is returned so the run can report it
// (RunMetadata::model_queue_wait).
//
// Sharing: by default every ChatCompletionsClient of the process uses
// ModelRequestLimiter::process_default(), so "N sessions, each with its own
// client" stays bounded just like "N sessions on one client". Give a client
// its own limiter (ChatCompletionsOptions::limiter) to budget it apart, or one
// limiter per account to share an account's limits among its clients.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "stirrup/core/limiter.hpp"

namespace stirrup {

struct ModelRequestLimits {
    /// Model requests in flight at once (from admission until the response,
    /// retries included); 0: no cap. The default is the OpenAI SDK's own
    /// connection limit, so nothing changes for a process that would not
    /// have hit it anyway.
    std::size_t max_in_flight = 1000;
    /// Requests started per minute to one endpoint ({base_url}/chat/completions);
    /// 0: no cap (providers' limits depend on the account, so none is assumed).
    /// Counts calls to generate(), not the HTTP client's retries.
    double requests_per_minute = 0;
    /// Per-endpoint overrides of requests_per_minute, keyed by endpoint URL.
    std::map<std::string, double> endpoint_requests_per_minute{};
    /// Burst of the per-minute limit (RateLimit::burst; 0: one second's worth).
    double burst = 0;
};

class ModelRequestLimiter {
public:
    /// Throws ConfigError for a negative or non-finite rate.
    explicit ModelRequestLimiter(ModelRequestLimits limits = {});

    /// The limiter every client uses unless given another: made on first
    /// use with ModelRequestLimits{} (or set_process_default's).
    static std::shared_ptr<ModelRequestLimiter> process_default();
    /// Replaces the process default for clients made from now on.
    static void set_process_default(std::shared_ptr<ModelRequestLimiter> limiter);

    /// The right to send one request; destroy it when the response is read.
    struct Admission {
        AsyncSemaphore::Permit in_flight; ///< empty when there is no in-flight cap
        std::chrono::nanoseconds waited{0};
    };

    /// Waits (FIFO) for the endpoint's rate, then for an in-flight slot.
    /// Cancellable while queued.
    boost::asio::awaitable<Admission> admit(const std::string& endpoint);

    const ModelRequestLimits& limits() const noexcept { return limits_; }
    /// The in-flight cap's counters (all zero without one).
    LimiterStats in_flight_stats() const;
    /// One endpoint's rate counters (nullopt when it has no rate cap or no
    /// request went there yet).
    std::optional<LimiterStats> rate_stats(const std::string& endpoint) const;

private:
    std::optional<RateLimiter> rate_for(const std::string& endpoint);

    ModelRequestLimits limits_;
    std::optional<AsyncSemaphore> in_flight_;
    mutable std::mutex mutex_;
    std::map<std::string, RateLimiter> rates_;
};

} // namespace stirrup
