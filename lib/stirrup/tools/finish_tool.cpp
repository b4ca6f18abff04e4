#include "stirrup/tools/finish_tool.hpp"

#include "stirrup/exec/provider.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"

namespace stirrup {
namespace {

awaitable<ToolResult> finish(FinishParams params, ToolContext& context)
{
    CodeExecProvider* env = context.exec_env();
    if (env != nullptr && !params.paths.empty()) {
        std::vector<std::string> missing;
        for (const auto& path : params.paths) {
            bool exists = false;
            try {
                exists = co_await env->file_exists(path);
            } catch (const PathError&) {
                // Outside the environment: it cannot be saved, so the model
                // gets to fix it instead of the run crashing as in Stirrup.
            }
            if (!exists)
                missing.push_back(path);
        }
        if (!missing.empty())
            co_return ToolResult{"ERROR: Files do not exist: " + detail::py_repr_list(missing) +
                                     ". Verify paths and ensure files were saved.",
                                 false, ToolMetadata::use_count(1)};
    }
    co_return ToolResult{std::move(params.reason), true, ToolMetadata::use_count(1)};
}

} // namespace

Tool default_finish_tool()
{
    return make_tool<FinishParams>(kFinishToolName, kFinishToolDescription, finish);
}

} // namespace stirrup
