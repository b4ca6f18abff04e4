#include "stirrup/net/detail/retry_rules.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>

#include "stirrup/core/detail/ascii.hpp"

namespace stirrup::net::detail {
using stirrup::detail::ascii::iequals;
using stirrup::detail::ascii::trim;
namespace {

// A non-negative decimal number with an optional fraction, as strict as
// Python's float() needs to be for these headers.
std::optional<double> parse_decimal(std::string_view s) noexcept
{
    s = trim(s);
    if (s.empty() || s.size() > 32)
        return std::nullopt;
    double whole = 0;
    std::size_t i = 0;
    bool digits = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, digits = true)
        whole = whole * 10 + (s[i] - '0');
    if (i < s.size() && s[i] == '.') {
        double scale = 0.1;
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, digits = true, scale /= 10)
            whole += (s[i] - '0') * scale;
    }
    if (i != s.size() || !digits)
        return std::nullopt;
    return whole;
}

std::optional<int> month_index(std::string_view m) noexcept
{
    static constexpr std::array<std::string_view, 12> names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (m == names[static_cast<std::size_t>(i)])
            return i;
    return std::nullopt;
}

std::optional<int> number(std::string_view s, std::size_t min_digits, std::size_t max_digits) noexcept
{
    if (s.size() < min_digits || s.size() > max_digits)
        return std::nullopt;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

// "08:49:37"
bool parse_clock(std::string_view s, std::tm& tm) noexcept
{
    if (s.size() != 8 || s[2] != ':' || s[5] != ':')
        return false;
    auto h = number(s.substr(0, 2), 2, 2), m = number(s.substr(3, 2), 2, 2), sec = number(s.substr(6, 2), 2, 2);
    if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60)
        return false;
    tm.tm_hour = *h;
    tm.tm_min = *m;
    tm.tm_sec = *sec;
    return true;
}

std::vector<std::string_view> split_spaces(std::string_view s)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ')
            ++i;
        const std::size_t start = i;
        while (i < s.size() && s[i] != ' ')
            ++i;
        if (i > start)
            out.push_back(s.substr(start, i - start));
    }
    return out;
}

} // namespace

bool is_retryable_status(int status) noexcept
{
    return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

std::optional<bool> parse_should_retry(std::optional<std::string_view> header) noexcept
{
    if (!header)
        return std::nullopt;
    const auto v = trim(*header);
    if (iequals(v, "true"))
        return true;
    if (iequals(v, "false"))
        return false;
    return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value)
{
    // RFC 9110 section 5.6.7: IMF-fixdate is what servers send; the two
    // obsolete forms must still be accepted by recipients.
    const auto parts = split_spaces(trim(value));
    std::tm tm{};
    std::optional<int> day, month, year;
    if (parts.size() == 6 && parts[0].size() == 4 && parts[0].back() == ',' && parts[5] == "GMT") {
        // Sun, 06 Nov 1994 08:49:37 GMT
        day = number(parts[1], 2, 2);
        month = month_index(parts[2]);
        year = number(parts[3], 4, 4);
        if (!parse_clock(parts[4], tm))
            return std::nullopt;
    } else if (parts.size() == 4 && parts[0].size() > 4 && parts[0].back() == ',' && parts[3] == "GMT") {
        // Sunday, 06-Nov-94 08:49:37 GMT
        const auto d = parts[1];
        if (d.size() != 9 || d[2] != '-' || d[6] != '-')
            return std::nullopt;
        day = number(d.substr(0, 2), 2, 2);
        month = month_index(d.substr(3, 3));
        const auto yy = number(d.substr(7, 2), 2, 2);
        if (yy) // RFC 9110: a two-digit year more than 50 years ahead is in the past century
            year = *yy < 70 ? 2000 + *yy : 1900 + *yy;
        if (!parse_clock(parts[2], tm))
            return std::nullopt;
    } else if (parts.size() == 5 && parts[0].size() == 3) {
        // Sun Nov  6 08:49:37 1994
        month = month_index(parts[1]);
        day = number(parts[2], 1, 2);
        year = number(parts[4], 4, 4);
        if (!parse_clock(parts[3], tm))
            return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (!day || !month || !year || *day < 1 || *day > 31)
        return std::nullopt;
    tm.tm_mday = *day;
    tm.tm_mon = *month;
    tm.tm_year = *year - 1900;
    const std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1))
        return std::nullopt;
    return std::chrono::system_clock::from_time_t(t);
}

std::optional<Milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now)
{
    if (const auto secs = parse_decimal(value)) {
        if (*secs > 1e9)
            return Milliseconds::max();
        return Milliseconds(static_cast<Milliseconds::rep>(std::llround(*secs * 1000)));
    }
    if (const auto when = parse_http_date(value)) {
        if (*when <= now)
            return Milliseconds(0);
        return std::chrono::duration_cast<Milliseconds>(*when - now);
    }
    return std::nullopt;
}

std::optional<Milliseconds> parse_retry_after_ms(std::string_view value)
{
    const auto ms = parse_decimal(value);
    if (!ms)
        return std::nullopt;
    if (*ms > 1e12)
        return Milliseconds::max();
    return Milliseconds(static_cast<Milliseconds::rep>(std::llround(*ms)));
}

Milliseconds backoff_delay(const RetryPolicy& policy, int retry, double random01) noexcept
{
    const double initial = static_cast<double>(policy.initial_backoff.count());
    const double cap = static_cast<double>(policy.max_backoff.count());
    const double base = std::min(initial * std::pow(2.0, std::clamp(retry, 0, 62)), cap);
    const double jitter = 1.0 - 0.25 * std::clamp(random01, 0.0, 1.0);
    return Milliseconds(static_cast<Milliseconds::rep>(std::max(0.0, base * jitter)));
}

RetryDecision decide_retry(const RetryPolicy& policy, int retries_done, int max_retries, const ResponseRetryInfo& r,
                           std::chrono::system_clock::time_point now, double random01)
{
    if (retries_done >= max_retries)
        return {};
    const auto should = parse_should_retry(r.should_retry);
    if (should ? !*should : !is_retryable_status(r.status))
        return {};
    std::optional<Milliseconds> server_delay;
    if (r.retry_after_ms)
        server_delay = parse_retry_after_ms(*r.retry_after_ms);
    if (!server_delay && r.retry_after)
        server_delay = parse_retry_after(*r.retry_after, now);
    if (server_delay) {
        if (*server_delay > policy.max_retry_after)
            return {};
        return {true, *server_delay};
    }
    return {true, backoff_delay(policy, retries_done, random01)};
}

RetryDecision decide_retry_after_error(const RetryPolicy& policy, int retries_done, int max_retries,
                                       double random01) noexcept
{
    if (retries_done >= max_retries)
        return {};
    return {true, backoff_delay(policy, retries_done, random01)};
}

} // namespace stirrup::net::detail
