#pragma once
// Stirrup's command allowlist: patterns matched (anchored at the start, like
// Python's re.match) against the shell-parsed, re-joined argv. An allowed
// command runs WITHOUT a shell, so quoting cannot smuggle anything past it.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stirrup/exec/command_result.hpp"

namespace stirrup {

/// Why the allowlist refused a command: "empty_command", "no_pattern_match",
/// "shell_syntax" or "shell_assignment".
struct CommandRejection {
    std::string reason;
};

/// A command that may run. Without an allowlist `argv` is empty and `shell`
/// holds the raw command for `bash -c`; with one, `argv` is the parsed argv to
/// execute directly.
struct PreparedCommand {
    std::string shell;
    std::optional<std::vector<std::string>> argv;
};

class Allowlist {
public:
    Allowlist() = default;
    /// Patterns use Perl/Python regex syntax. Throws ConfigError on an invalid pattern.
    explicit Allowlist(const std::vector<std::string>& patterns);
    ~Allowlist();
    Allowlist(Allowlist&&) noexcept;
    Allowlist& operator=(Allowlist&&) noexcept;
    Allowlist(const Allowlist&);
    Allowlist& operator=(const Allowlist&);

    bool enabled() const noexcept;
    const std::vector<std::string>& patterns() const noexcept { return patterns_; }

    std::variant<PreparedCommand, CommandRejection> prepare(std::string_view cmd) const;

private:
    struct Compiled;
    std::vector<std::string> patterns_;
    std::shared_ptr<const Compiled> compiled_;
};

/// Stirrup's advice text for a rejection reason.
std::string_view rejection_advice(std::string_view reason) noexcept;

/// The CommandResult Stirrup returns for a rejected command:
/// exit 1, stderr "Command not allowed: '{cmd}'", error_kind command_not_allowed.
CommandResult rejected_command_result(std::string_view cmd, const CommandRejection& rejection);

/// A command holding a NUL byte cannot be passed to exec (C strings end at
/// the first NUL, so "echo a\0; id" would silently run "echo a"): the
/// result the model gets instead (Python raises "embedded null byte").
/// nullopt when there is none.
std::optional<CommandResult> nul_byte_result(std::string_view cmd);

} // namespace stirrup
