#include "stirrup/pycompat/detail/shlex.hpp"

namespace stirrup::detail::shell {
namespace {

// shlex works on code points, but every character it treats specially is
// ASCII and UTF-8 never hides an ASCII byte inside a multi-byte sequence, so
// lexing bytes gives exactly the same words (invalid UTF-8 just passes through).
constexpr bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

constexpr bool is_quote(char c) noexcept
{
    return c == '\'' || c == '"';
}

// Stirrup's operator set: separators, pipes, redirects, subshell parens,
// backticks and newline.
constexpr bool is_operator(char c) noexcept
{
    switch (c) {
    case ';':
    case '<':
    case '>':
    case '|':
    case '&':
    case '(':
    case ')':
    case '`':
    case '\n':
        return true;
    default:
        return false;
    }
}

// shlex.quote's safe set: [\w@%+=:,./-] under re.ASCII.
constexpr bool is_safe(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
           c == '%' || c == '+' || c == '=' || c == ':' || c == ',' || c == '.' || c == '/' || c == '-';
}

// One pass of shlex's posix state machine (whitespace_split=True, no
// commenters, no punctuation chars). `on_unquoted` sees every character read
// outside quotes and not escaped, so the operator scan and split cannot
// disagree about what is quoted.
enum class LexError { none, no_closing_quotation, no_escaped_character };

template <class OnWord, class OnUnquoted>
LexError lex(std::string_view s, OnWord&& on_word, OnUnquoted&& on_unquoted)
{
    enum class State { space, word, quote, escape };
    State state = State::space;
    char quote_char = 0;               // the open quote while in State::quote
    State escaped_from = State::space; // where an escape returns to
    // shlex emits a word when its token is non-empty or was quoted; here a
    // closed quote (even '') always lands in State::word, so being in that
    // state is the whole condition.
    std::string token;

    for (char c : s) {
        switch (state) {
        case State::space:
        case State::word:
            on_unquoted(c);
            if (is_space(c)) {
                if (state == State::word) {
                    on_word(std::move(token));
                    token.clear();
                }
                state = State::space;
            } else if (c == '\\') {
                escaped_from = State::word;
                state = State::escape;
            } else if (is_quote(c)) {
                quote_char = c;
                state = State::quote;
            } else {
                token += c;
                state = State::word;
            }
            break;
        case State::quote:
            if (c == quote_char) {
                state = State::word;
            } else if (c == '\\' && quote_char == '"') {
                escaped_from = State::quote;
                state = State::escape;
            } else {
                token += c;
            }
            break;
        case State::escape:
            // Inside double quotes only the quote and the backslash itself
            // can be escaped; anything else keeps its backslash.
            if (escaped_from == State::quote && c != '\\' && c != quote_char)
                token += '\\';
            token += c;
            state = escaped_from;
            break;
        }
    }

    switch (state) {
    case State::quote:
        return LexError::no_closing_quotation;
    case State::escape:
        return LexError::no_escaped_character;
    case State::word:
        on_word(std::move(token));
        break;
    case State::space:
        break;
    }
    return LexError::none;
}

} // namespace

std::optional<std::vector<std::string>> split(std::string_view s, std::string* error)
{
    std::vector<std::string> argv;
    const LexError err = lex(
        s, [&](std::string&& word) { argv.push_back(std::move(word)); }, [](char) {});
    switch (err) {
    case LexError::none:
        return argv;
    case LexError::no_closing_quotation:
        if (error)
            *error = "No closing quotation";
        break;
    case LexError::no_escaped_character:
        if (error)
            *error = "No escaped character";
        break;
    }
    return std::nullopt;
}

std::string quote(std::string_view arg)
{
    if (arg.empty())
        return "''";
    bool safe = true;
    for (char c : arg)
        safe = safe && is_safe(c);
    if (safe)
        return std::string(arg);

    std::string out;
    out.reserve(arg.size() + 2);
    out += '\'';
    for (char c : arg) {
        if (c == '\'')
            out += "'\"'\"'";
        else
            out += c;
    }
    out += '\'';
    return out;
}

std::string join(const std::vector<std::string>& argv)
{
    std::string out;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        if (i != 0)
            out += ' ';
        out += quote(argv[i]);
    }
    return out;
}

bool has_unquoted_shell_syntax(std::string_view raw)
{
    bool found = false;
    // Unbalanced input cannot be split anyway; whatever was read unquoted
    // before the error still counts.
    (void)lex(
        raw, [](std::string&&) {}, [&](char c) { found = found || is_operator(c); });
    return found;
}

} // namespace stirrup::detail::shell
