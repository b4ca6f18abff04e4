#pragma once
// Durations handed to Asio timers: "no limit" options hold huge values, and
// steady_clock::now() + hours::max() overflows, so every timer is clamped to
// a year, which is as good as never.

#include <algorithm>
#include <chrono>

namespace stirrup::detail {

inline std::chrono::milliseconds clamp_timer(std::chrono::milliseconds d)
{
    return std::min<std::chrono::milliseconds>(d, std::chrono::hours(24 * 365));
}

} // namespace stirrup::detail
