#pragma once
// The finish tool: the model calls it to end the run, giving a reason and
// the files it produced (Stirrup's SIMPLE_FINISH_TOOL, tools/finish.py).

#include <string>
#include <vector>

#include "stirrup/core/tool.hpp"
#include "stirrup/core/tool_params.hpp"

namespace stirrup {

struct FinishParams {
    std::string reason;
    /// Files created or modified; the agent saves them to the session's output dir.
    std::vector<std::string> paths;

    static auto stirrup_params()
    {
        return params<FinishParams>(
            "FinishParams", "Explanation for why the task is complete or cannot proceed.",
            field(&FinishParams::reason, "reason", "Reason for finishing."),
            field(&FinishParams::paths, "paths",
                  "List of file paths created or modified. Do not include directories, only files."));
    }
};

inline constexpr const char* kFinishToolName = "finish";
inline constexpr const char* kFinishToolDescription =
    "Signal task completion with a reason. Use when the task is finished or cannot proceed further. "
    "Note that you will need a separate turn to finish.";

/// Stirrup's finish tool. With an execution environment, every listed path
/// must be an existing file in it, or the call fails with
/// "ERROR: Files do not exist: [...]. Verify paths and ensure files were
/// saved." and the run goes on; a path outside the environment counts as
/// missing (Stirrup crashes the run there). Otherwise the result is `reason`.
Tool default_finish_tool();

/// A finish tool with your own parameters: it is make_tool under another
/// name. The agent ends the run when the tool's result has success == true;
/// if `P` has a `paths` field (a list of strings), those files are the
/// run's outputs. See docs/tools.md.
template <class P>
Tool make_finish_tool(std::string name, std::string description, TypedExecutor<P> execute)
{
    return make_tool<P>(std::move(name), std::move(description), std::move(execute));
}

} // namespace stirrup
