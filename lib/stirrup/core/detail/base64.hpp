#pragma once
// Standard base64 (RFC 4648 section 4, with padding). Boost has one only in
// Beast's detail namespace, which is not a stable interface.

#include <optional>
#include <string>
#include <string_view>

namespace stirrup::detail::base64 {

std::string encode(std::string_view bytes);

/// Decodes padded or unpadded base64; nullopt on any other character, a bad
/// length, or non-zero bits in the final padding position. Whitespace is not
/// accepted.
std::optional<std::string> decode(std::string_view text);

} // namespace stirrup::detail::base64
