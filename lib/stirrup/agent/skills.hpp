#pragma once
// Skills: subdirectories of a skills directory, each with a SKILL.md whose
// front matter names and describes it. The session uploads the directory to
// `skills/` and lists the skills in the system prompt. Parsing and the prompt
// text are Stirrup's (skills/skills.py); the list is sorted by directory name
// so the prompt does not depend on the filesystem's order.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stirrup {

struct SkillInfo {
    std::string name;
    std::string description;
    std::string path; ///< "skills/{subdirectory}", where the upload puts it

    bool operator==(const SkillInfo&) const = default;
};

/// Stirrup's parse_frontmatter: the text must open with "---" and a regex
/// `^---\s*\n(.*?)\n---` (DOTALL) must match; each line of the block with a
/// ':' gives key and value split at the first ':' and stripped of Python
/// whitespace (Unicode included, quotes kept, a later key wins). nullopt when
/// there is no such block (Stirrup returns {} then). Raw "\r\n" line ends
/// parse too: "\r" is stripped as whitespace.
std::optional<std::map<std::string, std::string>> parse_skill_frontmatter(std::string_view text);

/// Python's text-mode reading of a file: "\r\n" and a lone "\r" become "\n".
std::string translate_newlines(std::string_view text);

/// The skills in the immediate subdirectories of `dir` that hold a SKILL.md
/// (symlinks followed), sorted by subdirectory name. A skill whose SKILL.md
/// cannot be read, is not UTF-8, or lacks a non-empty name or description is
/// skipped with a message to `warn`. A missing `dir` gives an empty list; a
/// `dir` that is not a directory too, with a warning. Throws SystemError if
/// the directory cannot be listed. Blocking file reads: small files, but run
/// it off the event loop if the directory may be slow.
std::vector<SkillInfo> load_skills_metadata(const std::filesystem::path& dir,
                                            std::function<void(std::string_view)> warn = {});

/// Stirrup's format_skills_section: "## Available Skills" and how to use a
/// skill, then "- **{name}**: {description} (`{path}/SKILL.md`)" per skill,
/// joined with "\n" and without a final newline. "" for no skills.
std::string format_skills_section(const std::vector<SkillInfo>& skills);

} // namespace stirrup
