#pragma once
// The system prompt a fresh run starts with, built as Stirrup's
// _build_system_prompt does, so prompts tuned for Stirrup read the same.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/agent/skills.hpp"

namespace stirrup {

/// Stirrup's prompts/base_system_prompt.txt (272 bytes with the placeholder,
/// ending in "\n"); "{max_turns}" is replaced by the turn limit.
inline constexpr std::string_view base_system_prompt_template =
    "You are an AI agent that will be given a specific task. You are to complete that task using the tools "
    "provided in {max_turns} steps. You will need to call a finish tool as your last step, where you will pass "
    "your finish reason and any required final fields for that tool.\n";

struct SystemPromptInputs {
    int max_turns = 30;
    /// Whether a tool named "user_input" is among the active tools.
    bool has_user_input_tool = false;
    /// Where the input files landed in the execution environment, in upload order.
    std::vector<std::string> uploaded_files{};
    std::vector<SkillInfo> skills{};
    /// The agent's own system prompt; an empty one adds nothing, as in Stirrup.
    std::optional<std::string> user_instructions{};
};

/// The base prompt, then " You have access to the user_input tool ..." or
/// " You are not able to interact with the user during the task.", then the
/// input files ("\n\nThe following input files have been provided for this
/// task:" and "\n- {path}" each), then "\n\n" and the skills section, then
/// "\n\nFollow these instructions from the User:\n{instructions}". Empty
/// parts are left out.
std::string build_system_prompt(const SystemPromptInputs& inputs);

} // namespace stirrup
