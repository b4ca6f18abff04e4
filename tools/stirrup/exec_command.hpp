#pragma once
// `stirrup exec`: drives the backend contract from a shell.

#include <string>
#include <vector>

namespace stirrup::cli {

/// Returns the process exit status.
int exec_command(const std::vector<std::string>& args);

} // namespace stirrup::cli
