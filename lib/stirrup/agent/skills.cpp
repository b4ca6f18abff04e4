// Skills: the SKILL.md front matter parser, the loader and the prompt section.

#include "stirrup/agent/skills.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup {

namespace fs = std::filesystem;

namespace {

// Python's str.isspace(), which is also what `\s` matches in a str regex.
bool py_isspace(char32_t c) noexcept
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The code point at `i` and its length in bytes. A byte that does not start
// valid UTF-8 stands for itself (length 1) and is never whitespace.
std::pair<char32_t, std::size_t> code_point_at(std::string_view s, std::size_t i) noexcept
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80)
        return {b0, 1};
    std::size_t len = 0;
    char32_t cp = 0, min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        len = 2, cp = b0 & 0x1F, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF)
        len = 3, cp = b0 & 0x0F, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4)
        len = 4, cp = b0 & 0x07, min = 0x10000;
    if (len == 0 || i + len > s.size())
        return {0xDC00 + b0, 1};
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80)
            return {0xDC00 + b0, 1};
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return {0xDC00 + b0, 1};
    return {cp, len};
}

// Python's str.strip().
std::string_view py_strip(std::string_view s) noexcept
{
    std::size_t begin = 0;
    while (begin < s.size()) {
        auto [cp, len] = code_point_at(s, begin);
        if (!py_isspace(cp))
            break;
        begin += len;
    }
    // Scan forward so multi-byte characters are read whole; remember where
    // the last non-space character ended.
    std::size_t end = begin;
    for (std::size_t i = begin; i < s.size();) {
        auto [cp, len] = code_point_at(s, i);
        i += len;
        if (!py_isspace(cp))
            end = i;
    }
    return s.substr(begin, end - begin);
}

// The whole of a file, or the reason it could not be read in the words of
// Python's OSError ("[Errno 21] Is a directory: '...'").
std::optional<std::string> read_file(const fs::path& path, std::string& error)
{
    auto fail = [&](int err) {
        error = "[Errno " + std::to_string(err) + "] " + std::strerror(err) + ": '" + path.string() + "'";
        return std::nullopt;
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(errno);
    std::string data;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            return fail(err);
        }
        if (n == 0)
            break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
}

} // namespace

std::optional<std::map<std::string, std::string>> parse_skill_frontmatter(std::string_view text)
{
    if (text.substr(0, 3) != "---")
        return std::nullopt;

    // `\s*\n` backtracks: try the longest whitespace run first, then shorter
    // ones, each ending just before a '\n'; the lazy `(.*?)\n---` takes the
    // first "\n---" after that '\n'. The first candidate that works wins.
    std::vector<std::size_t> newline_ends; // byte offsets just past each '\n' of the run
    for (std::size_t i = 3; i < text.size();) {
        auto [cp, len] = code_point_at(text, i);
        if (!py_isspace(cp))
            break;
        i += len;
        if (cp == U'\n')
            newline_ends.push_back(i);
    }
    std::optional<std::string_view> block;
    for (auto it = newline_ends.rbegin(); it != newline_ends.rend() && !block; ++it) {
        const std::size_t close = text.find("\n---", *it);
        if (close != std::string_view::npos)
            block = text.substr(*it, close - *it);
    }
    if (!block)
        return std::nullopt;

    std::map<std::string, std::string> result;
    const std::string_view body = py_strip(*block);
    std::size_t start = 0;
    while (start <= body.size()) {
        std::size_t nl = body.find('\n', start);
        if (nl == std::string_view::npos)
            nl = body.size();
        const std::string_view line = py_strip(body.substr(start, nl - start));
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos)
            result[std::string(py_strip(line.substr(0, colon)))] = std::string(py_strip(line.substr(colon + 1)));
        start = nl + 1;
    }
    return result;
}

std::string translate_newlines(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out += '\n';
            if (i + 1 < text.size() && text[i + 1] == '\n')
                ++i;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<SkillInfo> load_skills_metadata(const fs::path& dir, std::function<void(std::string_view)> warn)
{
    auto say = [&](const std::string& message) {
        if (warn)
            warn(message);
    };
    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (!fs::exists(status))
        return {};
    if (!fs::is_directory(status)) {
        say("Skills path is not a directory: " + dir.string());
        return {};
    }

    std::vector<std::string> subdirs;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_directory(type_ec))
            subdirs.push_back(it->path().filename().string());
    }
    if (ec)
        throw SystemError(ec, "Cannot list the skills directory '" + dir.string() + "'");
    std::sort(subdirs.begin(), subdirs.end());

    std::vector<SkillInfo> skills;
    for (const auto& subdir : subdirs) {
        const fs::path skill_md = dir / subdir / "SKILL.md";
        std::error_code exists_ec;
        if (!fs::exists(skill_md, exists_ec))
            continue;
        std::string error;
        auto raw = read_file(skill_md, error);
        if (!raw) {
            say("Failed to load skill " + subdir + ": " + error);
            continue;
        }
        // Python reads SKILL.md as strict UTF-8 and fails on anything else.
        if (detail::text::sanitize_utf8(*raw) != *raw) {
            say("Failed to load skill " + subdir + ": SKILL.md is not valid UTF-8");
            continue;
        }
        const auto meta =
            parse_skill_frontmatter(translate_newlines(*raw)).value_or(std::map<std::string, std::string>{});
        const auto name = meta.find("name");
        const auto description = meta.find("description");
        if (name == meta.end() || name->second.empty() || description == meta.end() || description->second.empty()) {
            say("Skill " + subdir + " missing required frontmatter (name, description)");
            continue;
        }
        skills.push_back({name->second, description->second, "skills/" + subdir});
    }
    return skills;
}

std::string format_skills_section(const std::vector<SkillInfo>& skills)
{
    if (skills.empty())
        return "";
    std::string out =
        "## Available Skills\n"
        "\n"
        "You have access to the following skills located in the `skills/` directory. "
        "Each skill contains a SKILL.md file with detailed instructions and potentially bundled scripts.\n"
        "\n"
        "To use a skill:\n"
        "1. Read the full instructions: `cat <skill_path>/SKILL.md`\n"
        "2. Follow the instructions and use any bundled resources as described\n"
        "\n";
    for (std::size_t i = 0; i < skills.size(); ++i) {
        if (i != 0)
            out += '\n';
        const auto& s = skills[i];
        out += "- **" + s.name + "**: " + s.description + " (`" + s.path + "/SKILL.md`)";
    }
    return out;
}

} // namespace stirrup
