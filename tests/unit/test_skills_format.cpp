// SKILL.md front matter and the skills section of the system prompt. Expected
// values come from Stirrup's parse_frontmatter and format_skills_section run
// under CPython 3.12; the tests never run Python.

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "stirrup/agent/skills.hpp"

using namespace stirrup;
using Map = std::map<std::string, std::string>;

namespace {

template <std::size_t N>
constexpr std::string_view B(const char (&s)[N])
{
    return {s, N - 1};
}

struct FrontmatterCase {
    const char* name;
    std::string_view text;
    std::optional<Map> expected;
};

const FrontmatterCase frontmatter_cases[] = {
    {"plain", "---\nname: pdf\ndescription: Work with PDFs\n---\n# Body",
     Map{{"name", "pdf"}, {"description", "Work with PDFs"}}},
    {"raw CRLF", "---\r\nname: pdf\r\ndescription: Work with PDFs\r\n---\r\n",
     Map{{"name", "pdf"}, {"description", "Work with PDFs"}}},
    {"spaces after the opening", "---   \t\nname: x\n---", Map{{"name", "x"}}},
    {"blank lines after the opening", "---\n\n\nname: x\n---", Map{{"name", "x"}}},
    {"empty block needs a line", "---\n---\n", std::nullopt},
    {"blank line block", "---\n\n---\n", Map{}},
    {"whitespace block backtracks", "--- \n \n---", Map{}},
    {"unclosed", "---\nname: x\n", std::nullopt},
    {"no opening", "name: x\n---\n", std::nullopt},
    {"indented opening", " ---\nname: x\n---", std::nullopt},
    {"byte order mark", "\xEF\xBB\xBF---\nname: x\n---", std::nullopt},
    {"first colon splits, quotes kept", "---\nurl: http://a:b\nname:   'quoted'  \n  description:\"dq\"\n---",
     Map{{"url", "http://a:b"}, {"name", "'quoted'"}, {"description", "\"dq\""}}},
    {"later key wins, lines without colon ignored", "---\nname: first\nname: second\nnot a pair\n---",
     Map{{"name", "second"}}},
    {"four dashes close too", "---\nname: x\n----\ndescription: y\n---", Map{{"name", "x"}}},
    {"unicode whitespace stripped",
     "---\nname: a\xC2\xA0\xE2\x80\x83\ndescription:\xE3\x80\x80"
     "b\xE3\x80\x80\n---",
     Map{{"name", "a"}, {"description", "b"}}},
    {"file separator is whitespace",
     "---\nname: a\x1C"
     "b\x1C\n---",
     Map{{"name", "a\x1C"
                  "b"}}},
    {"closing dashes need not end the line", "---\nname: x\n---description: y\n---", Map{{"name", "x"}}},
    {"empty keys and values", "---\nkey with spaces : v : w\n:novalue\nempty:\n---",
     Map{{"key with spaces", "v : w"}, {"", "novalue"}, {"empty", ""}}},
    {"text after the opening dashes", "---x\nname: y\n---", std::nullopt},
    {"line separator before the newline", "---\xE2\x80\xA8\nname: y\n---", Map{{"name", "y"}}},
    {"indented closing", "---\nname: x\n  ---", std::nullopt},
    {"a lone CR does not close", "---\nname: x\r---", std::nullopt},
    {"empty text", "", std::nullopt},
    {"only dashes", "---", std::nullopt},
};

const std::string_view section_head =
    "## Available Skills\n\nYou have access to the following skills located in the `skills/` directory. Each skill "
    "contains a SKILL.md file with detailed instructions and potentially bundled scripts.\n\nTo use a skill:\n1. Read "
    "the full instructions: `cat <skill_path>/SKILL.md`\n2. Follow the instructions and use any bundled resources as "
    "described\n\n";

} // namespace

TEST_CASE("parse_skill_frontmatter follows Stirrup's regex and line splitting")
{
    for (const auto& c : frontmatter_cases) {
        CAPTURE(c.name);
        CHECK(parse_skill_frontmatter(c.text) == c.expected);
    }
}

TEST_CASE("parse_skill_frontmatter keeps bytes that are not UTF-8")
{
    CHECK(parse_skill_frontmatter(B("---\nname: \xFF \n---")) == Map{{"name", "\xFF"}});
}

TEST_CASE("translate_newlines reads text as Python's text mode does")
{
    CHECK(translate_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd");
    CHECK(translate_newlines("\r\r\n") == "\n\n");
    CHECK(translate_newlines("end\r") == "end\n");
    CHECK(translate_newlines("") == "");
}

TEST_CASE("format_skills_section is Stirrup's text")
{
    CHECK(format_skills_section({}) == "");
    CHECK(format_skills_section({{"pdf", "Work with PDF files", "skills/pdf"}}) ==
          std::string(section_head) + "- **pdf**: Work with PDF files (`skills/pdf/SKILL.md`)");
    CHECK(format_skills_section({{"pdf", "Work with PDF files", "skills/pdf"},
                                 {"data-analysis", "Analyse \"CSV\" data", "skills/data_analysis"}}) ==
          std::string(section_head) + "- **pdf**: Work with PDF files (`skills/pdf/SKILL.md`)\n"
                                      "- **data-analysis**: Analyse \"CSV\" data (`skills/data_analysis/SKILL.md`)");
}
