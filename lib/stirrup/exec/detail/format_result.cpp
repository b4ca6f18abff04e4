#include "stirrup/exec/detail/format_result.hpp"

#include "stirrup/core/detail/text.hpp"

namespace stirrup::detail {

std::string format_result(const CommandResult& result, std::size_t max_chars)
{
    // Stirrup tests `if result.error_kind:` and `if result.advice:`, so an
    // empty string counts as absent.
    const bool failed = result.error_kind && !result.error_kind->empty();
    std::string out = "<shell_results>";
    if (failed) {
        // The error form drops stdout, as Stirrup does.
        out += "\n<error_kind>";
        out += *result.error_kind;
        out += "</error_kind>\n<details>";
        out += detail::text::truncate_msg(result.stderr_text, max_chars, result.stderr_dropped_chars);
        out += "</details>";
        if (result.advice && !result.advice->empty()) {
            out += "\n<advice>";
            out += *result.advice;
            out += "</advice>";
        }
    } else {
        out += "\n<exit_code>";
        out += std::to_string(result.exit_code);
        out += "</exit_code>\n<stdout>";
        out += detail::text::truncate_msg(result.stdout_text, max_chars, result.stdout_dropped_chars);
        out += "</stdout>\n<stderr>";
        out += detail::text::truncate_msg(result.stderr_text, max_chars, result.stderr_dropped_chars);
        out += "</stderr>";
    }
    out += "\n</shell_results>";
    return out;
}

} // namespace stirrup::detail
