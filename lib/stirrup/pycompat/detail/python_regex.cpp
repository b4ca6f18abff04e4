#include "stirrup/pycompat/detail/python_regex.hpp"
#include "stirrup/pycompat/detail/surrogateescape.hpp"

#include <boost/regex.hpp>

#include <locale>
#include <string>
#include <vector>

namespace stirrup::detail {
namespace {

static_assert(sizeof(wchar_t) == 4, "patterns are matched as UTF-32 code points");

// Python's re works on code points, so patterns and commands are matched as
// UTF-32 (decode_surrogateescape).

bool is_hex(wchar_t c)
{
    return (c >= L'0' && c <= L'9') || (c >= L'a' && c <= L'f') || (c >= L'A' && c <= L'F');
}
bool is_digit(wchar_t c)
{
    return c >= L'0' && c <= L'9';
}

// Boost's Perl dialect is close to Python's re but not equal. Rewrite the
// constructs whose meaning differs so a pattern accepts what it accepts in
// Stirrup:
//   .                   Python excludes only \n (Boost also \r, \f, U+2028...)
//   ^ $                 Python's $ also matches before a final \n; (?m) uses \n only
//   \Z                  Python's \Z is Boost's \z
//   \uXXXX \UXXXXXXXX   -> \x{...}
//   (?P<n>...) (?P=n)   -> (?<n>...) \k<n>
//   {,n} {,}            -> {0,n} {0,}; a { that is no quantifier is literal
//   [ inside a class    literal in Python, a POSIX [:class:] opener in Boost
//   \s \S               Python's Unicode whitespace set
//   (?a)                ASCII \w \d \s \b spelled out; (?a) (?u) (?L) dropped
// Anything else passes through and Boost rejects what it cannot parse. Known
// residue: without (?a), \w \d \b use glibc's Unicode tables, which differ
// from Python's for some non-ASCII code points (marks, non-ASCII digits).
class PatternTranslator {
public:
    explicit PatternTranslator(std::wstring_view p) : p_(p) {}

    std::wstring run()
    {
        while (i_ < p_.size()) {
            const wchar_t c = p_[i_];
            if (c == L'\\')
                escape(false);
            else if (c == L'[')
                char_class();
            else if (c == L'(')
                open_group();
            else if (c == L')') {
                if (!stack_.empty()) {
                    flags_ = stack_.back();
                    stack_.pop_back();
                }
                out_ += c;
                ++i_;
            } else if (c == L'.') {
                out_ += flags_.dotall ? L"(?s:.)" : L"[^\\n]";
                ++i_;
            } else if (c == L'^') {
                out_ += flags_.multiline ? L"(?:\\A|(?<=\\n))" : L"\\A";
                ++i_;
            } else if (c == L'$') {
                out_ += flags_.multiline ? L"(?=\\n|\\z)" : L"(?=\\n?\\z)";
                ++i_;
            } else if (c == L'{')
                brace();
            else {
                out_ += c;
                ++i_;
            }
        }
        return std::move(out_);
    }

private:
    struct Flags {
        bool dotall = false;
        bool multiline = false;
        bool ascii = false;
    };

    // Python's Unicode \s also covers U+001C..U+001F, U+0085, U+00A0, U+2007
    // and U+202F, which glibc's iswspace leaves out.
    static constexpr std::wstring_view kExtraSpace = L"\\x{1c}-\\x{1f}\\x{85}\\x{a0}\\x{2007}\\x{202f}";
    static constexpr std::wstring_view kAsciiWord = L"A-Za-z0-9_";

    void escape(bool in_class)
    {
        const wchar_t next = i_ + 1 < p_.size() ? p_[i_ + 1] : 0;
        const std::size_t digits = next == L'u' ? 4 : next == L'U' ? 8 : 0;
        if (digits != 0 && i_ + 2 + digits <= p_.size()) {
            bool hex = true;
            for (std::size_t k = 0; k < digits; ++k)
                hex = hex && is_hex(p_[i_ + 2 + k]);
            if (hex) {
                out_ += L"\\x{";
                out_ += p_.substr(i_ + 2, digits);
                out_ += L'}';
                i_ += 2 + digits;
                return;
            }
        }
        if (const auto cls = class_escape(next, in_class); !cls.empty()) {
            out_ += cls;
            i_ += 2;
            return;
        }
        if (next == L'Z' && !in_class) {
            out_ += L"\\z";
            i_ += 2;
            return;
        }
        out_ += L'\\';
        ++i_;
        if (i_ < p_.size())
            out_ += p_[i_++];
    }

    // \s \S always, and \w \W \d \D \b \B under (?a), spelled out so they
    // mean what they mean in Python. Empty: leave the escape to Boost.
    std::wstring class_escape(wchar_t c, bool in_class) const
    {
        const bool ascii = flags_.ascii;
        std::wstring members;
        bool negated = false;
        switch (c) {
        case L'S':
            negated = true;
            [[fallthrough]];
        case L's':
            members = ascii ? L" \\t\\n\\r\\f\\v" : L"\\s" + std::wstring(kExtraSpace);
            break;
        case L'W':
            negated = true;
            [[fallthrough]];
        case L'w':
            if (ascii)
                members = kAsciiWord;
            break;
        case L'D':
            negated = true;
            [[fallthrough]];
        case L'd':
            if (ascii)
                members = L"0-9";
            break;
        case L'b':
        case L'B':
            if (ascii && !in_class) {
                const std::wstring w = L"[" + std::wstring(kAsciiWord) + L"]";
                const std::wstring at = L"(?:(?<=" + w + L")(?!" + w + L")|(?<!" + w + L")(?=" + w + L"))";
                return c == L'b' ? at : L"(?!" + at + L")";
            }
            return {};
        default:
            return {};
        }
        if (members.empty())
            return {};
        if (in_class)
            return negated ? std::wstring{} : members; // a negated set cannot join a class
        return (negated ? L"[^" : L"[") + members + L"]";
    }

    void char_class()
    {
        out_ += p_[i_++]; // [
        if (i_ < p_.size() && p_[i_] == L'^')
            out_ += p_[i_++];
        if (i_ < p_.size() && p_[i_] == L']') { // a leading ] is literal
            out_ += L"\\]";
            ++i_;
        }
        while (i_ < p_.size() && p_[i_] != L']') {
            if (p_[i_] == L'\\')
                escape(true);
            else if (p_[i_] == L'[') {
                out_ += L"\\[";
                ++i_;
            } else
                out_ += p_[i_++];
        }
        if (i_ < p_.size())
            out_ += p_[i_++]; // ]; if missing, Boost reports it
    }

    void open_group()
    {
        const std::wstring_view rest = p_.substr(i_);
        if (rest.starts_with(L"(?P<")) {
            out_ += L"(?<";
            i_ += 4;
            stack_.push_back(flags_);
            return;
        }
        if (rest.starts_with(L"(?P=")) {
            const auto close = rest.find(L')');
            if (close != std::wstring_view::npos) {
                out_ += L"\\k<";
                out_ += rest.substr(4, close - 4);
                out_ += L'>';
                i_ += close + 1;
                return;
            }
        }
        if (rest.starts_with(L"(?#")) { // comment: copy through its ')'
            const auto close = rest.find(L')');
            const auto n = close == std::wstring_view::npos ? rest.size() : close + 1;
            out_ += rest.substr(0, n);
            i_ += n;
            return;
        }
        stack_.push_back(flags_);
        if (rest.starts_with(L"(?") && rest.size() > 2 && flag_char(rest[2])) {
            inline_flags();
            return;
        }
        out_ += L'(';
        ++i_;
    }

    static bool flag_char(wchar_t c)
    {
        return c != 0 && std::wstring_view(L"aiLmsux-").find(c) != std::wstring_view::npos;
    }

    // (?flags) applies to the rest of the pattern (Python allows it only at
    // the start); (?on-off:...) to the group.
    void inline_flags()
    {
        std::size_t j = i_ + 2;
        bool on = true;
        Flags f = flags_;
        std::wstring kept;
        while (j < p_.size() && flag_char(p_[j])) {
            const wchar_t c = p_[j++];
            if (c == L'-')
                on = false;
            if (c == L's')
                f.dotall = on;
            if (c == L'm')
                f.multiline = on;
            if (c == L'a')
                f.ascii = true;
            if (c == L'u')
                f.ascii = false;
            if (c != L'a' && c != L'u' && c != L'L')
                kept += c;
        }
        const bool scoped = j < p_.size() && p_[j] == L':';
        if (scoped) {
            flags_ = f;
            out_ += L"(?" + kept + L':';
            i_ = j + 1;
            return;
        }
        // Global form: the group closes at once, so undo the push and keep
        // the flags for what follows.
        stack_.pop_back();
        flags_ = f;
        if (j < p_.size() && p_[j] == L')') {
            // Boost still applies i and x; s, m and a are spelled out above.
            if (!kept.empty())
                out_ += L"(?" + kept + L')';
            i_ = j + 1;
        } else { // not a flag group after all: let Boost judge it
            out_ += L'(';
            ++i_;
            stack_.push_back(flags_);
        }
    }

    // Python reads {m}, {m,}, {,n}, {m,n}, {,} as quantifiers; any other {
    // is a literal.
    void brace()
    {
        std::size_t j = i_ + 1;
        std::size_t lo = j;
        while (j < p_.size() && is_digit(p_[j]))
            ++j;
        const bool has_lo = j > lo;
        bool comma = false;
        std::size_t hi_start = j;
        if (j < p_.size() && p_[j] == L',') {
            comma = true;
            hi_start = ++j;
            while (j < p_.size() && is_digit(p_[j]))
                ++j;
        }
        const bool valid = j < p_.size() && p_[j] == L'}' && (has_lo || comma);
        if (!valid) {
            out_ += L"\\{";
            ++i_;
            return;
        }
        out_ += L'{';
        out_ += has_lo ? p_.substr(lo, hi_start - lo - (comma ? 1 : 0)) : L"0";
        if (comma) {
            out_ += L',';
            out_ += p_.substr(hi_start, j - hi_start);
        }
        out_ += L'}';
        i_ = j + 1;
    }

    std::wstring_view p_;
    std::size_t i_ = 0;
    std::wstring out_;
    Flags flags_;
    std::vector<Flags> stack_;
};

// Character classes (\w, \s, \b, case folding) follow the locale's wide ctype,
// which only a UTF-8 locale fills in for non-ASCII letters.
std::locale unicode_locale()
{
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"}) {
        try {
            return std::locale(name);
        } catch (const std::runtime_error&) {
        }
    }
    return std::locale::classic();
}

} // namespace

struct PythonRegex::Impl {
    boost::wregex re;
};

PythonRegex::PythonRegex(std::string_view pattern)
{
    static const std::locale loc = unicode_locale();
    auto impl = std::make_shared<Impl>();
    impl->re.imbue(loc);
    impl->re.assign(PatternTranslator(decode_surrogateescape<std::wstring>(pattern)).run(),
                    boost::regex_constants::perl | boost::regex_constants::no_mod_m);
    impl_ = std::move(impl);
}

PythonRegex::~PythonRegex() = default;
PythonRegex::PythonRegex(PythonRegex&&) noexcept = default;
PythonRegex& PythonRegex::operator=(PythonRegex&&) noexcept = default;
PythonRegex::PythonRegex(const PythonRegex&) = default;
PythonRegex& PythonRegex::operator=(const PythonRegex&) = default;

bool PythonRegex::match(std::string_view subject) const
{
    const std::wstring text = decode_surrogateescape<std::wstring>(subject);
    try {
        return boost::regex_search(text, impl_->re, boost::match_continuous); // anchored at the start only
    } catch (const std::runtime_error&) {
        return false;
    }
}

} // namespace stirrup::detail
