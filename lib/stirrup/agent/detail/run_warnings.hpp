#pragma once
// Internal: Stirrup's start-of-run configuration warnings (_collect_warnings),
// shown by root sessions.

#include <string>
#include <vector>

namespace stirrup::detail {

struct SessionState;

std::vector<std::string> collect_run_warnings(const SessionState& state);

} // namespace stirrup::detail
