#include "stirrup/llm/request_limiter.hpp"

#include <cmath>
#include <utility>

#include "stirrup/core/error.hpp"

namespace stirrup {

namespace {

void check_rate(double rpm, const std::string& what)
{
    if (!(rpm >= 0) || !std::isfinite(rpm))
        throw ConfigError(what + " must be a non-negative number, got " + std::to_string(rpm));
}

std::mutex default_mutex;
std::shared_ptr<ModelRequestLimiter>& default_slot()
{
    static std::shared_ptr<ModelRequestLimiter> slot;
    return slot;
}

} // namespace

ModelRequestLimiter::ModelRequestLimiter(ModelRequestLimits limits) : limits_(std::move(limits))
{
    check_rate(limits_.requests_per_minute, "requests_per_minute");
    check_rate(limits_.burst, "burst");
    for (const auto& [url, rpm] : limits_.endpoint_requests_per_minute)
        check_rate(rpm, "requests_per_minute for " + url);
    if (limits_.max_in_flight > 0)
        in_flight_.emplace(limits_.max_in_flight);
}

std::shared_ptr<ModelRequestLimiter> ModelRequestLimiter::process_default()
{
    std::lock_guard lock(default_mutex);
    auto& slot = default_slot();
    if (!slot)
        slot = std::make_shared<ModelRequestLimiter>();
    return slot;
}

void ModelRequestLimiter::set_process_default(std::shared_ptr<ModelRequestLimiter> limiter)
{
    std::lock_guard lock(default_mutex);
    default_slot() = std::move(limiter);
}

std::optional<RateLimiter> ModelRequestLimiter::rate_for(const std::string& endpoint)
{
    double rpm = limits_.requests_per_minute;
    if (auto it = limits_.endpoint_requests_per_minute.find(endpoint); it != limits_.endpoint_requests_per_minute.end())
        rpm = it->second;
    if (rpm <= 0)
        return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = rates_.find(endpoint);
    if (it == rates_.end())
        it = rates_.emplace(endpoint, RateLimiter(RateLimit{rpm, limits_.burst})).first;
    return it->second; // a handle: shares the endpoint's bucket
}

boost::asio::awaitable<ModelRequestLimiter::Admission> ModelRequestLimiter::admit(const std::string& endpoint)
{
    Admission out;
    // The rate first: a request held back by its endpoint's rate must not
    // hold an in-flight slot that a request to another endpoint could use.
    if (auto rate = rate_for(endpoint))
        out.waited += co_await rate->acquire();
    if (in_flight_) {
        out.in_flight = co_await in_flight_->acquire();
        out.waited += out.in_flight.waited();
    }
    co_return out;
}

LimiterStats ModelRequestLimiter::in_flight_stats() const
{
    return in_flight_ ? in_flight_->stats() : LimiterStats{};
}

std::optional<LimiterStats> ModelRequestLimiter::rate_stats(const std::string& endpoint) const
{
    std::lock_guard lock(mutex_);
    auto it = rates_.find(endpoint);
    if (it == rates_.end())
        return std::nullopt;
    return it->second.stats();
}

} // namespace stirrup
