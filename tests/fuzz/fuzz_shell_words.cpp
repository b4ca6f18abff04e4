// libFuzzer target for shell words and the allowlist. Besides "no crash, no
// UB", it checks the properties the allowlist's safety rests on:
//   - split(join(argv)) == argv: the canonical form the patterns see parses
//     back to exactly the argv that runs;
//   - split(quote(s)) == {s} for any bytes;
//   - join() never yields unquoted shell syntax;
//   - an accepted command has a non-empty argv equal to split(cmd), no
//     unquoted operator, no '=' in argv[0], and re-preparing its canonical
//     form accepts the same argv.
// The first byte picks the mode; in pattern mode the input up to the first
// newline is compiled as a pattern, which must either work or throw ConfigError.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/allowlist.hpp"
#include "stirrup/pycompat/detail/shlex.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::fuzz::require;

namespace sh = stirrup::detail::shell;

bool known_reason(std::string_view r)
{
    return r == "empty_command" || r == "no_pattern_match" || r == "shell_syntax" || r == "shell_assignment";
}

void check_words(std::string_view s)
{
    std::string error;
    const auto argv = sh::split(s, &error);
    if (!argv) {
        require(error == "No closing quotation" || error == "No escaped character");
    } else {
        const std::string joined = sh::join(*argv);
        require(sh::split(joined) == argv);
        require(!sh::has_unquoted_shell_syntax(joined));
    }
    (void)sh::has_unquoted_shell_syntax(s);

    const std::string quoted = sh::quote(s);
    const auto back = sh::split(quoted);
    require(back && back->size() == 1 && back->front() == s);
    require(!sh::has_unquoted_shell_syntax(quoted));
}

void check_prepare(const stirrup::Allowlist& allowlist, std::string_view cmd)
{
    const auto result = allowlist.prepare(cmd);
    if (const auto* rejection = std::get_if<stirrup::CommandRejection>(&result)) {
        require(known_reason(rejection->reason));
        require(!stirrup::rejection_advice(rejection->reason).empty());
        const auto r = stirrup::rejected_command_result(cmd, *rejection);
        require(r.exit_code == 1 && r.error_kind == "command_not_allowed");
        return;
    }
    const auto& prepared = std::get<stirrup::PreparedCommand>(result);
    require(prepared.shell == cmd);
    if (!allowlist.enabled()) {
        require(!prepared.argv);
        return;
    }
    require(prepared.argv && !prepared.argv->empty());
    require(sh::split(cmd) == prepared.argv);
    require(!sh::has_unquoted_shell_syntax(cmd));
    require(prepared.argv->front().find('=') == std::string::npos);

    const auto again = allowlist.prepare(sh::join(*prepared.argv));
    const auto* same = std::get_if<stirrup::PreparedCommand>(&again);
    require(same != nullptr && same->argv == prepared.argv);
}

const stirrup::Allowlist& fixed_allowlist()
{
    static const stirrup::Allowlist allowlist(std::vector<std::string>{
        R"(^echo\b)", R"(^ls( |$))", R"(^find \. -name '[^']*'$)", R"((?m)^x$)", R"(^git (status|diff)\b.*$)"});
    return allowlist;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::string_view all = stirrup::fuzz::as_text(data, size);
    const char mode = all.front();
    const std::string_view rest = all.substr(1);

    if ((mode & 3) == 0) {
        // Pattern mode: "<pattern>\n<command>".
        const auto nl = rest.find('\n');
        const std::string pattern(rest.substr(0, nl));
        const std::string_view cmd = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        try {
            const stirrup::Allowlist allowlist(std::vector<std::string>{pattern});
            require(allowlist.enabled());
            check_prepare(allowlist, cmd);
        } catch (const stirrup::ConfigError&) {
        }
        return 0;
    }

    check_words(rest);
    check_prepare(fixed_allowlist(), rest);
    check_prepare(stirrup::Allowlist{}, rest);
    return 0;
}
