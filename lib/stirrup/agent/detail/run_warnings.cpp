#include "stirrup/agent/detail/run_warnings.hpp"

#include <functional>

#include "stirrup/agent/detail/session_state.hpp"

namespace stirrup::detail {

namespace {

/// Visits the agent and every sub-agent below it, depth first.
void walk(const Agent& agent, const std::function<void(const Agent&)>& visit)
{
    visit(agent);
    if (agent.options().tools)
        for (const auto& source : *agent.options().tools)
            if (const auto* tool = std::get_if<Tool>(&source); tool && tool->sub_agent)
                walk(*tool->sub_agent, visit);
}

} // namespace

std::vector<std::string> collect_run_warnings(const SessionState& state)
{
    std::vector<std::string> out;
    const auto& cfg = *state.config;
    Agent root(cfg.client, cfg.name, cfg.options);
    bool local = false;
    bool any_code_exec = false;
    std::vector<std::string> without_code_exec;
    walk(root, [&](const Agent& a) {
        if (a.has_code_exec())
            any_code_exec = true;
        else
            without_code_exec.push_back(a.name());
        if (a.options().tools)
            for (const auto& source : *a.options().tools)
                if (const auto* p = std::get_if<std::shared_ptr<ToolProvider>>(&source);
                    p && *p && (*p)->name() == "LocalCodeExecToolProvider")
                    local = true;
    });
    if (local)
        out.emplace_back("LocalCodeExecToolProvider can access your local filesystem. Consider using "
                         "DockerCodeExecToolProvider or E2BCodeExecToolProvider for sandboxed execution.");
    if (!any_code_exec)
        out.emplace_back("Missing default tool: LocalCodeExecToolProvider");
    for (const auto& name : without_code_exec)
        out.push_back("Agent '" + name +
                      "' has no code execution tool. It will not be able to save files to the output directory.");
    if (state.env && !state.output_dir)
        out.emplace_back("Code execution environment is configured but no output_dir is set. Files created by the "
                         "agent will be lost when the session ends.");
    return out;
}

} // namespace stirrup::detail
