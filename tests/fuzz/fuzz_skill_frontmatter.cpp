// libFuzzer target for SKILL.md front matter and the skills prompt section.
// Invariants: no crash and no exception; a parsed key or value has no leading
// or trailing ASCII whitespace, no newline, and a key no ':'; text that does
// not open with "---" has no front matter; on short ASCII text the result is
// the one Stirrup's regex `^---\s*\n(.*?)\n---` (DOTALL) and line splitting
// give, computed here with std::regex; the prompt section lists every skill
// in order.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_harness.hpp"
#include "stirrup/agent/skills.hpp"

namespace {

using stirrup::fuzz::require;

// Python's str.isspace() on ASCII, which `\s` and strip() both use.
constexpr std::string_view py_ascii_space = "\t\n\v\f\r\x1c\x1d\x1e\x1f ";

bool is_ascii_space(char c)
{
    return py_ascii_space.find(c) != std::string_view::npos;
}

std::string_view strip(std::string_view s)
{
    while (!s.empty() && is_ascii_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ascii_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// Stirrup's parse_frontmatter for ASCII text, spelled as Python spells it.
std::optional<std::map<std::string, std::string>> reference(std::string_view text)
{
    static const std::regex pattern("^---[" + std::string(py_ascii_space) + "]*\\n([\\s\\S]*?)\\n---");
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(text.begin(), text.end(), m, pattern))
        return std::nullopt;
    std::map<std::string, std::string> out;
    const std::string block = m[1].str();
    const std::string_view body = strip(block);
    std::size_t start = 0;
    for (;;) {
        const std::size_t nl = body.find('\n', start);
        const std::string_view line = strip(body.substr(start, nl == std::string_view::npos ? nl : nl - start));
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos)
            out[std::string(strip(line.substr(0, colon)))] = std::string(strip(line.substr(colon + 1)));
        if (nl == std::string_view::npos)
            break;
        start = nl + 1;
    }
    return out;
}

bool trimmed(std::string_view s)
{
    return s.empty() || (!is_ascii_space(s.front()) && !is_ascii_space(s.back()));
}

bool plain_ascii(std::string_view s)
{
    for (const char c : s)
        if (static_cast<unsigned char>(c) >= 0x80)
            return false;
    return true;
}

void check(std::string_view text)
{
    const auto meta = stirrup::parse_skill_frontmatter(text);
    if (!text.starts_with("---"))
        require(!meta);
    // libstdc++'s regex recurses per character: keep the reference to short text.
    if (text.size() <= 512 && plain_ascii(text))
        require(meta == reference(text));
    if (!meta)
        return;

    std::vector<stirrup::SkillInfo> skills;
    for (const auto& [key, value] : *meta) {
        require(trimmed(key) && trimmed(value));
        require(key.find('\n') == std::string::npos && value.find('\n') == std::string::npos);
        require(key.find(':') == std::string::npos);
        skills.push_back({key, value, "skills/" + key});
    }

    const std::string section = stirrup::format_skills_section(skills);
    require(section.empty() == skills.empty());
    std::size_t pos = 0;
    for (const auto& s : skills) {
        const std::string line = "- **" + s.name + "**: " + s.description + " (`" + s.path + "/SKILL.md`)";
        pos = section.find(line, pos);
        require(pos != std::string::npos);
        pos += line.size();
    }
    require(pos == section.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text = stirrup::fuzz::as_text(data, size);
    check(text);
    // What load_skills_metadata parses: the file with Python's newline translation.
    const std::string translated = stirrup::translate_newlines(text);
    require(translated.find('\r') == std::string::npos);
    check(translated);
    return 0;
}
