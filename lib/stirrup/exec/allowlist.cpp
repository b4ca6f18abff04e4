#include "stirrup/exec/allowlist.hpp"

#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/pycompat/detail/python_regex.hpp"
#include "stirrup/pycompat/detail/shlex.hpp"

namespace stirrup {
namespace {

// The model reads these verbatim; they are Stirrup's strings, from the version
// whose scan lets a quoted operator (find -exec ... ';') through.
constexpr std::string_view kAdviceEmpty = "The command is empty.";
constexpr std::string_view kAdviceNoMatch =
    "The command does not match any allowlist pattern. Patterns are matched against the parsed "
    "command, so quoting does not affect matching.";
constexpr std::string_view kAdviceShellSyntax =
    "Allowlisted commands run without a shell. Shell syntax such as ;, &&, |, redirects, $(...), "
    "backticks, or multiple lines is not supported. Run one command with literal arguments, and "
    "quote any argument that is itself an operator character (e.g. -exec ... ';').";
constexpr std::string_view kAdviceAssignment =
    "Assignment prefixes such as NAME=value are not supported. Run the command without the leading "
    "assignment.";

} // namespace

struct Allowlist::Compiled {
    std::vector<detail::PythonRegex> regexes;
};

Allowlist::Allowlist(const std::vector<std::string>& patterns) : patterns_(patterns)
{
    if (patterns_.empty())
        return;
    auto compiled = std::make_shared<Compiled>();
    for (const auto& pattern : patterns_) {
        try {
            compiled->regexes.emplace_back(pattern);
        } catch (const std::exception& e) {
            throw ConfigError("invalid allowlist pattern '" + pattern + "': " + e.what());
        }
    }
    compiled_ = std::move(compiled);
}

Allowlist::~Allowlist() = default;
Allowlist::Allowlist(Allowlist&&) noexcept = default;
Allowlist& Allowlist::operator=(Allowlist&&) noexcept = default;
// Compiled regexes are immutable after construction, so copies share them.
Allowlist::Allowlist(const Allowlist&) = default;
Allowlist& Allowlist::operator=(const Allowlist&) = default;

bool Allowlist::enabled() const noexcept
{
    return compiled_ != nullptr;
}

std::variant<PreparedCommand, CommandRejection> Allowlist::prepare(std::string_view cmd) const
{
    if (!enabled())
        return PreparedCommand{std::string(cmd), std::nullopt};

    // Stirrup's order of checks decides which advice the model gets.
    auto argv = detail::shell::split(cmd);
    if (!argv)
        return CommandRejection{"shell_syntax"};
    if (argv->empty())
        return CommandRejection{"empty_command"};
    if (detail::shell::has_unquoted_shell_syntax(cmd))
        return CommandRejection{"shell_syntax"};
    if (argv->front().find('=') != std::string::npos)
        return CommandRejection{"shell_assignment"};

    // Match the form that will actually run, so quoting cannot make a pattern
    // see a different command than the one executed.
    const std::string canonical = detail::shell::join(*argv);
    for (const auto& re : compiled_->regexes)
        if (re.match(canonical))
            return PreparedCommand{std::string(cmd), std::move(argv)};
    return CommandRejection{"no_pattern_match"};
}

std::string_view rejection_advice(std::string_view reason) noexcept
{
    if (reason == "empty_command")
        return kAdviceEmpty;
    if (reason == "no_pattern_match")
        return kAdviceNoMatch;
    if (reason == "shell_syntax")
        return kAdviceShellSyntax;
    if (reason == "shell_assignment")
        return kAdviceAssignment;
    return {};
}

CommandResult rejected_command_result(std::string_view cmd, const CommandRejection& rejection)
{
    CommandResult result;
    result.exit_code = 1;
    result.stderr_text = "Command not allowed: '" + std::string(cmd) + "'";
    result.error_kind = "command_not_allowed";
    result.advice = std::string(rejection_advice(rejection.reason));
    return result;
}

std::optional<CommandResult> nul_byte_result(std::string_view cmd)
{
    const auto at = cmd.find('\0');
    if (at == std::string_view::npos)
        return std::nullopt;
    CommandResult result;
    result.exit_code = 1;
    result.stderr_text = "embedded null byte: the command holds a NUL byte (\\0) at offset " + std::to_string(at) +
                         ", and a command cannot contain one";
    result.error_kind = "invalid_argument";
    // Stirrup's advice for E2B's invalid-argument errors.
    result.advice = "Avoid NUL/control bytes and nested 'bash -lc'; use a quoted heredoc or base64 write.";
    return result;
}

} // namespace stirrup
