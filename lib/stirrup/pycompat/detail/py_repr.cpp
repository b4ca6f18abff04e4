#include "stirrup/pycompat/detail/py_repr.hpp"
#include "stirrup/pycompat/detail/surrogateescape.hpp"

#include <array>
#include <cstdint>

namespace stirrup::detail {
namespace {

struct Range {
    char32_t first;
    char32_t last;
};

// Code points str.isprintable() rejects, beyond the noncharacters U+xxFFFE/F
// (checked separately): categories Cc, Cf, Cs, Co, Zl, Zp, Zs but the space,
// and the planes that are wholly unassigned. Checked against CPython 3.11
// (Unicode 14) for every assigned code point.
constexpr std::array<Range, 27> kNonPrintable{{
    {0x0000, 0x001f},   {0x007f, 0x00a0},    {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},
    {0x06dd, 0x06dd},   {0x070f, 0x070f},    {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x1680, 0x1680},
    {0x180e, 0x180e},   {0x2000, 0x200f},    {0x2028, 0x202f},   {0x205f, 0x2064},   {0x2066, 0x206f},
    {0x3000, 0x3000},   {0xd800, 0xf8ff},    {0xfdd0, 0xfdef},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},
    {0x110bd, 0x110bd}, {0x110cd, 0x110cd},  {0x13430, 0x13438}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a},
    {0x40000, 0xe00ff}, {0xe01f0, 0x10ffff},
}};

bool printable(char32_t cp)
{
    if ((cp & 0xfffe) == 0xfffe)
        return false;
    for (const auto& r : kNonPrintable) {
        if (cp < r.first)
            return true;
        if (cp <= r.last)
            return false;
    }
    return true;
}

void append_hex(std::string& out, char32_t cp, int digits)
{
    static constexpr char hex[] = "0123456789abcdef";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        out.push_back(hex[(cp >> shift) & 0xf]);
}

} // namespace

std::string py_repr_str(std::string_view s)
{
    // CPython's unicode_repr: prefer single quotes, switch to double quotes
    // only when that avoids escaping.
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';

    std::string out;
    out.reserve(s.size() + 2);
    out.push_back(quote);
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t start = i;
        const char32_t cp = next_code_point(s, i);
        if (cp == static_cast<char32_t>(quote) || cp == U'\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(cp));
        } else if (cp == U'\t') {
            out += "\\t";
        } else if (cp == U'\n') {
            out += "\\n";
        } else if (cp == U'\r') {
            out += "\\r";
        } else if (!printable(cp)) {
            if (cp < 0x100) {
                out += "\\x";
                append_hex(out, cp, 2);
            } else if (cp < 0x10000) {
                out += "\\u";
                append_hex(out, cp, 4);
            } else {
                out += "\\U";
                append_hex(out, cp, 8);
            }
        } else {
            out.append(s.substr(start, i - start));
        }
    }
    out.push_back(quote);
    return out;
}

std::string py_repr_list(const std::vector<std::string>& items)
{
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0)
            out += ", ";
        out += py_repr_str(items[i]);
    }
    out += "]";
    return out;
}

namespace {

template <class Pairs>
std::string dict_repr(const Pairs& items)
{
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : items) {
        if (!first)
            out += ", ";
        first = false;
        out += py_repr_str(key);
        out += ": ";
        out += py_repr_str(value);
    }
    out += "}";
    return out;
}

} // namespace

std::string py_repr_dict(const std::vector<std::pair<std::string, std::string>>& items)
{
    return dict_repr(items);
}

std::string py_repr_dict(const std::map<std::string, std::string>& items)
{
    return dict_repr(items);
}

} // namespace stirrup::detail
