#include "stirrup/exec/docker/detail/env.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace stirrup::detail::docker {
namespace {

bool inline_space(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}
bool any_space(char c)
{
    return inline_space(c) || c == '\n' || c == '\r';
}

// A cursor over the .env text, with the few regex steps python-dotenv uses.
struct Reader {
    std::string_view s;
    std::size_t i = 0;

    bool done() const { return i >= s.size(); }
    char peek() const { return done() ? '\0' : s[i]; }
    void skip_inline_space()
    {
        while (!done() && inline_space(s[i]))
            ++i;
    }
    void skip_any_space()
    {
        while (!done() && any_space(s[i]))
            ++i;
    }
    bool at_line_end() const { return done() || s[i] == '\n' || s[i] == '\r'; }
    void skip_rest_of_line()
    {
        while (!done() && s[i] != '\n' && s[i] != '\r')
            ++i;
        if (!done() && s[i] == '\r')
            ++i;
        if (!done() && s[i] == '\n')
            ++i;
    }
    bool consume(std::string_view word)
    {
        if (s.substr(i, word.size()) != word)
            return false;
        i += word.size();
        return true;
    }
};

struct Failed {};

char escape_char(char c)
{
    switch (c) {
    case 'a':
        return '\a';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'v':
        return '\v';
    default:
        return c; // \\ \' \"
    }
}

// The text between quotes, with the escapes python-dotenv decodes.
std::string quoted(Reader& r, char quote)
{
    ++r.i; // opening quote
    std::string out;
    const std::string_view escapes = quote == '\'' ? std::string_view("\\'") : std::string_view("\\'\"abfnrtv");
    while (!r.done() && r.s[r.i] != quote) {
        const char c = r.s[r.i];
        if (c == '\\' && r.i + 1 < r.s.size() && escapes.find(r.s[r.i + 1]) != std::string_view::npos) {
            out += quote == '\'' ? r.s[r.i + 1] : escape_char(r.s[r.i + 1]);
            r.i += 2;
            continue;
        }
        out += c;
        ++r.i;
    }
    if (r.done())
        throw Failed{};
    ++r.i; // closing quote
    return out;
}

std::string unquoted(Reader& r)
{
    const std::size_t start = r.i;
    while (!r.at_line_end())
        ++r.i;
    std::string_view part = r.s.substr(start, r.i - start);
    // re.sub(r"\s+#.*", "", part).rstrip()
    for (std::size_t k = 0; k < part.size(); ++k) {
        if (part[k] == '#' && k > 0 && any_space(part[k - 1])) {
            part = part.substr(0, k);
            break;
        }
    }
    while (!part.empty() && any_space(part.back()))
        part.remove_suffix(1);
    return std::string(part);
}

// ${NAME} and ${NAME:-default}.
std::string expand(std::string_view value, const std::function<std::optional<std::string>(std::string_view)>& getenv,
                   const std::map<std::string, std::string>& so_far)
{
    std::string out;
    std::size_t i = 0;
    while (i < value.size()) {
        if (value.substr(i, 2) == "${") {
            const auto close = value.find('}', i + 2);
            if (close != std::string_view::npos) {
                std::string_view inner = value.substr(i + 2, close - i - 2);
                std::string_view name = inner;
                std::optional<std::string_view> fallback;
                if (const auto sep = inner.find(":-"); sep != std::string_view::npos) {
                    name = inner.substr(0, sep);
                    fallback = inner.substr(sep + 2);
                }
                if (name.find(':') == std::string_view::npos) {
                    std::optional<std::string> v = getenv(name);
                    if (!v)
                        if (auto it = so_far.find(std::string(name)); it != so_far.end())
                            v = it->second;
                    if (v && !v->empty())
                        out += *v;
                    else if (fallback)
                        out += *fallback;
                    i = close + 1;
                    continue;
                }
            }
        }
        out += value[i++];
    }
    return out;
}

} // namespace

std::optional<std::string> process_getenv(std::string_view name)
{
    if (const char* v = std::getenv(std::string(name).c_str()))
        return std::string(v);
    return std::nullopt;
}

std::map<std::string, std::string>
parse_dotenv(std::string_view text, const std::function<std::optional<std::string>(std::string_view)>& getenv)
{
    std::map<std::string, std::string> values;
    Reader r{text};
    for (;;) {
        r.skip_any_space();
        if (r.done())
            break;
        const std::size_t line_start = r.i;
        try {
            if (r.peek() == '#') {
                r.skip_rest_of_line();
                continue;
            }
            if (r.consume("export") && !inline_space(r.peek()))
                r.i = line_start; // a key that starts with "export"
            r.skip_inline_space();
            std::string key;
            if (r.peek() == '\'') {
                key = quoted(r, '\'');
            } else {
                while (!r.done() && r.s[r.i] != '=' && r.s[r.i] != '#' && !any_space(r.s[r.i]))
                    key += r.s[r.i++];
            }
            if (key.empty())
                throw Failed{};
            r.skip_inline_space();
            if (r.peek() != '=') {
                // A key without a value sets nothing.
                r.skip_rest_of_line();
                continue;
            }
            ++r.i;
            r.skip_inline_space();
            std::string value;
            const char q = r.peek();
            if (q == '\'') {
                value = quoted(r, '\'');
            } else if (q == '"') {
                value = expand(quoted(r, '"'), getenv, values);
            } else {
                value = expand(unquoted(r), getenv, values);
            }
            // Only a comment may follow a quoted value.
            r.skip_inline_space();
            if (r.peek() == '#')
                r.skip_rest_of_line();
            else if (!r.at_line_end())
                throw Failed{};
            else
                r.skip_rest_of_line();
            values[key] = std::move(value);
        } catch (const Failed&) {
            r.i = line_start;
            r.skip_rest_of_line();
        }
    }
    return values;
}

std::map<std::string, std::string> load_dotenv_file()
{
    std::ifstream in(".env", std::ios::binary);
    if (!in)
        return {};
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    return parse_dotenv(text, process_getenv);
}

ForwardedEnv forward_env(const std::vector<std::string>& names,
                         const std::function<std::optional<std::string>(std::string_view)>& getenv,
                         const std::map<std::string, std::string>& dotenv)
{
    ForwardedEnv out;
    for (const auto& name : names) {
        if (auto v = getenv(name)) {
            out.entries.push_back(name + "=" + *v);
        } else if (auto it = dotenv.find(name); it != dotenv.end()) {
            out.entries.push_back(name + "=" + it->second);
        } else {
            out.missing.push_back(name);
        }
    }
    return out;
}

} // namespace stirrup::detail::docker
