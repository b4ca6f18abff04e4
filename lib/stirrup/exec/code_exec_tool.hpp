#pragma once
// The `code_exec` tool as the model sees it: Stirrup's name, description,
// parameter schema, and the text it returns. The agent layer wraps this in a
// Tool; `stirrup exec` drives the same function.

#include <string>
#include <string_view>

#include "stirrup/exec/provider.hpp"

namespace stirrup {

inline constexpr std::string_view code_exec_tool_name = "code_exec";

/// JSON schema of the tool's parameters, exactly as pydantic emits it for
/// Stirrup's CodeExecutionParams.
std::string_view code_exec_parameters_schema() noexcept;

/// Runs `cmd` through the provider and returns the tool-result text
/// (<shell_results> XML, truncated as Stirrup truncates).
awaitable<std::string> run_code_exec_tool(CodeExecProvider& provider, std::string cmd);

} // namespace stirrup
