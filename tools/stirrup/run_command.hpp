#pragma once
// `stirrup run`: one agent session on a task, from a shell.

#include <string>
#include <vector>

namespace stirrup::cli {

/// The usage text of `stirrup run` (also shown by `stirrup --help`).
extern const char* const run_usage;

/// Returns the process exit status: 0 finished, 2 max turns ran out, 1 error,
/// 130 interrupted (SIGINT or SIGTERM).
int run_command(const std::vector<std::string>& args);

} // namespace stirrup::cli
