#pragma once
// `stirrup local reap`: cleans up after local environments whose owner
// process died without stopping them.

#include <string>
#include <vector>

namespace stirrup::cli {

/// Returns the process exit status.
int local_command(const std::vector<std::string>& args);

} // namespace stirrup::cli
