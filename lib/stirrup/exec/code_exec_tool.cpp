#include "stirrup/exec/code_exec_tool.hpp"

#include "stirrup/exec/detail/format_result.hpp"

namespace stirrup {

std::string_view code_exec_parameters_schema() noexcept
{
    // Key order and texts as pydantic's model_json_schema() prints them, so a
    // prompt cache keyed on the request bytes matches Stirrup's.
    return R"({"description": "Shell command to execute in the execution environment.", "properties": {"cmd": {"description": "Shell command to execute (bash syntax). IMPORTANT: Use only relative paths. Do not use absolute paths (starting with / or ~) or reference directories outside the working directory.", "title": "Cmd", "type": "string"}}, "required": ["cmd"], "title": "CodeExecutionParams", "type": "object"})";
}

awaitable<std::string> run_code_exec_tool(CodeExecProvider& provider, std::string cmd)
{
    co_return detail::format_result(co_await provider.run_command(std::move(cmd)));
}

} // namespace stirrup
