// The system prompt, compared byte for byte with what Stirrup's
// _build_system_prompt produced under CPython 3.12 for the same inputs.

#include <doctest/doctest.h>

#include <string>

#include "stirrup/agent/system_prompt.hpp"

using namespace stirrup;

namespace {

// The base prompt for a given turn limit, spelled out rather than taken from
// the library so that a change to the library's text fails here.
std::string base(const std::string& turns)
{
    return "You are an AI agent that will be given a specific task. You are to complete that task using the tools "
           "provided in " +
           turns +
           " steps. You will need to call a finish tool as your last step, where you will pass your finish reason "
           "and any required final fields for that tool.\n";
}

const std::string no_user = " You are not able to interact with the user during the task.";
const std::string with_user = " You have access to the user_input tool which allows you to ask the user questions "
                              "when you need clarification or are uncertain about something.";

} // namespace

TEST_CASE("base prompt template is Stirrup's 272-byte file")
{
    CHECK(base_system_prompt_template.size() == 272);
    CHECK(std::string(base_system_prompt_template) == base("{max_turns}"));
}

TEST_CASE("system prompt: base only, without user_input")
{
    CHECK(build_system_prompt({.max_turns = 30}) == base("30") + no_user);
}

TEST_CASE("system prompt: with the user_input tool")
{
    CHECK(build_system_prompt({.max_turns = 7, .has_user_input_tool = true}) == base("7") + with_user);
}

TEST_CASE("system prompt: input files listed in upload order")
{
    CHECK(build_system_prompt({.max_turns = 30, .uploaded_files = {"data.csv", "dir/f.txt"}}) ==
          base("30") + no_user +
              "\n\nThe following input files have been provided for this task:\n- data.csv\n- dir/f.txt");
}

TEST_CASE("system prompt: files, skills and user instructions together")
{
    SystemPromptInputs in{.max_turns = 12,
                          .has_user_input_tool = true,
                          .uploaded_files = {"/workspace/a.csv"},
                          .skills = {{"pdf", "Work with PDF files", "skills/pdf"}},
                          .user_instructions = "Be brief.\nUse metric units."};
    CHECK(build_system_prompt(in) ==
          base("12") + with_user +
              "\n\nThe following input files have been provided for this task:\n- /workspace/a.csv"
              "\n\n## Available Skills\n\nYou have access to the following skills located in the `skills/` "
              "directory. Each skill contains a SKILL.md file with detailed instructions and potentially bundled "
              "scripts.\n\nTo use a skill:\n1. Read the full instructions: `cat <skill_path>/SKILL.md`\n2. Follow "
              "the instructions and use any bundled resources as described\n\n- **pdf**: Work with PDF files "
              "(`skills/pdf/SKILL.md`)"
              "\n\nFollow these instructions from the User:\nBe brief.\nUse metric units.");
}

TEST_CASE("system prompt: skills without files")
{
    SystemPromptInputs in{.max_turns = 3, .skills = {{"a", "b", "skills/c"}}};
    CHECK(build_system_prompt(in) == base("3") + no_user + "\n\n" + format_skills_section(in.skills));
    CHECK(build_system_prompt(in).ends_with("\n\n- **a**: b (`skills/c/SKILL.md`)"));
}

TEST_CASE("system prompt: user instructions alone; an empty one adds nothing")
{
    CHECK(build_system_prompt({.max_turns = 30, .user_instructions = "Answer in French."}) ==
          base("30") + no_user + "\n\nFollow these instructions from the User:\nAnswer in French.");
    CHECK(build_system_prompt({.max_turns = 30, .user_instructions = ""}) == base("30") + no_user);
}

TEST_CASE("system prompt: the turn limit is printed as Python's str(int)")
{
    CHECK(build_system_prompt({.max_turns = 0}) == base("0") + no_user);
    CHECK(build_system_prompt({.max_turns = -5}) == base("-5") + no_user);
    CHECK(build_system_prompt({.max_turns = 1000000}) == base("1000000") + no_user);
}
