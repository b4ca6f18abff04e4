#pragma once
// Reading fields of a model API's JSON leniently: servers send null for absent
// fields and floats or huge numbers for counts.

#include <algorithm>
#include <cstdint>
#include <string_view>

#include <boost/json/value.hpp>

namespace stirrup::detail::chat {

/// The member `key` of `v`, or nullptr when `v` is not an object or the member
/// is absent or null.
inline const boost::json::value* member(const boost::json::value& v, std::string_view key)
{
    if (!v.is_object())
        return nullptr;
    const auto* p = v.get_object().if_contains(key);
    return p && !p->is_null() ? p : nullptr;
}

/// A token count: an integer (saturated at INT64_MAX), a non-negative float
/// truncated, anything else 0.
inline std::int64_t count_of(const boost::json::value* v)
{
    if (!v)
        return 0;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64())
        return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    if (v->is_double()) {
        const double d = v->get_double();
        if (d >= 0 && d < 9.2e18)
            return static_cast<std::int64_t>(d);
    }
    return 0;
}

} // namespace stirrup::detail::chat
