#pragma once
// `stirrup docker reap`: removes the containers of processes that died
// without stopping their providers.

#include <string>
#include <vector>

namespace stirrup::cli {

/// Returns the process exit status.
int docker_command(const std::vector<std::string>& args);

} // namespace stirrup::cli
