#include "stirrup/tools/mcp/detail/json_schema.hpp"

#include "stirrup/core/detail/text.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/pycompat/detail/json_dumps.hpp"
#include "stirrup/pycompat/detail/surrogateescape.hpp"

#include <boost/json/value.hpp>
#include <boost/regex.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace stirrup::detail::mcp {
// A named namespace around the file-local one: the library is built as a
// unity build, and other MCP files share stirrup::detail::mcp.
namespace json_schema_impl {
namespace {

namespace json = boost::json;

static_assert(sizeof(wchar_t) == 4, "patterns are matched as UTF-32 code points");

using NodeId = std::uint32_t;
constexpr NodeId kNone = std::numeric_limits<NodeId>::max();

// ---------------------------------------------------------------- numbers --

// Boost.JSON reads a number as int64, uint64 or double depending on its text,
// and a schema's 5 must equal an instance's 5.0 or compare right against
// 18446744073709551615, so comparisons are exact across the three kinds.
enum class Order { less, equal, greater, unordered };

template <class T>
Order order_of(T a, T b)
{
    return a < b ? Order::less : b < a ? Order::greater : Order::equal;
}

Order flip(Order o)
{
    return o == Order::less ? Order::greater : o == Order::greater ? Order::less : o;
}

Order compare_double_int(double d, std::int64_t i)
{
    if (std::isnan(d))
        return Order::unordered;
    if (d >= 0x1p63)
        return Order::greater;
    if (d < -0x1p63)
        return Order::less;
    const double t = std::trunc(d);
    const Order o = order_of(static_cast<std::int64_t>(t), i);
    return o != Order::equal ? o : order_of(d, t);
}

Order compare_double_uint(double d, std::uint64_t u)
{
    if (std::isnan(d))
        return Order::unordered;
    if (d < 0)
        return Order::less;
    if (d >= 0x1p64)
        return Order::greater;
    const double t = std::trunc(d);
    const Order o = order_of(static_cast<std::uint64_t>(t), u);
    return o != Order::equal ? o : order_of(d, t);
}

Order compare_numbers(const json::value& a, const json::value& b)
{
    if (a.is_int64()) {
        const std::int64_t x = a.get_int64();
        if (b.is_int64())
            return order_of(x, b.get_int64());
        if (b.is_uint64())
            return x < 0 ? Order::less : order_of(static_cast<std::uint64_t>(x), b.get_uint64());
        return flip(compare_double_int(b.get_double(), x));
    }
    if (a.is_uint64()) {
        const std::uint64_t x = a.get_uint64();
        if (b.is_int64())
            return b.get_int64() < 0 ? Order::greater : order_of(x, static_cast<std::uint64_t>(b.get_int64()));
        if (b.is_uint64())
            return order_of(x, b.get_uint64());
        return flip(compare_double_uint(b.get_double(), x));
    }
    const double x = a.get_double();
    if (b.is_int64())
        return compare_double_int(x, b.get_int64());
    if (b.is_uint64())
        return compare_double_uint(x, b.get_uint64());
    const double y = b.get_double();
    if (std::isnan(x) || std::isnan(y))
        return Order::unordered;
    return order_of(x, y);
}

bool is_integral(const json::value& v)
{
    if (v.is_int64() || v.is_uint64())
        return true;
    if (!v.is_double())
        return false;
    const double d = v.get_double();
    return std::isfinite(d) && std::trunc(d) == d;
}

double to_double(const json::value& v)
{
    if (v.is_int64())
        return static_cast<double>(v.get_int64());
    if (v.is_uint64())
        return static_cast<double>(v.get_uint64());
    return v.get_double();
}

// |v| of an integral number when it fits 64 bits.
std::optional<std::uint64_t> magnitude(const json::value& v)
{
    if (v.is_uint64())
        return v.get_uint64();
    if (v.is_int64()) {
        const std::int64_t i = v.get_int64();
        return i < 0 ? 0 - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
    }
    const double d = std::fabs(v.get_double());
    if (std::trunc(d) == d && d < 0x1p64)
        return static_cast<std::uint64_t>(d);
    return std::nullopt;
}

// `m` > 0.
bool is_multiple(const json::value& x, const json::value& m)
{
    if (is_integral(m)) {
        if (!is_integral(x))
            return false;
        const auto mx = magnitude(x);
        const auto mm = magnitude(m);
        if (mx && mm)
            return *mx % *mm == 0;
        if (mx)
            return *mx == 0; // |m| >= 2^64 > |x|
        // |x| >= 2^64, so x is a double; fmod is exact when m is a double too.
        if (m.is_double() || *mm <= (std::uint64_t{1} << 53))
            return std::fmod(x.get_double(), to_double(m)) == 0;
        return true; // a divisor past 2^53 against a huge double: left to the server
    }
    // A fractional divisor is a decimal the double only approximates
    // (0.3 / 0.1 is 2.9999999999999996): allow the rounding error.
    const double dx = to_double(x);
    const double q = dx / m.get_double();
    if (!std::isfinite(q)) // a huge x, a tiny divisor: exact, as only a binary fraction can divide it
        return std::isfinite(dx) && std::fmod(dx, m.get_double()) == 0;
    return std::fabs(q - std::nearbyint(q)) <= 1e-12 * std::max(1.0, std::fabs(q));
}

// ------------------------------------------------------------ JSON values --

// JSON Schema equality: numbers by value (1 == 1.0), objects regardless of
// member order.
bool json_equal(const json::value& a, const json::value& b)
{
    if (a.is_number() && b.is_number())
        return compare_numbers(a, b) == Order::equal;
    if (a.kind() != b.kind())
        return false;
    switch (a.kind()) {
    case json::kind::string:
        return a.get_string() == b.get_string();
    case json::kind::bool_:
        return a.get_bool() == b.get_bool();
    case json::kind::array: {
        const auto& x = a.get_array();
        const auto& y = b.get_array();
        if (x.size() != y.size())
            return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!json_equal(x[i], y[i]))
                return false;
        return true;
    }
    case json::kind::object: {
        const auto& x = a.get_object();
        const auto& y = b.get_object();
        if (x.size() != y.size())
            return false;
        for (const auto& kv : x) {
            const auto* other = y.if_contains(kv.key());
            if (!other || !json_equal(kv.value(), *other))
                return false;
        }
        return true;
    }
    default:
        return true; // null
    }
}

std::size_t mix(std::size_t h, std::size_t v)
{
    return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

// A hash consistent with json_equal, so uniqueItems sorts instead of
// comparing every pair.
std::size_t json_hash(const json::value& v)
{
    switch (v.kind()) {
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: {
        if (is_integral(v)) {
            if (const auto m = magnitude(v)) {
                const bool negative = compare_double_int(to_double(v), 0) == Order::less;
                return mix(std::hash<std::uint64_t>{}(*m), negative ? 1 : 0);
            }
        }
        return std::hash<double>{}(v.get_double());
    }
    case json::kind::string:
        return mix(3, std::hash<std::string_view>{}(v.get_string()));
    case json::kind::bool_:
        return v.get_bool() ? 5 : 7;
    case json::kind::array: {
        std::size_t h = 11;
        for (const auto& e : v.get_array())
            h = mix(h, json_hash(e));
        return h;
    }
    case json::kind::object: {
        std::size_t h = 13;
        for (const auto& kv : v.get_object()) // member order must not matter: a sum
            h += mix(std::hash<std::string_view>{}(kv.key()), json_hash(kv.value()));
        return h;
    }
    default:
        return 17;
    }
}

// ------------------------------------------------------------------ types --

enum TypeBit : unsigned {
    kObject = 1,
    kArray = 2,
    kString = 4,
    kNumber = 8,
    kInteger = 16,
    kBoolean = 32,
    kNull = 64,
};

constexpr std::pair<std::string_view, unsigned> kTypeNames[] = {
    {"object", kObject},   {"array", kArray},     {"string", kString}, {"number", kNumber},
    {"integer", kInteger}, {"boolean", kBoolean}, {"null", kNull},
};

bool has_type(const json::value& v, unsigned types)
{
    switch (v.kind()) {
    case json::kind::object:
        return types & kObject;
    case json::kind::array:
        return types & kArray;
    case json::kind::string:
        return types & kString;
    case json::kind::bool_:
        return types & kBoolean;
    case json::kind::null:
        return types & kNull;
    default:
        return (types & kNumber) || ((types & kInteger) && is_integral(v));
    }
}

std::string_view kind_name(const json::value& v)
{
    switch (v.kind()) {
    case json::kind::object:
        return "object";
    case json::kind::array:
        return "array";
    case json::kind::string:
        return "string";
    case json::kind::bool_:
        return "boolean";
    case json::kind::null:
        return "null";
    case json::kind::double_:
        return "number";
    default:
        return "integer";
    }
}

std::string types_text(unsigned types)
{
    if (types & kNumber)
        types &= ~unsigned{kInteger};
    std::vector<std::string_view> names;
    for (const auto& [name, bit] : kTypeNames)
        if (types & bit)
            names.push_back(name);
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            out += i + 1 == names.size() ? " or " : ", ";
        out += names[i];
    }
    return out;
}

// What a value is, for "expected integer, got number 2.5".
std::string got(const json::value& v)
{
    if (v.is_double())
        return "number " + to_json_text(v);
    return std::string(kind_name(v));
}

// ------------------------------------------------------------------- text --

// At most `max_chars` code points of `s`, "..." marking a cut.
std::string clip(std::string_view s, std::size_t max_chars)
{
    const std::size_t end = text::code_point_offset(s, max_chars);
    if (end >= s.size())
        return std::string(s);
    return std::string(s.substr(0, end)) + "...";
}

// A value in a message: as JSON, cut short (a long string before it is
// written out, since a model may send megabytes).
std::string brief(const json::value& v)
{
    if (v.is_string() && v.get_string().size() > 400) {
        const std::string_view s = v.get_string();
        return clip(to_json_text(json::value(s.substr(0, text::code_point_offset(s, 100)))), 80);
    }
    return clip(to_json_text(v), 80);
}

std::string quote_text(std::string_view s)
{
    std::string out;
    append_json_string(out, s);
    return clip(out, 120);
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many)
{
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// Control characters as JSON escapes, so that a message stays on one line.
void append_one_line(std::string& out, char c)
{
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
        std::string escaped;
        append_json_string(escaped, std::string_view(&c, 1));
        out += escaped.substr(1, escaped.size() - 2);
    } else {
        out += c;
    }
}

// A pattern as a message shows it: unquoted, so its backslashes read as
// written, on one line, cut short.
std::string pattern_text(std::string_view source)
{
    std::string out;
    for (const char c : clip(source, 200))
        append_one_line(out, c);
    return out;
}

// A JSON pointer token.
std::string escape_token(std::string_view key)
{
    std::string out;
    for (const char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            append_one_line(out, c);
    }
    return out;
}

std::string child(const std::string& where, std::string_view key)
{
    return where + "/" + escape_token(key);
}

// --------------------------------------------------------------- patterns --

bool is_hex(wchar_t c)
{
    return (c >= L'0' && c <= L'9') || (c >= L'a' && c <= L'f') || (c >= L'A' && c <= L'F');
}

unsigned hex_value(wchar_t c)
{
    return c <= L'9' ? unsigned(c - L'0') : c <= L'F' ? unsigned(c - L'A' + 10) : unsigned(c - L'a' + 10);
}

std::wstring hex_escape(char32_t cp)
{
    static constexpr wchar_t digits[] = L"0123456789ABCDEF";
    std::wstring hex;
    do {
        hex.insert(hex.begin(), digits[cp & 0xF]);
        cp >>= 4;
    } while (cp != 0);
    return L"\\x{" + hex + L"}";
}

// After "\u" at p[i]: XXXX or {X...}; advances i past it.
std::optional<char32_t> unicode_escape(std::wstring_view p, std::size_t& i)
{
    char32_t cp = 0;
    if (i < p.size() && p[i] == L'{') {
        std::size_t j = i + 1;
        while (j < p.size() && is_hex(p[j]) && cp <= 0x10FFFF)
            cp = cp * 16 + hex_value(p[j++]);
        if (j == i + 1 || j >= p.size() || p[j] != L'}' || cp > 0x10FFFF)
            return std::nullopt;
        i = j + 1;
        return cp;
    }
    if (i + 4 > p.size())
        return std::nullopt;
    for (std::size_t k = 0; k < 4; ++k) {
        if (!is_hex(p[i + k]))
            return std::nullopt;
        cp = cp * 16 + hex_value(p[i + k]);
    }
    i += 4;
    return cp;
}

// ECMAScript's whitespace (\s), as the inside of a Boost class; Boost's own
// \s follows the C++ locale, which leaves out U+00A0 and the like.
constexpr std::wstring_view kSpaceSet =
    L"\\x{9}-\\x{D} \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";

// ECMAScript pattern (as JSON Schema specifies them) to Boost's Perl syntax,
// rewriting what the two read differently:
//   \d \w \s  ASCII digits and word characters, ECMAScript's whitespace
//   .         anything but \n \r U+2028 U+2029
//   ^ $       start and end of the string (no multiline flag in a schema)
//   \uXXXX \u{X}, surrogate pairs, \xHH, \cX   -> \x{...}
//   \a \e \Q \<  ... ECMAScript's identity escapes, which Boost reads as
//             its own extensions; escaped punctuation is spelled \x{...}
//   [ in a class, [] and [^], a { that is no quantifier, a - in a class
//   that cannot make a range ([\w-.], [a-z-9])   as ECMAScript reads them
// nullopt for a Unicode property escape (\p{L}): Boost knows those only
// with ICU, so that pattern is not checked.
class EcmaTranslator {
public:
    explicit EcmaTranslator(std::wstring_view p) : p_(p) {}

    std::optional<std::wstring> run()
    {
        while (i_ < p_.size()) {
            const wchar_t c = p_[i_];
            if (c == L'\\') {
                if (!escape())
                    return std::nullopt;
            } else if (in_class_) {
                class_char(c);
            } else {
                outside(c);
            }
        }
        return std::move(out_);
    }

private:
    // After the backslash at i_; false for \p{...}.
    bool escape()
    {
        if (i_ + 1 >= p_.size()) { // a trailing backslash: Boost rejects it too
            out_ += L'\\';
            ++i_;
            return true;
        }
        const wchar_t e = p_[i_ + 1];
        i_ += 2;
        const std::wstring space(kSpaceSet);
        switch (e) {
        case L'd':
            return set(L"0-9", L"[0-9]");
        case L'D':
            return set(L"\\D", L"[^0-9]");
        case L'w':
            return set(L"A-Za-z0-9_", L"[A-Za-z0-9_]");
        case L'W':
            return set(L"\\W", L"[^A-Za-z0-9_]");
        case L's':
            return set(space, L"[" + space + L"]");
        case L'S':
            return set(L"\\S", L"[^" + space + L"]");
        case L'p':
        case L'P':
            if (i_ < p_.size() && p_[i_] == L'{')
                return false;
            return atom(std::wstring(1, e));
        case L'v':
            return atom(L"\\x{B}");
        case L'f':
        case L'n':
        case L'r':
        case L't':
            return atom(std::wstring{L'\\', e});
        case L'b':
            return in_class_ ? atom(L"\\x{8}") : verbatim(L"\\b");
        case L'B':
            return in_class_ ? atom(L"B") : verbatim(L"\\B");
        case L'k':
            return in_class_ ? atom(L"k") : verbatim(L"\\k");
        case L'0':
            if (i_ < p_.size() && p_[i_] >= L'0' && p_[i_] <= L'9')
                return verbatim(L"\\0"); // a legacy octal escape; Boost reads those too
            return atom(L"\\x{0}");
        case L'c':
            if (i_ < p_.size() && ((p_[i_] >= L'a' && p_[i_] <= L'z') || (p_[i_] >= L'A' && p_[i_] <= L'Z')))
                return atom(hex_escape(static_cast<char32_t>(p_[i_++] % 32)));
            return atom(L"\\x{5C}") && atom(L"c");
        case L'x':
            if (i_ + 2 <= p_.size() && is_hex(p_[i_]) && is_hex(p_[i_ + 1])) {
                const char32_t cp = hex_value(p_[i_]) * 16 + hex_value(p_[i_ + 1]);
                i_ += 2;
                return atom(hex_escape(cp));
            }
            return atom(L"x");
        case L'u': {
            auto cp = unicode_escape(p_, i_);
            if (!cp)
                return atom(L"u");
            if (*cp >= 0xD800 && *cp <= 0xDBFF && i_ + 1 < p_.size() && p_[i_] == L'\\' && p_[i_ + 1] == L'u') {
                std::size_t j = i_ + 2;
                const auto low = unicode_escape(p_, j);
                if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
                    cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
                    i_ = j;
                }
            }
            return atom(hex_escape(*cp));
        }
        default:
            if (e >= L'1' && e <= L'9') // a back reference, an octal escape in a class
                return in_class_ ? atom(hex_escape(static_cast<char32_t>(e - L'0'))) : verbatim(std::wstring{L'\\', e});
            if ((e >= L'a' && e <= L'z') || (e >= L'A' && e <= L'Z'))
                return atom(std::wstring(1, e));
            return atom(hex_escape(static_cast<char32_t>(e)));
        }
    }

    bool verbatim(const std::wstring& text)
    {
        out_ += text;
        return true;
    }

    // A class escape (\d): `inside` as it goes in a class, `outside` alone.
    bool set(const std::wstring& inside, const std::wstring& outside)
    {
        if (!in_class_)
            return verbatim(outside);
        if (dash_pending_) // [a-\d]: no range, a literal -
            out_ += L"\\x{2D}";
        dash_pending_ = false;
        range_start_ = false;
        out_ += inside;
        return true;
    }

    // One character, spelled for Boost. In a class, a - is written only
    // once it is known to make a range.
    bool atom(const std::wstring& spelled)
    {
        if (in_class_ && dash_pending_) {
            out_ += L'-';
            dash_pending_ = false;
            range_start_ = false;
        } else {
            range_start_ = in_class_;
        }
        out_ += spelled;
        return true;
    }

    void class_char(wchar_t c)
    {
        ++i_;
        if (c == L']') {
            if (dash_pending_)
                out_ += L"\\x{2D}";
            in_class_ = dash_pending_ = range_start_ = false;
            out_ += c;
        } else if (c == L'-' && range_start_ && i_ < p_.size() && p_[i_] != L']') {
            dash_pending_ = true;
            range_start_ = false;
        } else if (c == L'-') {
            atom(L"\\x{2D}");
        } else if (c == L'[') { // in Boost, [: [= [. would open a POSIX class
            atom(L"\\[");
        } else {
            atom(std::wstring(1, c));
        }
    }

    void outside(wchar_t c)
    {
        switch (c) {
        case L'[': {
            std::size_t j = i_ + 1;
            const bool negated = j < p_.size() && p_[j] == L'^';
            if (negated)
                ++j;
            if (j < p_.size() && p_[j] == L']') { // [] matches nothing, [^] anything
                out_ += negated ? L"[\\s\\S]" : L"(?!)";
                i_ = j + 1;
                return;
            }
            out_ += negated ? L"[^" : L"[";
            in_class_ = true;
            i_ = j;
            return;
        }
        case L'.':
            out_ += L"[^\\x{A}\\x{D}\\x{2028}\\x{2029}]";
            break;
        case L'^':
            out_ += L"\\A";
            break;
        case L'$':
            out_ += L"\\z";
            break;
        case L'{': {
            std::size_t j = i_ + 1;
            const std::size_t digits = j;
            while (j < p_.size() && p_[j] >= L'0' && p_[j] <= L'9')
                ++j;
            bool quantifier = j > digits;
            if (quantifier && j < p_.size() && p_[j] == L',') {
                ++j;
                while (j < p_.size() && p_[j] >= L'0' && p_[j] <= L'9')
                    ++j;
            }
            if (quantifier && j < p_.size() && p_[j] == L'}') {
                out_ += p_.substr(i_, j + 1 - i_);
                i_ = j + 1;
                return;
            }
            out_ += L"\\{";
            break;
        }
        default:
            out_ += c;
        }
        ++i_;
    }

    std::wstring_view p_;
    std::size_t i_ = 0;
    std::wstring out_;
    bool in_class_ = false;
    bool range_start_ = false;  // the last thing in the class was one character
    bool dash_pending_ = false; // a - after such a character, not yet written
};

} // namespace

// ------------------------------------------------------------------ nodes --
// Outside the unnamed namespace: JsonSchema::Impl derives from Compiled.

struct Pattern {
    std::string source; // as the schema wrote it, for messages
    boost::wregex re;
    bool checked = true; // false: see EcmaTranslator
};

// One subschema, its keywords resolved; unset keywords are empty or kNone.
struct Node {
    bool is_false = false; // the schema `false`, nothing else set
    unsigned types = 0;    // 0: no "type"
    std::optional<json::array> enum_values;
    std::optional<json::value> const_value;

    std::vector<std::pair<std::string, NodeId>> properties; // sorted by name
    std::vector<std::string> required;
    NodeId additional_properties = kNone;
    std::vector<std::pair<std::size_t, NodeId>> pattern_properties; // (pattern index, schema)
    NodeId property_names = kNone;
    std::optional<std::uint64_t> min_properties, max_properties;
    std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
    std::vector<std::pair<std::string, NodeId>> dependent_schemas;

    std::vector<NodeId> prefix_items;
    NodeId items = kNone; // the items after prefix_items
    std::optional<std::uint64_t> min_items, max_items;
    bool unique_items = false;
    NodeId contains = kNone;
    std::optional<std::uint64_t> min_contains, max_contains;

    std::optional<std::uint64_t> min_length, max_length;
    std::optional<std::size_t> pattern; // index into Compiled::patterns

    std::optional<json::value> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;

    std::vector<NodeId> all_of, any_of, one_of;
    NodeId not_ = kNone, if_ = kNone, then_ = kNone, else_ = kNone;
    NodeId ref = kNone;
};

struct Compiled {
    std::vector<Node> nodes; // nodes[0] is the root
    std::vector<Pattern> patterns;
    SchemaLimits limits;
};

namespace {

enum class Match { yes, no, too_complex };

Match search(const Pattern& p, std::string_view subject)
{
    if (!p.checked)
        return Match::yes;
    const auto text = decode_surrogateescape<std::wstring>(subject);
    try {
        return boost::regex_search(text, p.re) ? Match::yes : Match::no;
    } catch (const std::runtime_error&) {
        // Boost gives up on runaway backtracking ((a+)+$) and on matches
        // that would outgrow its stack: no answer, and no hang.
        return Match::too_complex;
    }
}

// --------------------------------------------------------------- compiler --

ConfigError schema_error(const std::string& where, const std::string& what)
{
    return ConfigError("invalid schema at " + where + ": " + what);
}

class Compiler {
public:
    Compiler(const json::value& root, Compiled& out) : root_(root), out_(out), limits_(out.limits) {}

    void run()
    {
        collect_anchors();
        if (root_.is_object()) {
            const auto& o = root_.get_object();
            if (const auto* s = o.if_contains("$schema"); s && s->is_string()) {
                const std::string_view uri = s->get_string();
                // Before 2019-09, $ref replaced the keywords beside it.
                for (const std::string_view old : {"draft-03", "draft-04", "draft-06", "draft-07"})
                    legacy_ref_ = legacy_ref_ || uri.find(old) != std::string_view::npos;
                modern_ =
                    uri.find("/2019-09/") != std::string_view::npos || uri.find("/2020-12/") != std::string_view::npos;
            }
            if (const auto* id = o.if_contains("$id"); id && id->is_string()) {
                root_id_ = id->get_string();
                if (!root_id_.empty() && root_id_.back() == '#')
                    root_id_.pop_back();
            }
        }
        node(root_, "#", 0);
        while (!pending_.empty()) {
            const Pending p = std::move(pending_.back());
            pending_.pop_back();
            fill(p.id, *p.value, p.where, p.depth);
        }
    }

private:
    struct Pending {
        const json::value* value;
        NodeId id;
        std::string where;
        std::size_t depth;
    };

    // A subschema with an $id of its own (not "#name") is another resource:
    // its "#..." references are relative to it, and its anchors are not the
    // root's.
    bool is_resource(const json::value& v) const
    {
        if (&v == &root_ || !v.is_object())
            return false;
        const auto* id = v.get_object().if_contains("$id");
        return id && id->is_string() && !id->get_string().starts_with("#");
    }

    // Names for "#name" references: $anchor (2020-12) and $id "#name"
    // (draft-07). A walk with its own stack: the document may nest deeper
    // than this thread's stack allows recursion.
    void collect_anchors()
    {
        std::vector<const json::value*> stack{&root_};
        while (!stack.empty()) {
            const json::value* v = stack.back();
            stack.pop_back();
            if (is_resource(*v))
                continue;
            if (v->is_object()) {
                const auto& o = v->get_object();
                if (const auto* a = o.if_contains("$anchor"); a && a->is_string())
                    anchors_.emplace(std::string(a->get_string()), v);
                if (const auto* id = o.if_contains("$id"); id && id->is_string() && id->get_string().starts_with("#"))
                    anchors_.emplace(std::string(std::string_view(id->get_string()).substr(1)), v);
                for (const auto& kv : o) // values, not schemas, whatever they hold
                    if (kv.key() != "enum" && kv.key() != "const" && kv.key() != "default" && kv.key() != "examples")
                        stack.push_back(&kv.value());
            } else if (v->is_array()) {
                for (const auto& e : v->get_array())
                    stack.push_back(&e);
            }
        }
    }

    NodeId allocate(const json::value* v, const std::string& where)
    {
        if (out_.nodes.size() >= limits_.max_subschemas)
            throw schema_error(where,
                               "the schema has more than " + std::to_string(limits_.max_subschemas) + " subschemas");
        const auto id = static_cast<NodeId>(out_.nodes.size());
        out_.nodes.emplace_back();
        memo_.emplace(v, id);
        return id;
    }

    // A subschema is compiled once however many places reach it (the memo
    // is keyed by its address in the document), which is also what ends
    // the compilation of a recursive $ref.
    NodeId node(const json::value& v, const std::string& where, std::size_t depth)
    {
        if (const auto it = memo_.find(&v); it != memo_.end())
            return it->second;
        const NodeId id = allocate(&v, where);
        fill(id, v, where, depth);
        return id;
    }

    NodeId sub(const json::object& o, std::string_view key, const std::string& where, std::size_t depth)
    {
        const auto* v = o.if_contains(key);
        return v ? node(*v, child(where, key), depth + 1) : kNone;
    }

    std::vector<NodeId> schema_list(const json::value& v, const std::string& where, std::size_t depth)
    {
        if (!v.is_array() || v.get_array().empty())
            throw schema_error(where, "expected a non-empty array of schemas");
        std::vector<NodeId> out;
        const auto& a = v.get_array();
        for (std::size_t i = 0; i < a.size(); ++i)
            out.push_back(node(a[i], where + "/" + std::to_string(i), depth + 1));
        return out;
    }

    static std::uint64_t count(const json::value& v, const std::string& where)
    {
        if (v.is_uint64())
            return v.get_uint64();
        if (v.is_int64() && v.get_int64() >= 0)
            return static_cast<std::uint64_t>(v.get_int64());
        if (v.is_double()) {
            const double d = v.get_double();
            if (d >= 0 && std::trunc(d) == d)
                return d >= 0x1p64 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(d);
        }
        throw schema_error(where, "expected a non-negative integer, got " + brief(v));
    }

    static json::value number(const json::value& v, const std::string& where)
    {
        if (!v.is_number() || (v.is_double() && std::isnan(v.get_double())))
            throw schema_error(where, "expected a number, got " + brief(v));
        return v;
    }

    static std::vector<std::string> names(const json::value& v, const std::string& where)
    {
        if (!v.is_array())
            throw schema_error(where, "expected an array of property names");
        std::vector<std::string> out;
        for (const auto& e : v.get_array()) {
            if (!e.is_string())
                throw schema_error(where, "expected an array of property names, found " + brief(e));
            out.emplace_back(e.get_string());
        }
        return out;
    }

    std::size_t pattern(std::string_view source, const std::string& where)
    {
        if (text::count_code_points(source) > limits_.max_pattern_length)
            throw schema_error(where, "the pattern is longer than " + std::to_string(limits_.max_pattern_length) +
                                          " characters");
        Pattern p;
        p.source = source;
        const auto translated = EcmaTranslator(decode_surrogateescape<std::wstring>(source)).run();
        if (!translated) {
            p.checked = false;
        } else {
            try {
                p.re.assign(*translated, boost::regex_constants::perl | boost::regex_constants::no_mod_m);
            } catch (const std::exception& e) {
                // Boost's message goes on to quote the translated pattern:
                // its first sentence is what helps.
                std::string why = e.what();
                if (const auto dot = why.find(".  "); dot != std::string::npos)
                    why.resize(dot);
                throw schema_error(where, "invalid regular expression " + quote_text(source) + ": " + why);
            }
        }
        out_.patterns.push_back(std::move(p));
        return out_.patterns.size() - 1;
    }

    // The document `ref` points into: only this one, so a reference is
    // local: "#", "#/json/pointer" (URI-escaped), "#anchor", or one of those
    // after the root's own $id.
    const json::value* resolve(std::string_view ref, const std::string& where)
    {
        const auto hash = ref.find('#');
        const std::string_view base = ref.substr(0, hash);
        const std::string_view fragment = hash == std::string_view::npos ? "" : ref.substr(hash + 1);
        if (!base.empty() && base != root_id_)
            throw schema_error(where, "remote $ref " + quote_text(ref) +
                                          " is not supported (only references into this schema are)");

        std::string decoded;
        for (std::size_t i = 0; i < fragment.size(); ++i) {
            if (fragment[i] != '%') {
                decoded += fragment[i];
                continue;
            }
            if (i + 2 >= fragment.size() || !is_hex(fragment[i + 1]) || !is_hex(fragment[i + 2]))
                throw schema_error(where, "bad percent-escape in $ref " + quote_text(ref));
            decoded += static_cast<char>(hex_value(fragment[i + 1]) * 16 + hex_value(fragment[i + 2]));
            i += 2;
        }
        if (decoded.empty())
            return &root_;
        if (decoded.front() != '/') {
            const auto it = anchors_.find(decoded);
            if (it == anchors_.end())
                throw schema_error(where, "$ref " + quote_text(ref) + " names no anchor in this schema");
            return it->second;
        }

        const json::value* v = &root_;
        std::size_t pos = 1;
        while (true) {
            const std::size_t slash = std::min(decoded.find('/', pos), decoded.size());
            std::string token;
            for (std::size_t i = pos; i < slash; ++i) {
                if (decoded[i] != '~') {
                    token += decoded[i];
                } else if (i + 1 < slash && (decoded[i + 1] == '0' || decoded[i + 1] == '1')) {
                    token += decoded[++i] == '0' ? '~' : '/';
                } else {
                    throw schema_error(where, "bad JSON pointer in $ref " + quote_text(ref));
                }
            }
            const json::value* next = nullptr;
            if (v->is_object()) {
                next = v->get_object().if_contains(token);
            } else if (v->is_array()) {
                const auto& a = v->get_array();
                const bool digits =
                    !token.empty() && token.size() <= 18 &&
                    std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
                if (digits && (token.size() == 1 || token[0] != '0')) {
                    const auto index = std::stoull(token);
                    if (index < a.size())
                        next = &a[index];
                }
            }
            if (!next)
                throw schema_error(where, "$ref " + quote_text(ref) + " points to nothing in this schema");
            v = next;
            if (slash == decoded.size())
                return v;
            pos = slash + 1;
        }
    }

    // Targets are compiled from a work list, not from here: a chain of
    // references must not nest the compiler's calls.
    NodeId reference(std::string_view ref, const std::string& where)
    {
        const json::value* target = resolve(ref, where);
        if (const auto it = memo_.find(target); it != memo_.end())
            return it->second;
        const std::string at = ref.starts_with("#") ? std::string(ref) : where;
        const NodeId id = allocate(target, at);
        pending_.push_back({target, id, at, static_cast<std::size_t>(std::count(ref.begin(), ref.end(), '/'))});
        return id;
    }

    void fill(NodeId id, const json::value& v, const std::string& where, std::size_t depth)
    {
        if (depth > limits_.max_depth)
            throw schema_error(where,
                               "the schema nests more than " + std::to_string(limits_.max_depth) + " levels deep");
        Node n;
        if (v.is_bool()) {
            n.is_false = !v.get_bool();
            out_.nodes[id] = std::move(n);
            return;
        }
        if (!v.is_object())
            throw schema_error(where, "expected a schema (an object or a boolean), got " + brief(v));
        const auto& o = v.get_object();
        const auto at = [&](std::string_view key) { return child(where, key); };
        // Before 2019-09, an $id beside $ref was ignored with the rest.
        const bool resource = is_resource(v) && !(legacy_ref_ && o.contains("$ref"));
        resource_depth_ += resource;

        if (const auto* r = o.if_contains("$ref")) {
            if (!r->is_string())
                throw schema_error(at("$ref"), "expected a string");
            // Resolving it against the root could pick the wrong schema.
            if (resource_depth_ > 0)
                throw schema_error(at("$ref"), "a $ref inside a subschema with an $id of its own is not supported");
            n.ref = reference(r->get_string(), at("$ref"));
            if (legacy_ref_) {
                resource_depth_ -= resource;
                out_.nodes[id] = std::move(n);
                return;
            }
        }

        if (const auto* t = o.if_contains("type")) {
            const auto add = [&](const json::value& name) {
                const auto* known = name.is_string()
                                        ? std::find_if(std::begin(kTypeNames), std::end(kTypeNames),
                                                       [&](const auto& tn) { return tn.first == name.get_string(); })
                                        : std::end(kTypeNames);
                if (known == std::end(kTypeNames))
                    throw schema_error(at("type"), "unknown type " + brief(name));
                n.types |= known->second;
            };
            if (t->is_array() && !t->get_array().empty()) {
                for (const auto& e : t->get_array())
                    add(e);
            } else if (t->is_string()) {
                add(*t);
            } else {
                throw schema_error(at("type"), "expected a type name or a non-empty array of them");
            }
        }
        if (const auto* e = o.if_contains("enum")) {
            if (!e->is_array())
                throw schema_error(at("enum"), "expected an array");
            n.enum_values = e->get_array();
        }
        if (const auto* c = o.if_contains("const"))
            n.const_value = *c;
        // OpenAPI 3.0's way to say "or null", which servers converted from
        // OpenAPI specs still use.
        if (const auto* nb = o.if_contains("nullable"); nb && nb->is_bool() && nb->get_bool()) {
            if (n.types)
                n.types |= kNull;
            if (n.enum_values)
                n.enum_values->emplace_back(nullptr);
        }

        object_keywords(n, o, where, depth);
        array_keywords(n, o, where, depth);

        if (const auto* x = o.if_contains("minLength"))
            n.min_length = count(*x, at("minLength"));
        if (const auto* x = o.if_contains("maxLength"))
            n.max_length = count(*x, at("maxLength"));
        if (const auto* x = o.if_contains("pattern")) {
            if (!x->is_string())
                throw schema_error(at("pattern"), "expected a string");
            n.pattern = pattern(x->get_string(), at("pattern"));
        }

        if (const auto* x = o.if_contains("minimum"))
            n.minimum = number(*x, at("minimum"));
        if (const auto* x = o.if_contains("maximum"))
            n.maximum = number(*x, at("maximum"));
        // Draft-04's booleans make minimum/maximum exclusive; later drafts
        // give the bound itself.
        if (const auto* x = o.if_contains("exclusiveMinimum")) {
            if (x->is_bool()) {
                if (x->get_bool() && n.minimum)
                    n.exclusive_minimum = std::exchange(n.minimum, std::nullopt);
            } else {
                n.exclusive_minimum = number(*x, at("exclusiveMinimum"));
            }
        }
        if (const auto* x = o.if_contains("exclusiveMaximum")) {
            if (x->is_bool()) {
                if (x->get_bool() && n.maximum)
                    n.exclusive_maximum = std::exchange(n.maximum, std::nullopt);
            } else {
                n.exclusive_maximum = number(*x, at("exclusiveMaximum"));
            }
        }
        if (const auto* x = o.if_contains("multipleOf")) {
            n.multiple_of = number(*x, at("multipleOf"));
            if (compare_numbers(*n.multiple_of, json::value(0)) != Order::greater)
                throw schema_error(at("multipleOf"), "expected a number greater than 0, got " + brief(*x));
        }

        if (const auto* x = o.if_contains("allOf"))
            n.all_of = schema_list(*x, at("allOf"), depth);
        if (const auto* x = o.if_contains("anyOf"))
            n.any_of = schema_list(*x, at("anyOf"), depth);
        if (const auto* x = o.if_contains("oneOf"))
            n.one_of = schema_list(*x, at("oneOf"), depth);
        n.not_ = sub(o, "not", where, depth);
        n.if_ = sub(o, "if", where, depth);
        if (n.if_ != kNone) { // then and else mean nothing without if
            n.then_ = sub(o, "then", where, depth);
            n.else_ = sub(o, "else", where, depth);
        }
        resource_depth_ -= resource;
        out_.nodes[id] = std::move(n);
    }

    void object_keywords(Node& n, const json::object& o, const std::string& where, std::size_t depth)
    {
        const auto at = [&](std::string_view key) { return child(where, key); };
        const auto schema_map = [&](std::string_view key) -> const json::object* {
            const auto* x = o.if_contains(key);
            if (x && !x->is_object())
                throw schema_error(at(key), "expected an object");
            return x ? &x->get_object() : nullptr;
        };

        if (const auto* props = schema_map("properties")) {
            for (const auto& kv : *props)
                n.properties.emplace_back(std::string(kv.key()),
                                          node(kv.value(), child(at("properties"), kv.key()), depth + 1));
            std::sort(n.properties.begin(), n.properties.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
        }
        // Draft-03 put a boolean `required` in each property: ignored, as a
        // later-draft validator ignores it.
        if (const auto* x = o.if_contains("required"); x && !x->is_bool())
            n.required = names(*x, at("required"));
        n.additional_properties = sub(o, "additionalProperties", where, depth);
        if (const auto* pp = schema_map("patternProperties")) {
            for (const auto& kv : *pp) {
                const std::string loc = child(at("patternProperties"), kv.key());
                n.pattern_properties.emplace_back(pattern(kv.key(), loc), node(kv.value(), loc, depth + 1));
            }
        }
        n.property_names = sub(o, "propertyNames", where, depth);
        if (const auto* x = o.if_contains("minProperties"))
            n.min_properties = count(*x, at("minProperties"));
        if (const auto* x = o.if_contains("maxProperties"))
            n.max_properties = count(*x, at("maxProperties"));
        if (const auto* dr = schema_map("dependentRequired"))
            for (const auto& kv : *dr)
                n.dependent_required.emplace_back(kv.key(),
                                                  names(kv.value(), child(at("dependentRequired"), kv.key())));
        if (const auto* ds = schema_map("dependentSchemas"))
            for (const auto& kv : *ds)
                n.dependent_schemas.emplace_back(kv.key(),
                                                 node(kv.value(), child(at("dependentSchemas"), kv.key()), depth + 1));
        // Draft-07's one keyword for both, which 2019-09 dropped: applied
        // unless the schema declares a later draft.
        if (const auto* deps = modern_ ? nullptr : schema_map("dependencies")) {
            for (const auto& kv : *deps) {
                const std::string loc = child(at("dependencies"), kv.key());
                if (kv.value().is_array())
                    n.dependent_required.emplace_back(kv.key(), names(kv.value(), loc));
                else
                    n.dependent_schemas.emplace_back(kv.key(), node(kv.value(), loc, depth + 1));
            }
        }
    }

    void array_keywords(Node& n, const json::object& o, const std::string& where, std::size_t depth)
    {
        const auto at = [&](std::string_view key) { return child(where, key); };
        // Draft-07's array `items` is 2020-12's prefixItems, and its
        // additionalItems 2020-12's `items`.
        const auto* items = o.if_contains("items");
        if (items && items->is_array()) {
            const auto& a = items->get_array();
            for (std::size_t i = 0; i < a.size(); ++i)
                n.prefix_items.push_back(node(a[i], at("items") + "/" + std::to_string(i), depth + 1));
            n.items = sub(o, "additionalItems", where, depth);
        } else {
            if (const auto* prefix = o.if_contains("prefixItems")) {
                if (!prefix->is_array())
                    throw schema_error(at("prefixItems"), "expected an array of schemas");
                const auto& a = prefix->get_array();
                for (std::size_t i = 0; i < a.size(); ++i)
                    n.prefix_items.push_back(node(a[i], at("prefixItems") + "/" + std::to_string(i), depth + 1));
            }
            n.items = sub(o, "items", where, depth);
        }
        if (const auto* x = o.if_contains("minItems"))
            n.min_items = count(*x, at("minItems"));
        if (const auto* x = o.if_contains("maxItems"))
            n.max_items = count(*x, at("maxItems"));
        if (const auto* x = o.if_contains("uniqueItems")) {
            if (!x->is_bool())
                throw schema_error(at("uniqueItems"), "expected a boolean");
            n.unique_items = x->get_bool();
        }
        n.contains = sub(o, "contains", where, depth);
        if (const auto* x = o.if_contains("minContains"))
            n.min_contains = count(*x, at("minContains"));
        if (const auto* x = o.if_contains("maxContains"))
            n.max_contains = count(*x, at("maxContains"));
    }

    const json::value& root_;
    Compiled& out_;
    const SchemaLimits& limits_;
    bool legacy_ref_ = false;
    bool modern_ = false;            // $schema is 2019-09 or 2020-12
    std::size_t resource_depth_ = 0; // nesting of resources with their own $id around the subschema being compiled
    std::string root_id_;
    std::unordered_map<const json::value*, NodeId> memo_;
    std::unordered_map<std::string, const json::value*> anchors_;
    std::vector<Pending> pending_;
};

// -------------------------------------------------------------- validator --

struct Step {
    std::string_view key;
    std::size_t index = 0;
    bool is_key = false;
};

struct Error {
    std::string where;
    std::string message;
    unsigned expected = 0;       // a type mismatch: the types that were expected
    bool value_mismatch = false; // const or enum: in a union, most likely the discriminator
};

// Where a validation writes its errors: the caller's list, or a scratch one
// that only has to tell whether a subschema matched (anyOf, not, if...).
struct Sink {
    std::size_t limit = 1;
    std::vector<Error> errors;

    bool full() const { return errors.size() >= limit; }
};

// An alternative of anyOf/oneOf keeps a few errors: enough to see whether
// it failed on a const or enum (a union's tag) anywhere, not just first.
constexpr std::size_t kAlternativeErrors = 4;

class Validator {
public:
    explicit Validator(const Compiled& c) : c_(c) {}

    std::vector<std::string> run(const json::value& instance)
    {
        Sink top{std::max<std::size_t>(1, c_.limits.max_errors), {}};
        top_ = &top;
        apply(0, instance, top, 0);
        std::vector<std::string> out;
        for (auto& e : top.errors)
            out.push_back("at " + e.where + ": " + e.message);
        return out;
    }

private:
    std::string here() const
    {
        if (path_.empty())
            return "(root)";
        std::string out;
        for (const auto& s : path_)
            out += "/" + (s.is_key ? escape_token(s.key) : std::to_string(s.index));
        return out;
    }

    bool stop(const Sink& sink) const { return aborted_ || sink.full(); }

    bool fail(Sink& sink, std::string message, unsigned expected = 0, bool value_mismatch = false)
    {
        if (!aborted_ && !sink.full())
            sink.errors.push_back({here(), std::move(message), expected, value_mismatch});
        return false;
    }

    // The schema, not the instance, ran out of bounds: the message goes to
    // the caller's list whatever scratch list is being filled, and every
    // frame returns at once.
    void abort(std::string message)
    {
        if (aborted_)
            return;
        if (!top_->full())
            top_->errors.push_back({here(), std::move(message), 0});
        aborted_ = true;
    }

    // Runs `f` with path_ one step deeper.
    template <class F>
    bool at(Step step, F&& f)
    {
        path_.push_back(step);
        const bool ok = f();
        path_.pop_back();
        return ok;
    }

    bool apply(NodeId id, const json::value& v, Sink& sink, std::size_t depth)
    {
        if (aborted_)
            return false;
        if (++steps_ > c_.limits.max_steps) {
            abort("the arguments are too complex to check against the tool's schema (more than " +
                  std::to_string(c_.limits.max_steps) + " steps)");
            return false;
        }
        if (depth > c_.limits.max_recursion) {
            abort("the tool's schema nests too deeply here to check (more than " +
                  std::to_string(c_.limits.max_recursion) + " levels; a $ref loop?)");
            return false;
        }
        const Node& n = c_.nodes[id];
        if (n.is_false)
            return fail(sink, "no value is allowed here");

        bool ok = true;
        // Records a result; true when validation must stop now.
        const auto done = [&](bool good) {
            ok = ok && good;
            return !good && stop(sink);
        };

        if (n.ref != kNone && done(apply(n.ref, v, sink, depth + 1)))
            return false;
        // Other keywords would only repeat a type mismatch in other words.
        if (n.types && !has_type(v, n.types))
            return fail(sink, "expected " + types_text(n.types) + ", got " + got(v), n.types);
        if (n.const_value && !json_equal(v, *n.const_value) &&
            done(fail(sink, "expected " + brief(*n.const_value) + ", got " + brief(v), 0, true)))
            return false;
        if (n.enum_values && done(check_enum(n, v, sink)))
            return false;

        switch (v.kind()) {
        case json::kind::object:
            if (done(check_object(n, v, sink, depth)))
                return false;
            break;
        case json::kind::array:
            if (done(check_array(n, v.get_array(), sink, depth)))
                return false;
            break;
        case json::kind::string:
            if (done(check_string(n, v.get_string(), sink)))
                return false;
            break;
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            if (done(check_number(n, v, sink)))
                return false;
            break;
        default:
            break;
        }

        if (done(check_applicators(n, v, sink, depth)))
            return false;
        return ok;
    }

    bool check_enum(const Node& n, const json::value& v, Sink& sink)
    {
        const auto& values = *n.enum_values;
        if (std::any_of(values.begin(), values.end(), [&](const json::value& e) { return json_equal(v, e); }))
            return true;
        if (values.size() == 1)
            return fail(sink, "expected " + brief(values[0]) + ", got " + brief(v), 0, true);
        std::string list;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (list.size() > 300) {
                list += ", ... (" + std::to_string(values.size() - i) + " more)";
                break;
            }
            list += (i ? ", " : "") + brief(values[i]);
        }
        return fail(sink,
                    values.empty() ? "no value is allowed here (the enum is empty)"
                                   : "expected one of " + list + ", got " + brief(v),
                    0, true);
    }

    bool check_number(const Node& n, const json::value& v, Sink& sink)
    {
        bool ok = true;
        const auto bound = [&](const std::optional<json::value>& limit, std::string_view op, bool below, bool strict) {
            if (!limit)
                return false;
            const Order o = compare_numbers(v, *limit);
            const bool good =
                o != Order::unordered && o != (below ? Order::greater : Order::less) && !(strict && o == Order::equal);
            if (good)
                return false;
            ok = fail(sink,
                      "expected a number " + std::string(op) + " " + to_json_text(*limit) + ", got " + to_json_text(v));
            return stop(sink);
        };
        if (bound(n.minimum, ">=", false, false) || bound(n.exclusive_minimum, ">", false, true) ||
            bound(n.maximum, "<=", true, false) || bound(n.exclusive_maximum, "<", true, true))
            return false;
        if (n.multiple_of && !is_multiple(v, *n.multiple_of))
            ok = fail(sink, "expected a multiple of " + to_json_text(*n.multiple_of) + ", got " + to_json_text(v));
        return ok;
    }

    bool check_string(const Node& n, std::string_view s, Sink& sink)
    {
        bool ok = true;
        if (n.min_length || n.max_length) {
            const std::uint64_t length = text::count_code_points(s);
            if (n.min_length && length < *n.min_length) {
                ok = fail(sink, "expected at least " + plural(*n.min_length, "character", "characters") + ", got " +
                                    std::to_string(length));
                if (stop(sink))
                    return false;
            }
            if (n.max_length && length > *n.max_length) {
                ok = fail(sink, "expected at most " + plural(*n.max_length, "character", "characters") + ", got " +
                                    std::to_string(length));
                if (stop(sink))
                    return false;
            }
        }
        if (n.pattern) {
            const Pattern& p = c_.patterns[*n.pattern];
            const Match m = search(p, s);
            if (m == Match::no)
                ok = fail(sink, "does not match the pattern " + pattern_text(p.source));
            else if (m == Match::too_complex)
                ok = fail(sink, "could not be checked against the pattern " + pattern_text(p.source) +
                                    " (the match is too complex)");
        }
        return ok;
    }

    bool check_array(const Node& n, const json::array& a, Sink& sink, std::size_t depth)
    {
        bool ok = true;
        const auto bad = [&](std::string message) {
            ok = fail(sink, std::move(message));
            return stop(sink);
        };
        if (n.min_items && a.size() < *n.min_items &&
            bad("expected at least " + plural(*n.min_items, "item", "items") + ", got " + std::to_string(a.size())))
            return false;
        if (n.max_items && a.size() > *n.max_items &&
            bad("expected at most " + plural(*n.max_items, "item", "items") + ", got " + std::to_string(a.size())))
            return false;

        for (std::size_t i = 0; i < a.size(); ++i) {
            const NodeId s = i < n.prefix_items.size() ? n.prefix_items[i] : n.items;
            if (s == kNone)
                continue;
            if (i >= n.prefix_items.size() && c_.nodes[s].is_false) { // a closed tuple
                if (bad("expected at most " + plural(n.prefix_items.size(), "item", "items") + ", got " +
                        std::to_string(a.size())))
                    return false;
                break;
            }
            const bool good = at({{}, i, false}, [&] { return apply(s, a[i], sink, depth + 1); });
            ok = ok && good;
            if (!good && stop(sink))
                return false;
        }

        if (n.unique_items && a.size() > 1) {
            std::vector<std::pair<std::size_t, std::size_t>> hashed; // (hash, index)
            for (std::size_t i = 0; i < a.size(); ++i)
                hashed.emplace_back(json_hash(a[i]), i);
            std::sort(hashed.begin(), hashed.end());
            std::optional<std::pair<std::size_t, std::size_t>> duplicate;
            for (std::size_t i = 0; i < hashed.size() && !duplicate; ++i) {
                for (std::size_t j = i + 1; j < hashed.size() && hashed[j].first == hashed[i].first; ++j) {
                    if (++steps_ > c_.limits.max_steps) {
                        abort("the arguments are too complex to check against the tool's schema (more than " +
                              std::to_string(c_.limits.max_steps) + " steps)");
                        return false;
                    }
                    if (json_equal(a[hashed[i].second], a[hashed[j].second])) {
                        duplicate = std::minmax(hashed[i].second, hashed[j].second);
                        break;
                    }
                }
            }
            if (duplicate && bad("expected unique items, but items " + std::to_string(duplicate->first) + " and " +
                                 std::to_string(duplicate->second) + " are equal"))
                return false;
        }

        if (n.contains != kNone) {
            const std::uint64_t min = n.min_contains.value_or(1);
            std::uint64_t matches = 0;
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (!n.max_contains && matches >= min)
                    break;
                Sink scratch;
                if (at({{}, i, false}, [&] { return apply(n.contains, a[i], scratch, depth + 1); }))
                    ++matches;
                if (aborted_)
                    return false;
            }
            if (matches < min && bad("expected at least " + plural(min, "item", "items") +
                                     " matching the \"contains\" schema, got " + std::to_string(matches)))
                return false;
            if (n.max_contains && matches > *n.max_contains &&
                bad("expected at most " + plural(*n.max_contains, "item", "items") +
                    " matching the \"contains\" schema, got " + std::to_string(matches)))
                return false;
        }
        return ok;
    }

    // Names the properties the schema does allow: the model most likely
    // misspelt one.
    std::string unexpected_property(const Node& n, std::string_view key) const
    {
        std::string message = "unexpected property " + quote_text(key);
        std::size_t listed = 0;
        for (const auto& [name, s] : n.properties) {
            if (c_.nodes[s].is_false)
                continue;
            if (listed == 10) {
                message += ", ...";
                break;
            }
            message += (listed++ ? ", " : " (expected properties: ") + quote_text(name);
        }
        return listed ? message + ")" : message;
    }

    bool check_object(const Node& n, const json::value& v, Sink& sink, std::size_t depth)
    {
        const json::object& o = v.get_object();
        bool ok = true;
        const auto bad = [&](std::string message) {
            ok = fail(sink, std::move(message));
            return stop(sink);
        };
        const auto sub = [&](NodeId s, std::string_view key, const json::value& value) {
            const bool good = at({key, 0, true}, [&] { return apply(s, value, sink, depth + 1); });
            ok = ok && good;
            return !good && stop(sink);
        };

        if (n.min_properties && o.size() < *n.min_properties &&
            bad("expected at least " + plural(*n.min_properties, "property", "properties") + ", got " +
                std::to_string(o.size())))
            return false;
        if (n.max_properties && o.size() > *n.max_properties &&
            bad("expected at most " + plural(*n.max_properties, "property", "properties") + ", got " +
                std::to_string(o.size())))
            return false;
        for (const auto& name : n.required)
            if (!o.contains(name) && bad("missing required property " + quote_text(name)))
                return false;
        for (const auto& [key, names] : n.dependent_required) {
            if (!o.contains(key))
                continue;
            for (const auto& name : names)
                if (!o.contains(name) &&
                    bad("property " + quote_text(name) + " is required when " + quote_text(key) + " is present"))
                    return false;
        }

        for (const auto& kv : o) {
            const std::string_view key = kv.key();
            bool matched = false;
            const auto prop = std::lower_bound(n.properties.begin(), n.properties.end(), key,
                                               [](const auto& p, std::string_view k) { return p.first < k; });
            if (prop != n.properties.end() && prop->first == key) {
                matched = true;
                if (c_.nodes[prop->second].is_false) {
                    if (bad("property " + quote_text(key) + " is not allowed"))
                        return false;
                } else if (sub(prop->second, key, kv.value())) {
                    return false;
                }
            }
            for (const auto& [pattern, s] : n.pattern_properties) {
                const Pattern& p = c_.patterns[pattern];
                const Match m = search(p, key);
                if (m == Match::too_complex) {
                    matched = true; // unknown: no "unexpected property" on top
                    if (bad("property name " + quote_text(key) + " could not be checked against the pattern " +
                            pattern_text(p.source) + " (the match is too complex)"))
                        return false;
                } else if (m == Match::yes) {
                    matched = true;
                    if (sub(s, key, kv.value()))
                        return false;
                }
            }
            if (!matched && n.additional_properties != kNone) {
                if (c_.nodes[n.additional_properties].is_false) {
                    if (bad(unexpected_property(n, key)))
                        return false;
                } else if (sub(n.additional_properties, key, kv.value())) {
                    return false;
                }
            }
            if (n.property_names != kNone) {
                Sink scratch;
                const json::value name(key);
                const bool good = apply(n.property_names, name, scratch, depth + 1);
                if (aborted_)
                    return false;
                if (!good && bad("invalid property name " + quote_text(key) + ": " +
                                 (scratch.errors.empty() ? std::string("rejected by propertyNames")
                                                         : scratch.errors.front().message)))
                    return false;
            }
        }

        for (const auto& [key, s] : n.dependent_schemas) {
            if (!o.contains(key))
                continue;
            const bool good = apply(s, v, sink, depth + 1);
            ok = ok && good;
            if (!good && stop(sink))
                return false;
        }
        return ok;
    }

    // The message for a value no alternative accepted: when each failed on
    // its type alone, one "expected string or null" (what pydantic's
    // Optional becomes); otherwise the first error of each alternative that
    // got furthest: past its type, and past a const or enum (the
    // discriminator of a tagged union), since that is the one the model meant.
    bool no_alternative(std::string_view keyword, const std::vector<std::pair<std::size_t, Sink>>& tries,
                        const json::value& v, Sink& sink)
    {
        const std::string where = here();
        const auto rank = [&](const Sink& s) {
            if (s.errors.empty())
                return 0;
            const Error& e = s.errors.front();
            if (e.expected != 0 && e.where == where)
                return 1;
            return std::any_of(s.errors.begin(), s.errors.end(), [](const Error& x) { return x.value_mismatch; }) ? 2
                                                                                                                  : 3;
        };
        int best = 0;
        unsigned expected = 0;
        for (const auto& [index, s] : tries) {
            best = std::max(best, rank(s));
            if (!s.errors.empty())
                expected |= s.errors.front().expected;
        }
        if (best == 1)
            return fail(sink, "expected " + types_text(expected) + ", got " + got(v), expected);

        std::string message = "matches none of the " + std::string(keyword) + " alternatives: ";
        std::size_t listed = 0;
        for (const auto& [index, s] : tries) {
            if (rank(s) != best)
                continue;
            if (listed == 4) {
                message += "; ...";
                break;
            }
            const Error& e = s.errors.front();
            message += (listed++ ? "; (" : "(") + std::to_string(index + 1) + ") " +
                       clip((e.where == where ? "" : "at " + e.where + ": ") + e.message, 300);
        }
        return fail(sink, std::move(message));
    }

    bool check_applicators(const Node& n, const json::value& v, Sink& sink, std::size_t depth)
    {
        bool ok = true;
        const auto done = [&](bool good) {
            ok = ok && good;
            return !good && stop(sink);
        };
        for (const NodeId s : n.all_of)
            if (done(apply(s, v, sink, depth + 1)))
                return false;

        if (!n.any_of.empty()) {
            std::vector<std::pair<std::size_t, Sink>> tries;
            bool matched = false;
            for (std::size_t i = 0; i < n.any_of.size() && !matched; ++i) {
                Sink scratch{kAlternativeErrors, {}};
                matched = apply(n.any_of[i], v, scratch, depth + 1);
                if (aborted_)
                    return false;
                tries.emplace_back(i, std::move(scratch));
            }
            if (!matched && done(no_alternative("anyOf", tries, v, sink)))
                return false;
        }

        if (!n.one_of.empty()) {
            std::vector<std::pair<std::size_t, Sink>> tries;
            std::vector<std::size_t> matched;
            for (std::size_t i = 0; i < n.one_of.size() && matched.size() < 2; ++i) {
                Sink scratch{kAlternativeErrors, {}};
                if (apply(n.one_of[i], v, scratch, depth + 1))
                    matched.push_back(i);
                else
                    tries.emplace_back(i, std::move(scratch));
                if (aborted_)
                    return false;
            }
            if (matched.empty() && done(no_alternative("oneOf", tries, v, sink)))
                return false;
            if (matched.size() > 1 &&
                done(fail(sink, "matches more than one of the oneOf alternatives (" + std::to_string(matched[0] + 1) +
                                    " and " + std::to_string(matched[1] + 1) + "); it must match exactly one")))
                return false;
        }

        if (n.not_ != kNone) {
            Sink scratch;
            const bool matched = apply(n.not_, v, scratch, depth + 1);
            if (aborted_)
                return false;
            if (matched && done(fail(sink, "must not match the schema in \"not\"")))
                return false;
        }

        if (n.if_ != kNone) {
            Sink scratch;
            const bool condition = apply(n.if_, v, scratch, depth + 1);
            if (aborted_)
                return false;
            const NodeId branch = condition ? n.then_ : n.else_;
            if (branch != kNone && done(apply(branch, v, sink, depth + 1)))
                return false;
        }
        return ok;
    }

    const Compiled& c_;
    std::vector<Step> path_;
    std::size_t steps_ = 0;
    bool aborted_ = false;
    Sink* top_ = nullptr;
};

} // namespace
} // namespace json_schema_impl

struct JsonSchema::Impl : json_schema_impl::Compiled {};

JsonSchema::JsonSchema() = default;

JsonSchema::JsonSchema(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

JsonSchema JsonSchema::compile(const boost::json::value& schema, SchemaLimits limits)
{
    auto impl = std::make_shared<Impl>();
    impl->limits = limits;
    json_schema_impl::Compiler(schema, *impl).run();
    return JsonSchema(std::move(impl));
}

std::vector<std::string> JsonSchema::validate(const boost::json::value& instance) const
{
    if (!impl_)
        return {};
    return json_schema_impl::Validator(*impl_).run(instance);
}

} // namespace stirrup::detail::mcp
