#include "stirrup/pycompat/detail/py_lexer.hpp"

#include <cstdint>
#include <cstdio>
#include <utility>

namespace stirrup::detail::pyexpr {

namespace {

// CPython's MAXLEVEL: the tokenizer's bracket stack depth.
constexpr int kMaxBracketLevel = 200;

struct LexError {
    std::string message;
    int line;
};

Token tok(TokKind kind, std::string text, int line)
{
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    t.line = line;
    return t;
}

bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

bool is_xdigit(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_ascii_letter(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// CPython's is_potential_identifier_char: every non-ASCII byte counts, the
// identifier is validated afterwards.
bool is_identifier_byte(int c)
{
    return is_ascii_letter(c) || is_digit(c) || c == '_' || c >= 128;
}

// Decodes one UTF-8 sequence; returns its length, 0 if malformed.
std::size_t decode_utf8(std::string_view s, std::size_t pos, std::uint32_t* cp)
{
    const auto b0 = static_cast<unsigned char>(s[pos]);
    std::size_t len = 0;
    std::uint32_t v = 0;
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        v = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        v = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        v = b0 & 0x07u;
    } else {
        return 0;
    }
    if (pos + len > s.size())
        return 0;
    for (std::size_t i = 1; i < len; ++i) {
        const auto b = static_cast<unsigned char>(s[pos + i]);
        if ((b & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (b & 0x3Fu);
    }
    const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

bool in(std::uint32_t cp, std::uint32_t lo, std::uint32_t hi)
{
    return cp >= lo && cp <= hi;
}

// Unicode categories Cc, Cf, Zs (but space), Zl, Zp, Co: what
// str.isprintable() rejects, among assigned code points.
bool is_non_printable(std::uint32_t cp)
{
    return cp < 0x20 || in(cp, 0x7F, 0xA0) || cp == 0xAD || in(cp, 0x600, 0x605) || cp == 0x61C || cp == 0x6DD ||
           cp == 0x70F || cp == 0x1680 || cp == 0x180E || in(cp, 0x2000, 0x200F) || in(cp, 0x2028, 0x202F) ||
           in(cp, 0x205F, 0x2064) || in(cp, 0x2066, 0x206F) || cp == 0x3000 || cp == 0xFEFF || in(cp, 0xFFF9, 0xFFFB) ||
           in(cp, 0xE000, 0xF8FF) || cp >= 0xF0000 || in(cp, 0xE0000, 0xE007F);
}

// An approximation of XID_Continue beyond ASCII: letters of every script
// pass; the symbol and punctuation blocks a model is likely to type
// (× ÷ − ² ½ ≤ √ ∞ € ① emoji...) do not, so they raise "invalid character"
// as in Python.
bool is_identifier_continue(std::uint32_t cp)
{
    if (cp < 0x80)
        return is_ascii_letter(static_cast<int>(cp)) || is_digit(static_cast<int>(cp)) || cp == '_';
    if (is_non_printable(cp))
        return false;
    if (cp < 0x100)
        return cp == 0xAA || cp == 0xB5 || cp == 0xB7 || cp == 0xBA || (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7);
    if (in(cp, 0x2C2, 0x2C5) || in(cp, 0x2D2, 0x2DF) || in(cp, 0x2E5, 0x2EB) || cp == 0x2ED || in(cp, 0x2EF, 0x2FF))
        return false;
    if (cp == 0x375 || cp == 0x37E || in(cp, 0x384, 0x385) || cp == 0x387 || cp == 0x3F6)
        return false;
    if (in(cp, 0x2000, 0x206F))
        return cp == 0x203F || cp == 0x2040 || cp == 0x2054;
    if (in(cp, 0x2070, 0x209F))
        return cp == 0x2071 || cp == 0x207F || in(cp, 0x2090, 0x209C);
    if (in(cp, 0x20A0, 0x20CF))
        return false;
    if (cp == 0x2103 || cp == 0x2109 || cp == 0x2116 || cp == 0x2117 || cp == 0x211E || cp == 0x2122 ||
        in(cp, 0x2140, 0x2144) || in(cp, 0x2150, 0x215F))
        return false;
    if (in(cp, 0x2189, 0x2BFF) || in(cp, 0x2E00, 0x2E7F))
        return false;
    if (in(cp, 0x3000, 0x3004) || in(cp, 0x3008, 0x3020) || cp == 0x3030 || in(cp, 0x303D, 0x303F) || cp == 0x30FB)
        return false;
    if (in(cp, 0xFE10, 0xFE1F) || in(cp, 0xFE30, 0xFE6F))
        return false;
    if (in(cp, 0xFF01, 0xFF0F) || in(cp, 0xFF1A, 0xFF20) || in(cp, 0xFF3B, 0xFF3E) || cp == 0xFF40 ||
        in(cp, 0xFF5B, 0xFF65) || in(cp, 0xFFF0, 0xFFFF))
        return false;
    if (in(cp, 0x1F000, 0x1FAFF))
        return false;
    return true;
}

bool is_identifier_start(std::uint32_t cp)
{
    if (cp < 0x80)
        return is_ascii_letter(static_cast<int>(cp)) || cp == '_';
    if (cp == 0xB7 || in(cp, 0x300, 0x36F) || in(cp, 0x660, 0x669) || in(cp, 0xFF10, 0xFF19) || cp == 0x203F ||
        cp == 0x2040 || cp == 0x2054)
        return false;
    return is_identifier_continue(cp);
}

std::string hex_cp(std::uint32_t cp)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04X", static_cast<unsigned>(cp));
    return buf;
}

std::string bad_character_message(std::string_view s, std::size_t pos, std::size_t len, std::uint32_t cp)
{
    if (is_non_printable(cp))
        return "invalid non-printable character U+" + hex_cp(cp);
    return "invalid character '" + std::string(s.substr(pos, len)) + "' (U+" + hex_cp(cp) + ")";
}

bool is_string_prefix(std::string_view w)
{
    std::string lower;
    for (const char c : w)
        lower += static_cast<char>(c | 0x20);
    return lower == "r" || lower == "u" || lower == "b" || lower == "f" || lower == "br" || lower == "rb" ||
           lower == "fr" || lower == "rf";
}

class Lexer {
public:
    explicit Lexer(std::string_view s) : s_(s) {}

    std::vector<Token> run()
    {
        try {
            loop();
        } catch (const LexError& e) {
            Token t = tok(TokKind::Error, {}, e.line);
            t.message = syntax_error_text(e.message, e.line);
            t.error_type = "SyntaxError";
            out_.push_back(std::move(t));
        }
        return std::move(out_);
    }

private:
    int peek(std::size_t p) const { return p < s_.size() ? static_cast<unsigned char>(s_[p]) : -1; }

    [[noreturn]] void fail(std::string message) const { throw LexError{std::move(message), line_}; }

    void emit(TokKind kind, std::size_t from, std::size_t to)
    {
        out_.push_back(tok(kind, std::string(s_.substr(from, to - from)), line_));
        line_has_tokens_ = true;
    }

    void emit_eof(std::string message)
    {
        Token t = tok(TokKind::Eof, {}, line_);
        t.message = std::move(message);
        t.error_type = "SyntaxError";
        if (!opens_.empty())
            t.open_line = opens_.back().second;
        out_.push_back(std::move(t));
    }

    std::string never_closed() const { return std::string("'") + opens_.back().first + "' was never closed"; }

    void loop()
    {
        bool at_line_start = true;
        int indent = 0;
        for (;;) {
            if (at_line_start && opens_.empty()) {
                int col = 0;
                while (peek(pos_) == ' ' || peek(pos_) == '\t' || peek(pos_) == '\f') {
                    col = peek(pos_) == '\f' ? 0 : col + 1;
                    ++pos_;
                }
                const int c = peek(pos_);
                const bool blank = c == -1 || c == '\n' || c == '#';
                if (!blank) {
                    // The parser stops at the first INDENT, so one token is enough.
                    if (col > indent)
                        out_.push_back(tok(TokKind::Indent, {}, line_));
                    indent = col;
                }
            }
            at_line_start = false;
            while (peek(pos_) == ' ' || peek(pos_) == '\t' || peek(pos_) == '\f')
                ++pos_;
            const int c = peek(pos_);
            if (c == '#') {
                while (peek(pos_) != -1 && peek(pos_) != '\n')
                    ++pos_;
                continue;
            }
            if (c == -1) {
                if (!opens_.empty())
                    return emit_eof(never_closed());
                if (line_has_tokens_)
                    out_.push_back(tok(TokKind::Newline, {}, line_));
                out_.push_back(tok(TokKind::EndMarker, {}, end_line()));
                return;
            }
            if (c == '\n') {
                ++pos_;
                if (opens_.empty() && line_has_tokens_) {
                    out_.push_back(tok(TokKind::Newline, {}, line_));
                    line_has_tokens_ = false;
                }
                ++line_;
                at_line_start = true;
                continue;
            }
            if (c == '\\') {
                if (peek(pos_ + 1) != '\n')
                    fail("unexpected character after line continuation character");
                pos_ += 2;
                ++line_;
                if (peek(pos_) == -1) {
                    --line_; // CPython reports the line of the backslash
                    return emit_eof(opens_.empty() ? "unexpected EOF while parsing" : never_closed());
                }
                continue;
            }
            if (is_digit(c) || (c == '.' && is_digit(peek(pos_ + 1)))) {
                const std::size_t end = number(pos_);
                emit(TokKind::Number, pos_, end);
                pos_ = end;
                continue;
            }
            if (is_identifier_byte(c)) {
                name_or_string();
                continue;
            }
            if (c == '"' || c == '\'') {
                string_literal(pos_, pos_);
                continue;
            }
            op(c);
        }
    }

    int end_line() const
    {
        int lines = 0;
        for (const char ch : s_)
            lines += ch == '\n' ? 1 : 0;
        if (!s_.empty() && s_.back() != '\n')
            ++lines;
        return lines;
    }

    std::size_t decimal_tail(std::size_t p) const
    {
        for (;;) {
            while (is_digit(peek(p)))
                ++p;
            if (peek(p) != '_')
                return p;
            ++p;
            if (!is_digit(peek(p)))
                fail("invalid decimal literal");
        }
    }

    // CPython's verify_end_of_number: a literal may run straight into one of
    // the keywords that can follow it (with a warning there), nothing else.
    void verify_end(std::size_t p, const char* kind) const
    {
        const int c = peek(p);
        auto ahead = [&](std::string_view w) { return s_.substr(p + 1, w.size()) == w; };
        bool keyword = false;
        if (c == 'a')
            keyword = ahead("nd");
        else if (c == 'e')
            keyword = ahead("lse");
        else if (c == 'f')
            keyword = ahead("or");
        else if (c == 'i')
            keyword = peek(p + 1) == 'f' || peek(p + 1) == 'n' || peek(p + 1) == 's';
        else if (c == 'o')
            keyword = ahead("r");
        else if (c == 'n')
            keyword = ahead("ot");
        if (!keyword && c < 128 && is_identifier_byte(c))
            fail(std::string("invalid ") + kind + " literal");
    }

    std::size_t radix(std::size_t p, int base, const char* kind) const
    {
        auto ok = [base](int ch) { return base == 16 ? is_xdigit(ch) : ch >= '0' && ch < '0' + base; };
        do {
            if (peek(p) == '_')
                ++p;
            if (!ok(peek(p))) {
                if (base != 16 && is_digit(peek(p))) {
                    fail(std::string("invalid digit '") + static_cast<char>(peek(p)) + "' in " + kind + " literal");
                }
                fail(std::string("invalid ") + kind + " literal");
            }
            while (ok(peek(p)))
                ++p;
        } while (peek(p) == '_');
        if (base != 16 && is_digit(peek(p))) {
            fail(std::string("invalid digit '") + static_cast<char>(peek(p)) + "' in " + kind + " literal");
        }
        verify_end(p, kind);
        return p;
    }

    // A port of the number branch of CPython's tok_get; returns the end.
    std::size_t number(std::size_t p) const
    {
        if (peek(p) == '.')
            return fraction(p + 1);
        if (peek(p) == '0') {
            const int x = peek(p + 1) | 0x20;
            if (x == 'x')
                return radix(p + 2, 16, "hexadecimal");
            if (x == 'o')
                return radix(p + 2, 8, "octal");
            if (x == 'b')
                return radix(p + 2, 2, "binary");
            ++p;
            for (;;) {
                if (peek(p) == '_') {
                    ++p;
                    if (!is_digit(peek(p)))
                        fail("invalid decimal literal");
                }
                if (peek(p) != '0')
                    break;
                ++p;
            }
            bool nonzero = false;
            if (is_digit(peek(p))) {
                nonzero = true;
                p = decimal_tail(p);
            }
            const int c = peek(p);
            if (c == '.')
                return fraction(p + 1);
            if (c == 'e' || c == 'E')
                return exponent(p);
            if (c == 'j' || c == 'J')
                return imaginary(p);
            if (nonzero) {
                fail("leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal "
                     "integers");
            }
            verify_end(p, "decimal");
            return p;
        }
        p = decimal_tail(p);
        if (peek(p) == '.')
            return fraction(p + 1);
        return after_fraction(p);
    }

    std::size_t fraction(std::size_t p) const
    {
        if (is_digit(peek(p)))
            p = decimal_tail(p);
        return after_fraction(p);
    }

    std::size_t after_fraction(std::size_t p) const
    {
        if (peek(p) == 'e' || peek(p) == 'E')
            return exponent(p);
        if (peek(p) == 'j' || peek(p) == 'J')
            return imaginary(p);
        verify_end(p, "decimal");
        return p;
    }

    std::size_t exponent(std::size_t e) const
    {
        std::size_t p = e + 1;
        if (peek(p) == '+' || peek(p) == '-') {
            ++p;
            if (!is_digit(peek(p)))
                fail("invalid decimal literal");
        } else if (!is_digit(peek(p))) {
            // Not an exponent after all ("1else"): the number ends before the 'e'.
            verify_end(e, "decimal");
            return e;
        }
        p = decimal_tail(p);
        if (peek(p) == 'j' || peek(p) == 'J')
            return imaginary(p);
        verify_end(p, "decimal");
        return p;
    }

    std::size_t imaginary(std::size_t p) const
    {
        verify_end(p + 1, "imaginary");
        return p + 1;
    }

    void name_or_string()
    {
        const std::size_t start = pos_;
        std::size_t p = pos_;
        while (is_identifier_byte(peek(p)))
            ++p;
        if ((peek(p) == '"' || peek(p) == '\'') && is_string_prefix(s_.substr(start, p - start))) {
            string_literal(start, p);
            return;
        }
        // CPython only validates identifiers that contain non-ASCII characters.
        for (std::size_t q = start; q < p;) {
            std::uint32_t cp = 0;
            const std::size_t len = decode_utf8(s_, q, &cp);
            if (len == 0) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "(unicode error) 'utf-8' codec can't decode byte 0x%02x",
                              static_cast<unsigned char>(s_[q]));
                fail(buf);
            }
            if (!(q == start ? is_identifier_start(cp) : is_identifier_continue(cp))) {
                fail(bad_character_message(s_, q, len, cp));
            }
            q += len;
        }
        emit(TokKind::Name, start, p);
        pos_ = p;
    }

    void string_literal(std::size_t start, std::size_t quote)
    {
        const char q = s_[quote];
        const bool triple = peek(quote + 1) == q && peek(quote + 2) == q;
        const std::size_t qlen = triple ? 3 : 1;
        const int start_line = line_;
        std::size_t p = quote + qlen;
        for (;;) {
            const int c = peek(p);
            if (c == -1 || (c == '\n' && !triple)) {
                int detected = line_;
                if (c == -1 && triple && !s_.empty() && s_.back() == '\n')
                    --detected;
                throw LexError{
                    std::string(triple ? "unterminated triple-quoted string literal" : "unterminated string literal") +
                        " (detected at line " + std::to_string(detected) + ")",
                    start_line};
            }
            if (c == '\\') {
                if (peek(p + 1) == '\n')
                    ++line_;
                p += peek(p + 1) == -1 ? 1 : 2;
                continue;
            }
            if (c == '\n')
                ++line_;
            if (c == q && (!triple || (peek(p + 1) == q && peek(p + 2) == q))) {
                p += qlen;
                break;
            }
            ++p;
        }
        out_.push_back(tok(TokKind::String, std::string(s_.substr(start, p - start)), start_line));
        line_has_tokens_ = true;
        pos_ = p;
    }

    void op(int c)
    {
        if (c < 0x20 || c == 0x7F) {
            fail("invalid non-printable character U+" + hex_cp(static_cast<std::uint32_t>(c)));
        }
        static constexpr std::string_view kThree[] = {"**=", "//=", ">>=", "<<=", "..."};
        static constexpr std::string_view kTwo[] = {"**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", ":=",
                                                    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="};
        std::size_t len = 1;
        for (const auto t : kThree) {
            if (s_.substr(pos_, 3) == t)
                len = 3;
        }
        if (len == 1) {
            for (const auto t : kTwo) {
                if (s_.substr(pos_, 2) == t)
                    len = 2;
            }
        }
        if (c == '(' || c == '[' || c == '{') {
            if (static_cast<int>(opens_.size()) >= kMaxBracketLevel)
                fail("too many nested parentheses");
            opens_.emplace_back(static_cast<char>(c), line_);
        } else if (c == ')' || c == ']' || c == '}') {
            if (opens_.empty())
                fail(std::string("unmatched '") + static_cast<char>(c) + "'");
            const auto [open, open_line] = opens_.back();
            const char want = open == '(' ? ')' : open == '[' ? ']' : '}';
            if (c != want) {
                std::string m = std::string("closing parenthesis '") + static_cast<char>(c) +
                                "' does not match opening parenthesis '" + open + "'";
                if (open_line != line_)
                    m += " on line " + std::to_string(open_line);
                fail(m);
            }
            opens_.pop_back();
        }
        emit(TokKind::Op, pos_, pos_ + len);
        pos_ += len;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    int line_ = 1;
    bool line_has_tokens_ = false;
    std::vector<std::pair<char, int>> opens_;
    std::vector<Token> out_;
};

} // namespace

std::string syntax_error_text(const std::string& message, int line)
{
    return message + " (<string>, line " + std::to_string(line) + ")";
}

std::vector<Token> tokenize(std::string_view source)
{
    return Lexer(source).run();
}

} // namespace stirrup::detail::pyexpr
