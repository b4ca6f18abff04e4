// Loading skills from a real directory: which subdirectories count, how
// SKILL.md is read, what is skipped and what is said about it.

#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/agent/skills.hpp"

using namespace stirrup;
namespace fs = std::filesystem;

namespace {

struct SkillsDir {
    fs::path root;
    SkillsDir()
    {
        static std::atomic<int> counter{0};
        root = fs::temp_directory_path() /
               ("stirrup-skills-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(root);
        fs::create_directories(root);
    }
    ~SkillsDir() { fs::remove_all(root); }

    void write(const std::string& rel, const std::string& bytes) const
    {
        fs::create_directories((root / rel).parent_path());
        std::ofstream(root / rel, std::ios::binary) << bytes;
    }
    void skill(const std::string& subdir, const std::string& name, const std::string& description) const
    {
        write(subdir + "/SKILL.md",
              "---\nname: " + name + "\ndescription: " + description + "\n---\n\n# " + name + "\n");
    }
};

struct Warnings {
    std::vector<std::string> seen;
    std::function<void(std::string_view)> sink()
    {
        return [this](std::string_view w) { seen.emplace_back(w); };
    }
};

} // namespace

TEST_CASE("skills are listed sorted by subdirectory name, hidden ones included")
{
    SkillsDir d;
    d.skill("zeta", "Zeta", "Last one");
    d.skill("alpha", "Alpha Skill", "First one");
    d.skill("mid", "Middle", "In between");
    d.skill(".hidden", "Hidden", "Stirrup's iterdir lists it too");
    Warnings w;
    const auto skills = load_skills_metadata(d.root, w.sink());
    CHECK(skills == std::vector<SkillInfo>{{"Hidden", "Stirrup's iterdir lists it too", "skills/.hidden"},
                                           {"Alpha Skill", "First one", "skills/alpha"},
                                           {"Middle", "In between", "skills/mid"},
                                           {"Zeta", "Last one", "skills/zeta"}});
    CHECK(w.seen.empty());
}

TEST_CASE("directories without SKILL.md and plain files are ignored silently")
{
    SkillsDir d;
    d.skill("real", "Real", "Has a SKILL.md");
    d.write("no-skill/README.md", "---\nname: x\ndescription: y\n---\n");
    d.write("loose.md", "---\nname: x\ndescription: y\n---\n");
    d.write("SKILL.md", "---\nname: top\ndescription: not in a subdirectory\n---\n");
    Warnings w;
    CHECK(load_skills_metadata(d.root, w.sink()) == std::vector<SkillInfo>{{"Real", "Has a SKILL.md", "skills/real"}});
    CHECK(w.seen.empty());
}

TEST_CASE("a skill without a name or description is skipped with a warning")
{
    SkillsDir d;
    d.write("noname/SKILL.md", "---\ndescription: only a description\n---\n");
    d.write("emptydesc/SKILL.md", "---\nname: x\ndescription:\n---\n");
    d.write("nofront/SKILL.md", "# Just a heading\nname: x\ndescription: y\n");
    d.skill("good", "Good", "Fine");
    Warnings w;
    CHECK(load_skills_metadata(d.root, w.sink()) == std::vector<SkillInfo>{{"Good", "Fine", "skills/good"}});
    CHECK(w.seen == std::vector<std::string>{"Skill emptydesc missing required frontmatter (name, description)",
                                             "Skill nofront missing required frontmatter (name, description)",
                                             "Skill noname missing required frontmatter (name, description)"});
}

TEST_CASE("SKILL.md is read as Python text: CRLF and lone CR line ends work, quotes stay")
{
    SkillsDir d;
    d.write("crlf/SKILL.md", "---\r\nname: Windows\r\ndescription: \"Quoted\" text\r\n---\r\nBody\r\n");
    d.write("cr/SKILL.md", "---\rname: OldMac\rdescription: y\r---\r");
    d.write("utf8/SKILL.md",
            "---\nname: Caf\xC3\xA9\ndescription: \xE2\x80\x9Csmart\xE2\x80\x9D quotes\xE3\x80\x80\n---\n");
    Warnings w;
    CHECK(load_skills_metadata(d.root, w.sink()) ==
          std::vector<SkillInfo>{{"OldMac", "y", "skills/cr"},
                                 {"Windows", "\"Quoted\" text", "skills/crlf"},
                                 {"Caf\xC3\xA9", "\xE2\x80\x9Csmart\xE2\x80\x9D quotes", "skills/utf8"}});
    CHECK(w.seen.empty());
}

TEST_CASE("a SKILL.md that cannot be read or decoded is skipped with a warning")
{
    SkillsDir d;
    d.write("bad/SKILL.md", "---\nname: \xFF\ndescription: y\n---\n");
    fs::create_directories(d.root / "isdir/SKILL.md");
    d.skill("ok", "Ok", "Fine");
    Warnings w;
    CHECK(load_skills_metadata(d.root, w.sink()) == std::vector<SkillInfo>{{"Ok", "Fine", "skills/ok"}});
    REQUIRE(w.seen.size() == 2);
    CHECK(w.seen[0] == "Failed to load skill bad: SKILL.md is not valid UTF-8");
    CHECK(w.seen[1] ==
          "Failed to load skill isdir: [Errno 21] Is a directory: '" + (d.root / "isdir/SKILL.md").string() + "'");
}

TEST_CASE("a symlinked skill directory counts, under the link's name")
{
    SkillsDir d;
    SkillsDir elsewhere;
    elsewhere.skill("shared", "Shared", "Lives elsewhere");
    fs::create_directory_symlink(elsewhere.root / "shared", d.root / "linked");
    CHECK(load_skills_metadata(d.root) == std::vector<SkillInfo>{{"Shared", "Lives elsewhere", "skills/linked"}});
}

TEST_CASE("a missing skills directory gives no skills and no warning; a file gives a warning")
{
    SkillsDir d;
    Warnings w;
    CHECK(load_skills_metadata(d.root / "nope", w.sink()).empty());
    CHECK(w.seen.empty());
    d.write("file", "x");
    CHECK(load_skills_metadata(d.root / "file", w.sink()).empty());
    CHECK(w.seen == std::vector<std::string>{"Skills path is not a directory: " + (d.root / "file").string()});
    CHECK(load_skills_metadata(d.root).empty()); // an empty directory
}

TEST_CASE("loaded skills format into the prompt section")
{
    SkillsDir d;
    d.skill("pdf", "pdf", "Work with PDF files");
    d.skill("data_analysis", "data-analysis", "Analyse CSV data");
    CHECK(format_skills_section(load_skills_metadata(d.root))
              .ends_with("\n\n- **data-analysis**: Analyse CSV data (`skills/data_analysis/SKILL.md`)\n"
                         "- **pdf**: Work with PDF files (`skills/pdf/SKILL.md`)"));
}
