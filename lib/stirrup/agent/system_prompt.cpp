// The system prompt, part by part in Stirrup's order (agent.py _build_system_prompt).

#include "stirrup/agent/system_prompt.hpp"

namespace stirrup {

std::string build_system_prompt(const SystemPromptInputs& inputs)
{
    constexpr std::string_view placeholder = "{max_turns}";
    std::string out(base_system_prompt_template);
    out.replace(out.find(placeholder), placeholder.size(), std::to_string(inputs.max_turns));

    if (inputs.has_user_input_tool)
        out += " You have access to the user_input tool which allows you to ask the user "
               "questions when you need clarification or are uncertain about something.";
    else
        out += " You are not able to interact with the user during the task.";

    if (!inputs.uploaded_files.empty()) {
        out += "\n\nThe following input files have been provided for this task:";
        for (const auto& path : inputs.uploaded_files)
            out += "\n- " + path;
    }

    if (const std::string skills = format_skills_section(inputs.skills); !skills.empty())
        out += "\n\n" + skills;

    if (inputs.user_instructions && !inputs.user_instructions->empty())
        out += "\n\nFollow these instructions from the User:\n" + *inputs.user_instructions;

    return out;
}

} // namespace stirrup
