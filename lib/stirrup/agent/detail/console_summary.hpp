#pragma once
// The closing report of a root session on the console: the finish reason,
// tool usage, saved paths, token usage, model speed and the max-turns
// warning (Stirrup's AgentLogger._log_finish after its status rule).

#include <string>

#include "stirrup/agent/detail/console_format.hpp"
#include "stirrup/agent/logger.hpp"

namespace stirrup::detail::console {

/// The text printed after a root session's status line. `report` is read
/// during the call only.
std::string session_summary(const LogScope& scope, const SessionReport& report, const Painter& painter);

} // namespace stirrup::detail::console
