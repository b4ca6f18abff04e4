// Retry rules: statuses, x-should-retry, Retry-After forms, backoff bounds.

#include <doctest/doctest.h>

#include <chrono>

#include "stirrup/net/detail/retry_rules.hpp"

using namespace stirrup::net;
using namespace stirrup::net::detail;
using namespace std::chrono_literals;

namespace {

std::chrono::system_clock::time_point at(std::time_t t)
{
    return std::chrono::system_clock::from_time_t(t);
}

// Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::time_t rfc_example = 784111777;

} // namespace

TEST_CASE("retry: retryable statuses")
{
    for (int s : {408, 409, 429, 500, 502, 503, 504, 599})
        CHECK(is_retryable_status(s));
    for (int s : {200, 201, 301, 400, 401, 403, 404, 413, 422, 600})
        CHECK_FALSE(is_retryable_status(s));
}

TEST_CASE("retry: x-should-retry")
{
    CHECK(parse_should_retry(std::string_view("true")) == true);
    CHECK(parse_should_retry(std::string_view(" FALSE ")) == false);
    CHECK_FALSE(parse_should_retry(std::string_view("yes")).has_value());
    CHECK_FALSE(parse_should_retry(std::nullopt).has_value());
}

TEST_CASE("retry: HTTP dates in the three forms")
{
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == at(rfc_example));
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == at(rfc_example));
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == at(rfc_example));
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC").has_value());
    CHECK_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT").has_value());
    CHECK_FALSE(parse_http_date("").has_value());
}

TEST_CASE("retry: Retry-After seconds and dates")
{
    const auto now = at(rfc_example);
    CHECK(parse_retry_after("3", now) == 3000ms);
    CHECK(parse_retry_after(" 0.5 ", now) == 500ms);
    CHECK(parse_retry_after("0", now) == 0ms);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10000ms);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0ms);
    CHECK_FALSE(parse_retry_after("-1", now).has_value());
    CHECK_FALSE(parse_retry_after("soon", now).has_value());
    CHECK_FALSE(parse_retry_after("1e3", now).has_value());
    CHECK(parse_retry_after_ms("250") == 250ms);
    CHECK_FALSE(parse_retry_after_ms("x").has_value());
}

TEST_CASE("retry: backoff doubles, is capped, and jitters down by at most 25%")
{
    RetryPolicy p;
    p.initial_backoff = 500ms;
    p.max_backoff = 8s;
    CHECK(backoff_delay(p, 0, 0.0) == 500ms);
    CHECK(backoff_delay(p, 1, 0.0) == 1000ms);
    CHECK(backoff_delay(p, 2, 0.0) == 2000ms);
    CHECK(backoff_delay(p, 10, 0.0) == 8000ms);
    CHECK(backoff_delay(p, 1000, 0.0) == 8000ms);
    CHECK(backoff_delay(p, 0, 0.999) >= 375ms);
    CHECK(backoff_delay(p, 0, 0.5) == 437ms);
}

TEST_CASE("retry: decisions")
{
    RetryPolicy p;
    const auto now = at(rfc_example);
    ResponseRetryInfo r;
    r.status = 429;
    CHECK(decide_retry(p, 0, 2, r, now, 0).retry);
    CHECK(decide_retry(p, 1, 2, r, now, 0).retry);
    CHECK_FALSE(decide_retry(p, 2, 2, r, now, 0).retry);

    r.retry_after = "2";
    CHECK(decide_retry(p, 0, 2, r, now, 0).delay == 2000ms);
    r.retry_after_ms = "120";
    CHECK(decide_retry(p, 0, 2, r, now, 0).delay == 120ms);
    r.retry_after_ms.reset();
    r.retry_after = "3600";
    CHECK_FALSE(decide_retry(p, 0, 2, r, now, 0).retry);

    ResponseRetryInfo bad;
    bad.status = 400;
    CHECK_FALSE(decide_retry(p, 0, 2, bad, now, 0).retry);
    bad.should_retry = "true";
    CHECK(decide_retry(p, 0, 2, bad, now, 0).retry);
    ResponseRetryInfo busy;
    busy.status = 503;
    busy.should_retry = "false";
    CHECK_FALSE(decide_retry(p, 0, 2, busy, now, 0).retry);

    CHECK(decide_retry_after_error(p, 0, 2, 0).retry);
    CHECK_FALSE(decide_retry_after_error(p, 2, 2, 0).retry);
    CHECK_FALSE(decide_retry_after_error(p, 0, 0, 0).retry);
}
