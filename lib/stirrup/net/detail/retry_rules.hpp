#pragma once
// When and how long to wait before retrying an HTTP request, after the OpenAI
// SDK: retryable statuses, `x-should-retry`, `Retry-After` / `retry-after-ms`,
// and exponential backoff with jitter. Pure: the clock and the random number
// are parameters, so every rule is unit-tested.

#include <chrono>
#include <optional>
#include <string_view>

#include "stirrup/net/http_options.hpp"

namespace stirrup::net::detail {

/// 408, 409, 429 and 5xx.
bool is_retryable_status(int status) noexcept;

/// `x-should-retry: true|false` (the server's word overrides the status
/// rules); nullopt when absent or anything else.
std::optional<bool> parse_should_retry(std::optional<std::string_view> header) noexcept;

/// A `Retry-After` value: delta-seconds (a decimal fraction is accepted, as
/// the OpenAI SDK does) or an HTTP-date (IMF-fixdate, RFC 850, asctime),
/// relative to `now`. A date in the past gives zero. nullopt if unparseable.
std::optional<Milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

/// `retry-after-ms` (OpenAI's extension): a non-negative number of milliseconds.
std::optional<Milliseconds> parse_retry_after_ms(std::string_view value);

/// Parses an HTTP-date to a time point; nullopt if invalid.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value);

/// The backoff before retry number `retry` (0 for the first retry):
/// min(initial * 2^retry, max) scaled by a jitter factor in (0.75, 1], where
/// `random01` is uniform in [0, 1).
Milliseconds backoff_delay(const RetryPolicy& policy, int retry, double random01) noexcept;

struct RetryDecision {
    bool retry = false;
    Milliseconds delay{0};
};

/// The response-side facts a retry decision needs.
struct ResponseRetryInfo {
    int status = 0;
    std::optional<std::string_view> should_retry;
    std::optional<std::string_view> retry_after;
    std::optional<std::string_view> retry_after_ms;
};

/// Decides whether to retry after a response. `retries_done` retries were
/// made already and `max_retries` are allowed. A server-given delay longer
/// than policy.max_retry_after is not retried (waiting that long would surprise
/// the caller more than the error).
RetryDecision decide_retry(const RetryPolicy& policy, int retries_done, int max_retries, const ResponseRetryInfo& r,
                           std::chrono::system_clock::time_point now, double random01);

/// Decides whether to retry after a connection error (always retryable).
RetryDecision decide_retry_after_error(const RetryPolicy& policy, int retries_done, int max_retries,
                                       double random01) noexcept;

} // namespace stirrup::net::detail
