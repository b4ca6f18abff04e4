// Glob expansion for input files. The walk follows CPython's glob module
// function by function (_iglob, _glob0/1/2, _rlistdir) so that results, and
// the path forms they come in, are the ones Stirrup uploads; the component
// matcher follows fnmatch.translate.

#include "stirrup/pycompat/detail/glob.hpp"
#include "stirrup/pycompat/detail/surrogateescape.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include <sys/stat.h>

#include "stirrup/core/error.hpp"

namespace stirrup::detail {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- matching

// One element of a compiled component pattern. Every kind but Star matches
// exactly one character, which is what lets the matcher below backtrack only
// to the last star (fnmatch's atomic groups rely on the same fact).
struct Token {
    enum Kind { Literal, AnyChar, Set, Never, Star } kind;
    char32_t ch = 0;
    bool negated = false;
    std::vector<std::pair<char32_t, char32_t>> ranges{}; // single characters are lo == hi

    bool matches(char32_t c) const
    {
        switch (kind) {
        case Literal:
            return c == ch;
        case AnyChar:
            return true;
        case Set: {
            bool in =
                std::any_of(ranges.begin(), ranges.end(), [c](const auto& r) { return r.first <= c && c <= r.second; });
            return in != negated;
        }
        default:
            return false;
        }
    }
};

// Marks a range operator between two chunks of a set (a code point no
// string can hold).
constexpr char32_t range_op = 0xFFFFFFFF;

// fnmatch.translate's handling of "[...]", including its quirks: a '-' right
// after '[' or "[!" is literal, a range whose start exceeds its end is
// removed together with its end points, and what is left decides negation.
Token compile_set(const std::u32string& pat, std::size_t i, std::size_t j)
{
    std::vector<std::u32string> chunks;
    const std::u32string stuff = pat.substr(i, j - i);
    if (stuff.find(U'-') == std::u32string::npos) {
        chunks.push_back(stuff);
    } else {
        std::size_t k = pat[i] == U'!' ? i + 2 : i + 1;
        std::size_t start = i;
        for (;;) {
            std::size_t hyphen = std::u32string::npos;
            for (std::size_t x = k; x < j; ++x) {
                if (pat[x] == U'-') {
                    hyphen = x;
                    break;
                }
            }
            if (hyphen == std::u32string::npos)
                break;
            chunks.push_back(pat.substr(start, hyphen - start));
            start = hyphen + 1;
            k = hyphen + 3;
        }
        std::u32string last = pat.substr(start, j - start);
        if (!last.empty())
            chunks.push_back(last);
        else
            chunks.back() += U'-';
        for (std::size_t c = chunks.size() - 1; c > 0; --c) {
            if (chunks[c - 1].back() > chunks[c][0]) {
                chunks[c - 1] = chunks[c - 1].substr(0, chunks[c - 1].size() - 1) + chunks[c].substr(1);
                chunks.erase(chunks.begin() + static_cast<std::ptrdiff_t>(c));
            }
        }
    }

    std::u32string seq;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        if (c != 0)
            seq += range_op;
        seq += chunks[c];
    }

    Token t{Token::Set};
    if (seq.empty())
        return Token{Token::Never};
    if (seq == U"!")
        return Token{Token::AnyChar};
    std::size_t pos = 0;
    if (seq[0] == U'!') {
        t.negated = true;
        pos = 1;
    }
    while (pos < seq.size()) {
        if (pos + 2 < seq.size() && seq[pos + 1] == range_op) {
            t.ranges.emplace_back(seq[pos], seq[pos + 2]);
            pos += 3;
        } else {
            t.ranges.emplace_back(seq[pos], seq[pos]);
            pos += 1;
        }
    }
    return t;
}

std::vector<Token> compile_component(const std::u32string& pat)
{
    std::vector<Token> out;
    std::size_t i = 0;
    const std::size_t n = pat.size();
    while (i < n) {
        const char32_t c = pat[i++];
        if (c == U'*') {
            if (out.empty() || out.back().kind != Token::Star)
                out.push_back(Token{Token::Star});
        } else if (c == U'?') {
            out.push_back(Token{Token::AnyChar});
        } else if (c == U'[') {
            std::size_t j = i;
            if (j < n && pat[j] == U'!')
                ++j;
            if (j < n && pat[j] == U']')
                ++j;
            while (j < n && pat[j] != U']')
                ++j;
            if (j >= n) {
                out.push_back(Token{Token::Literal, U'['});
            } else {
                out.push_back(compile_set(pat, i, j));
                i = j + 1;
            }
        } else {
            out.push_back(Token{Token::Literal, c});
        }
    }
    return out;
}

bool match_tokens(const std::vector<Token>& toks, const std::u32string& name)
{
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t p = 0, n = 0, star_p = none, star_n = 0;
    while (n < name.size()) {
        if (p < toks.size() && toks[p].kind == Token::Star) {
            star_p = p++;
            star_n = n;
        } else if (p < toks.size() && toks[p].matches(name[n])) {
            ++p;
            ++n;
        } else if (star_p != none) {
            p = star_p + 1;
            n = ++star_n;
        } else {
            return false;
        }
    }
    while (p < toks.size() && toks[p].kind == Token::Star)
        ++p;
    return p == toks.size();
}

// ------------------------------------------------------------ path strings

bool has_magic(std::string_view s) noexcept
{
    return s.find_first_of("*?[") != std::string_view::npos;
}
bool is_hidden(std::string_view name) noexcept
{
    return !name.empty() && name[0] == '.';
}
bool is_recursive(std::string_view pattern) noexcept
{
    return pattern == "**";
}

// os.path.split (POSIX).
std::pair<std::string, std::string> split_path(std::string_view p)
{
    const std::size_t slash = p.rfind('/');
    const std::size_t cut = slash == std::string_view::npos ? 0 : slash + 1;
    std::string head(p.substr(0, cut));
    std::string tail(p.substr(cut));
    if (!head.empty() && head.find_first_not_of('/') != std::string::npos) {
        while (head.back() == '/')
            head.pop_back();
    }
    return {std::move(head), std::move(tail)};
}

// os.path.join (POSIX): join("src", "") is "src/", which is how `src/**`
// yields its own directory.
std::string os_join(std::string_view a, std::string_view b)
{
    if (!b.empty() && b[0] == '/')
        return std::string(b);
    std::string out(a);
    if (!out.empty() && out.back() != '/')
        out += '/';
    out += b;
    return out;
}

// glob._join: an empty side gives the other side unchanged.
std::string glob_join(std::string_view a, std::string_view b)
{
    if (a.empty() || b.empty())
        return std::string(a.empty() ? b : a);
    return os_join(a, b);
}

// ------------------------------------------------------------------- walk

struct DirId {
    dev_t dev;
    ino_t ino;
    bool operator==(const DirId&) const = default;
};

struct Entry {
    std::string name;
    bool is_dir; // following symlinks, as os.DirEntry.is_dir()
};

class Walker {
public:
    explicit Walker(fs::path cwd) : cwd_(std::move(cwd)) {}

    // glob.iglob(pattern, recursive=True) collected into a list.
    std::vector<std::string> glob(const std::string& pattern)
    {
        auto out = iglob(pattern, false);
        // iglob drops the empty first match a leading "**" yields for cwd.
        if (pattern.substr(0, 2) == "**" && !out.empty() && out.front().empty())
            out.erase(out.begin());
        return out;
    }

private:
    fs::path cwd_;

    // The relative paths of glob strings resolve against cwd_, "" is cwd_.
    std::string on_disk(const std::string& p) const
    {
        if (p.empty())
            return cwd_.string();
        if (p[0] == '/')
            return p;
        return (cwd_ / p).string();
    }

    bool lexists(const std::string& p) const
    {
        struct stat st;
        return ::lstat(on_disk(p).c_str(), &st) == 0;
    }

    std::optional<DirId> dir_id(const std::string& p) const
    {
        struct stat st;
        if (::stat(on_disk(p).c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return std::nullopt;
        return DirId{st.st_dev, st.st_ino};
    }

    bool isdir(const std::string& p) const { return dir_id(p).has_value(); }

    // glob._iterdir: unreadable directories and entries are skipped silently.
    std::vector<Entry> listdir(const std::string& dirname, bool dironly) const
    {
        std::vector<Entry> out;
        std::error_code ec;
        fs::directory_iterator it(on_disk(dirname), ec);
        if (ec)
            return out;
        for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
            std::error_code type_ec;
            const bool dir = it->is_directory(type_ec);
            if (!type_ec && (dir || !dironly))
                out.push_back({it->path().filename().string(), dir});
        }
        return out;
    }

    std::vector<std::string> iglob(const std::string& pathname, bool dironly)
    {
        auto [dirname, basename] = split_path(pathname);
        std::vector<std::string> out;
        if (!has_magic(pathname)) {
            if (basename.empty() ? isdir(dirname) : lexists(pathname))
                out.push_back(pathname);
            return out;
        }
        if (dirname.empty())
            return is_recursive(basename) ? glob2("", dironly) : glob1("", basename, dironly);

        std::vector<std::string> dirs;
        if (dirname != pathname && has_magic(dirname))
            dirs = iglob(dirname, true);
        else
            dirs.push_back(dirname);
        for (const auto& dir : dirs) {
            std::vector<std::string> names;
            if (!has_magic(basename))
                names = glob0(dir, basename);
            else if (is_recursive(basename))
                names = glob2(dir, dironly);
            else
                names = glob1(dir, basename, dironly);
            for (const auto& name : names)
                out.push_back(os_join(dir, name));
        }
        return out;
    }

    // A literal component: it only has to exist ("" after a trailing slash: a directory).
    std::vector<std::string> glob0(const std::string& dirname, const std::string& basename) const
    {
        if (basename.empty() ? isdir(dirname) : lexists(glob_join(dirname, basename)))
            return {basename};
        return {};
    }

    // A wildcard component. Hidden names are candidates only for a hidden pattern.
    std::vector<std::string> glob1(const std::string& dirname, const std::string& pattern, bool dironly) const
    {
        const auto toks = compile_component(decode_surrogateescape<std::u32string>(pattern));
        std::vector<std::string> out;
        for (auto& e : listdir(dirname, dironly)) {
            if (is_hidden(e.name) && !is_hidden(pattern))
                continue;
            if (match_tokens(toks, decode_surrogateescape<std::u32string>(e.name)))
                out.push_back(std::move(e.name));
        }
        return out;
    }

    // "**": the directory itself ("", only if it is one: CPython 3.13), then
    // everything below it that is not hidden.
    std::vector<std::string> glob2(const std::string& dirname, bool dironly)
    {
        std::vector<std::string> out;
        if (dirname.empty() || isdir(dirname))
            out.emplace_back();
        std::vector<DirId> chain;
        if (auto id = dir_id(dirname))
            chain.push_back(*id);
        rlistdir(dirname, "", dironly, chain, out);
        return out;
    }

    // glob._rlistdir. `chain` holds the directories being walked, so a
    // symlink back to one of them is listed but not entered again.
    void rlistdir(const std::string& dirname, const std::string& prefix, bool dironly, std::vector<DirId>& chain,
                  std::vector<std::string>& out)
    {
        for (const auto& e : listdir(dirname, dironly)) {
            if (is_hidden(e.name))
                continue;
            const std::string rel = glob_join(prefix, e.name);
            out.push_back(rel);
            if (!e.is_dir)
                continue;
            const std::string path = dirname.empty() ? e.name : glob_join(dirname, e.name);
            const auto id = dir_id(path);
            if (!id || std::find(chain.begin(), chain.end(), *id) != chain.end())
                continue;
            chain.push_back(*id);
            rlistdir(path, rel, dironly, chain, out);
            chain.pop_back();
        }
    }
};

} // namespace

bool is_glob_pattern(std::string_view entry) noexcept
{
    return has_magic(entry);
}

bool glob_match_component(std::string_view pattern, std::string_view name)
{
    return match_tokens(compile_component(decode_surrogateescape<std::u32string>(pattern)),
                        decode_surrogateescape<std::u32string>(name));
}

std::string normalize_path_like_pathlib(std::string_view path)
{
    std::string out;
    if (!path.empty() && path[0] == '/') {
        // POSIX leaves exactly two leading slashes implementation-defined; pathlib keeps them.
        const bool two = path.size() >= 2 && path[1] == '/' && (path.size() == 2 || path[2] != '/');
        out = two ? "//" : "/";
    }
    const std::size_t root_len = out.size();
    std::size_t i = 0;
    while (i <= path.size()) {
        std::size_t slash = path.find('/', i);
        if (slash == std::string_view::npos)
            slash = path.size();
        const std::string_view part = path.substr(i, slash - i);
        if (!part.empty() && part != ".") {
            if (out.size() > root_len)
                out += '/';
            out += part;
        }
        i = slash + 1;
    }
    return out.empty() ? "." : out;
}

std::vector<std::string> expand_input_files(const std::vector<std::string>& entries, const fs::path& cwd)
{
    Walker walker(cwd);
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto add = [&](std::string p) {
        if (seen.insert(p).second)
            out.push_back(std::move(p));
    };
    for (const auto& entry : entries) {
        if (!is_glob_pattern(entry)) {
            add(normalize_path_like_pathlib(entry));
            continue;
        }
        // Python's os.scandir raises ValueError("embedded null byte") here.
        if (entry.find('\0') != std::string::npos)
            throw ConfigError("Glob pattern '" + entry + "' contains a NUL byte");
        auto matches = walker.glob(entry);
        if (matches.empty())
            throw ConfigError("Glob pattern '" + entry + "' matched no files");
        for (auto& m : matches)
            m = normalize_path_like_pathlib(m);
        std::sort(matches.begin(), matches.end());
        for (auto& m : matches)
            add(std::move(m));
    }
    return out;
}

} // namespace stirrup::detail
