#pragma once
// JSON text as Python's json.dumps(ensure_ascii=False, separators=(",", ":"))
// writes it: what Stirrup sends. Boost.JSON would print 0.7 as "7E-1".

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace stirrup::detail {

std::string to_json_text(const boost::json::value& v);

/// Appends `v` as to_json_text writes it.
void append_json_text(std::string& out, const boost::json::value& v);

/// Appends `s` as a JSON string literal, quotes included, escaped as Python
/// escapes it with ensure_ascii=False. The bytes are copied as they are:
/// callers that need valid UTF-8 sanitise first.
void append_json_string(std::string& out, std::string_view s);

} // namespace stirrup::detail
