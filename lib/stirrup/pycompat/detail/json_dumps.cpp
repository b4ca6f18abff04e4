#include "stirrup/pycompat/detail/json_dumps.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string>

#include "stirrup/pycompat/detail/py_float.hpp"

namespace stirrup::detail {

namespace json = boost::json;

namespace {

// The request is written as Python's json.dumps(ensure_ascii=False,
// separators=(",", ":")) writes it (the form httpx sends), so float fields in
// schemas and extra fields read "0.7", not Boost's "7E-1".

// A request body is mostly prose and code: runs that need no escape are
// appended whole, not a character at a time.
void write_string(std::string_view s, std::string& out)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

// Python's float.__repr__ (pyexpr::float_repr), except for what JSON cannot
// hold.
void write_double(double d, std::string& out)
{
    // JSON has no NaN: Boost.JSON 1.81 still parses "0e400" to one (zero
    // times an overflowed power of ten), with either sign. Keep the output valid.
    if (std::isnan(d)) {
        out += "null";
        return;
    }
    // Boost.JSON parses an overflowing number such as 1e400 to infinity.
    // Python would write "Infinity", which is not JSON; the smallest
    // overflowing exponent reads back as the same infinity everywhere.
    if (std::isinf(d)) {
        out += d < 0 ? "-1e+309" : "1e+309";
        return;
    }
    out += pyexpr::float_repr(d);
}

template <class Int>
void write_integer(Int n, std::string& out)
{
    std::array<char, 24> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), n);
    out.append(buf.data(), res.ptr);
}

void write_value(const json::value& v, std::string& out)
{
    switch (v.kind()) {
    case json::kind::null:
        out += "null";
        break;
    case json::kind::bool_:
        out += v.get_bool() ? "true" : "false";
        break;
    case json::kind::int64:
        write_integer(v.get_int64(), out);
        break;
    case json::kind::uint64:
        write_integer(v.get_uint64(), out);
        break;
    case json::kind::double_:
        write_double(v.get_double(), out);
        break;
    case json::kind::string:
        write_string(v.get_string(), out);
        break;
    case json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& e : v.get_array()) {
            if (!first)
                out += ',';
            first = false;
            write_value(e, out);
        }
        out += ']';
        break;
    }
    case json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& kv : v.get_object()) {
            if (!first)
                out += ',';
            first = false;
            write_string(kv.key(), out);
            out += ':';
            write_value(kv.value(), out);
        }
        out += '}';
        break;
    }
    }
}

} // namespace

std::string to_json_text(const json::value& v)
{
    std::string out;
    write_value(v, out);
    return out;
}

void append_json_text(std::string& out, const json::value& v)
{
    write_value(v, out);
}

void append_json_string(std::string& out, std::string_view s)
{
    write_string(s, out);
}

} // namespace stirrup::detail
