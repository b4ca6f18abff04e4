#pragma once
// What run_command returns: Stirrup's CommandResult. Command failures (non-zero
// exit, timeout, rejection) are results, never exceptions.

#include <cstdint>
#include <optional>
#include <string>

namespace stirrup {

struct CommandResult {
    int exit_code = 0;
    /// Valid UTF-8 (invalid bytes replaced by U+FFFD). When the command printed
    /// more than the capture keeps, the middle was dropped: see *_dropped_chars.
    std::string stdout_text;
    std::string stderr_text;
    /// Code points removed from the middle of stdout_text / stderr_text by the
    /// bounded capture; the original length is count(text) + dropped.
    std::uint64_t stdout_dropped_chars = 0;
    std::uint64_t stderr_dropped_chars = 0;
    /// Set for failures the model should read about: "timeout",
    /// "command_not_allowed", "absolute_path_detected", "execution_error", ...
    std::optional<std::string> error_kind;
    std::optional<std::string> advice;
};

} // namespace stirrup
