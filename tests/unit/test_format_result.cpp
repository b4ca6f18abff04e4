// format_result: Stirrup's <shell_results> text, byte for byte. Expected
// strings were produced by Stirrup's format_result/truncate_msg in CPython.

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "stirrup/exec/command_result.hpp"
#include "stirrup/exec/detail/format_result.hpp"

using stirrup::CommandResult;
using stirrup::detail::format_result;

namespace {

CommandResult ok(int exit_code, std::string out, std::string err)
{
    CommandResult r;
    r.exit_code = exit_code;
    r.stdout_text = std::move(out);
    r.stderr_text = std::move(err);
    return r;
}

CommandResult failure(std::string kind, std::string err, std::optional<std::string> advice)
{
    CommandResult r = ok(1, "stdout is dropped", std::move(err));
    r.error_kind = std::move(kind);
    r.advice = std::move(advice);
    return r;
}

} // namespace

TEST_CASE("format_result success form")
{
    CHECK(format_result(ok(0, "hello\n", "")) == "<shell_results>\n<exit_code>0</exit_code>\n<stdout>hello\n</stdout>\n"
                                                 "<stderr></stderr>\n</shell_results>");

    // No XML escaping, negative (signal) exit codes printed as Python does.
    CHECK(format_result(ok(-9, "<a href=\"x\">&amp;</a>", "warn: é\n")) ==
          "<shell_results>\n<exit_code>-9</exit_code>\n<stdout><a href=\"x\">&amp;</a></stdout>\n"
          "<stderr>warn: é\n</stderr>\n</shell_results>");

    // Python tests `if result.error_kind:`, so an empty kind is no error.
    CommandResult empty_kind = ok(1, "out", "err");
    empty_kind.error_kind = "";
    empty_kind.advice = "ignored";
    CHECK(format_result(empty_kind) == "<shell_results>\n<exit_code>1</exit_code>\n<stdout>out</stdout>\n"
                                       "<stderr>err</stderr>\n</shell_results>");
}

TEST_CASE("format_result error form drops stdout")
{
    CHECK(format_result(failure("timeout", "Command timed out after 5 seconds", "Try a shorter command.")) ==
          "<shell_results>\n<error_kind>timeout</error_kind>\n"
          "<details>Command timed out after 5 seconds</details>\n"
          "<advice>Try a shorter command.</advice>\n</shell_results>");

    CHECK(format_result(failure("command_not_allowed", "Command not allowed: 'rm -rf x'", std::nullopt)) ==
          "<shell_results>\n<error_kind>command_not_allowed</error_kind>\n"
          "<details>Command not allowed: 'rm -rf x'</details>\n</shell_results>");

    // An empty advice is omitted, as `if result.advice:` does.
    CHECK(format_result(failure("execution_error", "boom", "")) ==
          "<shell_results>\n<error_kind>execution_error</error_kind>\n"
          "<details>boom</details>\n</shell_results>");
}

TEST_CASE("format_result truncates each stream")
{
    CHECK(format_result(ok(0, "0123456789abcdefghijXYZ", "short"), 10) ==
          "<shell_results>\n<exit_code>0</exit_code>\n<stdout>01234\n... This content has been "
          "truncated from an original 23 characters to stay below 10 characters ...\nijXYZ</stdout>\n"
          "<stderr>short</stderr>\n</shell_results>");

    CHECK(format_result(failure("execution_error", "0123456789abcdefghijXYZ", "a"), 10) ==
          "<shell_results>\n<error_kind>execution_error</error_kind>\n<details>01234\n... This "
          "content has been truncated from an original 23 characters to stay below 10 characters "
          "...\nijXYZ</details>\n<advice>a</advice>\n</shell_results>");

    // Stirrup's default limit is 20000 characters per stream.
    const std::string at_limit(20'000, 'x');
    CHECK(format_result(ok(0, at_limit, at_limit)).size() == 2 * 20'000 + 93);
    const std::string long_out = std::string(10'000, 'a') + "MIDDLE" + std::string(10'000, 'b');
    CHECK(format_result(ok(0, long_out, "")) ==
          "<shell_results>\n<exit_code>0</exit_code>\n<stdout>" + std::string(10'000, 'a') +
              "\n... This content has been truncated from an original 20006 characters to stay "
              "below 20000 characters ...\n" +
              std::string(10'000, 'b') + "</stdout>\n<stderr></stderr>\n</shell_results>");
}

TEST_CASE("format_result reports the length before a bounded capture dropped the middle")
{
    // The capture kept 5 + 5 of 23 characters on each stream.
    CommandResult r = ok(0, "01234ijXYZ", "abcdeVWXYZ");
    r.stdout_dropped_chars = 13;
    r.stderr_dropped_chars = 90;
    CHECK(format_result(r, 10) ==
          "<shell_results>\n<exit_code>0</exit_code>\n<stdout>01234\n... This content has been "
          "truncated from an original 23 characters to stay below 10 characters ...\nijXYZ</stdout>\n"
          "<stderr>abcde\n... This content has been truncated from an original 100 characters to "
          "stay below 10 characters ...\nVWXYZ</stderr>\n</shell_results>");

    CommandResult e = failure("timeout", "abcdeVWXYZ", std::nullopt);
    e.stdout_dropped_chars = 7; // ignored with stdout
    e.stderr_dropped_chars = 1;
    CHECK(format_result(e, 10) ==
          "<shell_results>\n<error_kind>timeout</error_kind>\n<details>abcde\n... This content has "
          "been truncated from an original 11 characters to stay below 10 characters ...\n"
          "VWXYZ</details>\n</shell_results>");
}
