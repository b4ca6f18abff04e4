#pragma once
// How much a log line matters; shared by the agent's logger and the tools
// that report through it.

namespace stirrup {

enum class LogLevel { debug, info, warning, error };

} // namespace stirrup
