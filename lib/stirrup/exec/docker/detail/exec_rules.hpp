#pragma once
// How the Docker backend runs one command, as pure rules: Stirrup's coreutils
// `timeout` wrapping, the script that kills everything an exec started, and
// how an exec's exit code and output become a CommandResult (timeouts, a
// missing `timeout` binary, errors the engine writes into the output
// stream). No I/O.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/exec/allowlist.hpp"
#include "stirrup/exec/command_result.hpp"

namespace stirrup::detail::docker {

/// Environment variable set on every exec, with a value unique to it: the
/// kill script finds the exec's processes (and their sessions) by it.
inline constexpr std::string_view exec_marker_name = "STIRRUP_EXEC_ID";

/// Seconds as Python prints the timeout: 42 -> "42", 1.5 -> "1.5".
using detail::text::seconds_text;

/// Stirrup's command in the container, wrapped in coreutils timeout:
///   argv  -> ["timeout", "--kill-after=5s", "{t}s", argv...]
///   shell -> ["bash", "-c", "timeout --kill-after=5s {t}s bash -c " + shlex.quote(cmd)]
std::vector<std::string> timeout_wrapped_argv(const PreparedCommand& cmd, std::chrono::milliseconds timeout);

/// An exec (to run as root) that SIGKILLs every process carrying
/// STIRRUP_EXEC_ID=<marker> in its environment and every process in the
/// sessions those belong to (children that cleared their environment),
/// repeating while it finds any (forks racing the kill). Needs only a POSIX
/// sh, `cat` and /proc.
std::vector<std::string> kill_marked_argv(std::string_view marker);

/// The engine's own error when it could not start the exec (written into
/// the output stream as a stdout line ending in "\r\n", exit code 126 or
/// 127): missing binary, bad working dir, unknown user, pids limit. Nullopt
/// when the output is the program's.
std::optional<std::string> engine_exec_error(int exit_code, std::string_view stdout_text, std::string_view stderr_text);

/// "Command timed out after {t} seconds".
std::string timed_out_message(std::chrono::milliseconds timeout);

/// Stirrup's advice when the image has no coreutils `timeout`.
extern const std::string_view missing_timeout_advice;

/// Stirrup's advice for an error the engine answered a call with.
extern const std::string_view docker_api_error_advice;

/// What the model sees for a finished exec (the streams already decoded):
///  - 124 or 137 (timeout's TERM or KILL): error_kind "timeout", exit code
///    and partial stdout kept, stderr = partial stderr + "\n" + the message;
///  - an engine error in the stream: "image_missing_timeout" when the
///    missing binary is `timeout`, else "execution_error" with the engine's
///    text as stderr;
///  - 127 with stderr mentioning "timeout" and "not found": "image_missing_timeout";
///  - anything else: the command's own result.
CommandResult exec_command_result(int exit_code, std::string stdout_text, std::string stderr_text,
                                  std::chrono::milliseconds timeout);

/// The result when the exec did not finish within timeout + the grace
/// period (Stirrup's outer fail_after): exit 1, the timeout message, no output.
CommandResult client_timeout_result(std::chrono::milliseconds timeout);

} // namespace stirrup::detail::docker
