#pragma once
// POSIX shell words, with the semantics of Python's shlex (posix=True,
// whitespace_split=True, no comments), which Stirrup's allowlist uses. Pure
// functions, no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stirrup::detail::shell {

/// shlex.split(s): returns nullopt (and sets *error to shlex's message, e.g.
/// "No closing quotation" / "No escaped character") where shlex raises ValueError.
std::optional<std::vector<std::string>> split(std::string_view s, std::string* error = nullptr);

/// shlex.quote(arg): bare if it matches [\w@%+=:,./-]+ (ASCII), '' when empty,
/// otherwise single-quoted with ' written as '"'"'.
std::string quote(std::string_view arg);

/// shlex.join(argv): the quoted words joined with single spaces.
std::string join(const std::vector<std::string>& argv);

/// Stirrup's quote/escape-aware scan: true if an unquoted ; < > | & ( ) `
/// or newline occurs anywhere in the raw command.
bool has_unquoted_shell_syntax(std::string_view raw);

} // namespace stirrup::detail::shell
