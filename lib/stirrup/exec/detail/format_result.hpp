#pragma once
// The tool-result text the model reads for a command: Stirrup's <shell_results>
// XML, byte for byte (no XML escaping, as Stirrup).

#include <cstddef>
#include <string>

#include "stirrup/exec/command_result.hpp"

namespace stirrup::detail {

inline constexpr std::size_t max_shell_output_chars = 20'000;

std::string format_result(const CommandResult& result, std::size_t max_chars = max_shell_output_chars);

} // namespace stirrup::detail
