#pragma once
// UTF-8 to code points as Python decodes file names and the subjects of its
// regexes here: a byte that is not part of valid UTF-8 (overlong forms,
// surrogates and values past U+10FFFF included) becomes one lone surrogate
// U+DC80..U+DCFF (surrogateescape), so it matches only itself.

#include <cstddef>
#include <string_view>

namespace stirrup::detail {

/// Decodes the code point at s[i] and advances `i` past it; an invalid byte
/// becomes U+DC80..U+DCFF and advances `i` by one.
inline char32_t next_code_point(std::string_view s, std::size_t& i)
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        ok = (b & 0xC0) == 0x80;
        cp = (cp << 6) | (b & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
        ++i;
        return 0xDC00 + b0;
    }
    i += len;
    return cp;
}

/// All of `s`. `String` holds 32-bit code points: std::u32string, or
/// std::wstring where wchar_t is 32 bits (Boost.Regex's wide matching).
template <class String>
String decode_surrogateescape(std::string_view s)
{
    static_assert(sizeof(typename String::value_type) == 4, "code points need 32 bits");
    String out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();)
        out.push_back(static_cast<typename String::value_type>(next_code_point(s, i)));
    return out;
}

} // namespace stirrup::detail
