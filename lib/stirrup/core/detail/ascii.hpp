#pragma once
// ASCII-only text helpers for protocol tokens (header names, host names,
// ports): locale-independent on purpose, since <cctype> follows the locale.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stirrup::detail::ascii {

char to_lower(char c) noexcept;
std::string to_lower(std::string_view s);
/// Case-insensitive equality of ASCII letters.
bool iequals(std::string_view a, std::string_view b) noexcept;
/// Without leading and trailing spaces and tabs (HTTP's OWS).
std::string_view trim(std::string_view s) noexcept;
/// A TCP port 1..65535 in decimal, nothing else (Boost.URL's port_number()
/// wraps values past 65535).
std::optional<std::uint16_t> parse_port(std::string_view s) noexcept;

} // namespace stirrup::detail::ascii
