// Stirrup's allowlist (_prepare_command) at the prepare() level: which
// commands are refused, for which reason, and which argv an accepted command
// runs. Cases follow tests/test_local_execution.py in Stirrup; the expected
// argv and reasons were computed with CPython 3.11 (shlex + re).

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/allowlist.hpp"

using stirrup::Allowlist;
using stirrup::CommandRejection;
using stirrup::PreparedCommand;

namespace {

using V = std::vector<std::string>;
using P = std::vector<std::string>;

struct PrepareCase {
    P patterns;
    std::string cmd;
    std::optional<V> argv; // accepted: the argv to run
    std::string reason;    // rejected: the reason
};

const std::vector<PrepareCase> kRejectsShellFeatures = {
    {P{".*"}, "MODE=test echo allowed", std::nullopt, "shell_assignment"},
    {P{".*"}, "MODE+=test echo allowed", std::nullopt, "shell_assignment"},
    {P{"^echo"}, "echo=x touch forbidden.txt", std::nullopt, "shell_assignment"},
    {P{"^echo"}, "echo[0]=x touch forbidden.txt", std::nullopt, "shell_assignment"},
    {P{"^echo"}, "echo allowed && printf bypassed", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed || printf bypassed", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed | cat", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed > output.txt", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed < input.txt", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed & printf bypassed", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed >output.txt", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed;printf bypassed", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo '|' --format='%h;%s';printf bypassed", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed 2>&1", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed\nprintf bypassed", std::nullopt, "shell_syntax"},
    {P{"^printf"}, "printf 'a\nb'\nls", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo allowed # note > output.txt", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo $(printf bypassed)", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo `printf bypassed`", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo <(printf bypassed)", std::nullopt, "shell_syntax"},
    {P{".*"}, "(touch forbidden.txt)", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo $'it\\'s; literal'", std::nullopt, "shell_syntax"},
    {P{"echo.*"}, "bash -c 'echo allowed; touch forbidden.txt'", std::nullopt, "no_pattern_match"},
    {P{"^echo"}, "time echo allowed", std::nullopt, "no_pattern_match"},
    {P{"^echo"}, "ec\\\nho allowed", std::nullopt, "no_pattern_match"},
};
const std::vector<PrepareCase> kAllowsLiteralShellCharacters = {
    {P{"^echo", "^find"}, "echo 'a;b && c || d | e > f < g\n$() `x`'", V{"echo", "a;b && c || d | e > f < g\n$() `x`"},
     ""},
    {P{"^echo", "^find"}, "echo \"it's ; literal\"", V{"echo", "it's ; literal"}, ""},
    {P{"^echo", "^find"}, "echo a\\;b \\$VALUE \\${VALUE}", V{"echo", "a;b", "$VALUE", "${VALUE}"}, ""},
    {P{"^echo", "^find"}, "find . -exec echo {} ';'", V{"find", ".", "-exec", "echo", "{}", ";"}, ""},
    {P{"^echo", "^find"}, "echo --format='%h;%s'", V{"echo", "--format=%h;%s"}, ""},
    {P{"^echo", "^find"}, "echo '|' --format='%h;%s'", V{"echo", "|", "--format=%h;%s"}, ""},
    {P{"^echo", "^find"}, "echo \"$HOME\"", V{"echo", "$HOME"}, ""},
    {P{"^echo", "^find"}, "echo $HOME", V{"echo", "$HOME"}, ""},
    {P{"^echo", "^find"}, "echo ~/x $HOME/x ${HOME}/x", V{"echo", "~/x", "$HOME/x", "${HOME}/x"}, ""},
    {P{"^echo", "^find"}, "echo *", V{"echo", "*"}, ""},
    {P{"^echo", "^find"}, "echo 'line1\nline2'", V{"echo", "line1\nline2"}, ""},
};
const std::vector<PrepareCase> kOtherPrepareCases = {
    {P{"^echo", "^ls"}, "echo 'allowed'", V{"echo", "allowed"}, ""},
    {P{"^echo", "^ls"}, "cat /etc/passwd", std::nullopt, "no_pattern_match"},
    {P{"^echo", "^ls"}, "ls -la", V{"ls", "-la"}, ""},
    {P{"^echo"}, "echo allowed; printf bypassed > forbidden.txt", std::nullopt, "shell_syntax"},
    {P{".*"}, "coproc touch forbidden.txt", V{"coproc", "touch", "forbidden.txt"}, ""},
    {P{".*"}, "! touch forbidden.txt", V{"!", "touch", "forbidden.txt"}, ""},
    {P{".*"}, "echo[1 + 1]=x touch forbidden.txt", V{"echo[1", "+", "1]=x", "touch", "forbidden.txt"}, ""},
    {P{"^echo"}, "echo 'a; touch forbidden.txt", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo \"a; touch forbidden.txt", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo $'a; touch forbidden.txt", std::nullopt, "shell_syntax"},
    {P{"echo"}, "xecho allowed", std::nullopt, "no_pattern_match"},
    {P{"echo"}, "echo allowed", V{"echo", "allowed"}, ""},
    {P{"^cat"}, "cat /etc/passwd", V{"cat", "/etc/passwd"}, ""},
    {P{"^cat"}, "cat /et''c/passwd", V{"cat", "/etc/passwd"}, ""},
    {P{"^cat"}, "cat \"/etc\"/passwd", V{"cat", "/etc/passwd"}, ""},
    {P{"^echo\\b"}, "ec'ho' allowed", V{"echo", "allowed"}, ""},
    {P{"^echo\\b"}, "echo''x allowed", std::nullopt, "no_pattern_match"},
    {P{"^echo"}, "echo \"${VALUES[STIRRUP_TEST_INDEX]}\"", V{"echo", "${VALUES[STIRRUP_TEST_INDEX]}"}, ""},
    {P{".*"}, "", std::nullopt, "empty_command"},
    {P{".*"}, "   ", std::nullopt, "empty_command"},
    {P{".*"}, "\n", std::nullopt, "empty_command"},
    {P{".*"}, "''", V{""}, ""},
    {P{".*"}, ";", std::nullopt, "shell_syntax"},
    {P{".*"}, "a=b", std::nullopt, "shell_assignment"},
    {P{".*"}, "'a=b' x", std::nullopt, "shell_assignment"},
    {P{".*"}, "echo a=b", V{"echo", "a=b"}, ""},
    {P{"^x"}, "MODE=1 x", std::nullopt, "shell_assignment"},
    {P{"^x"}, "x 'unterminated", std::nullopt, "shell_syntax"},
    {P{"^x"}, "x \\", std::nullopt, "shell_syntax"},
    {P{"^x"}, "x;", std::nullopt, "shell_syntax"},
    {P{".*"}, "=x && y", std::nullopt, "shell_syntax"},
    {P{"^echo"}, "echo a\\\nb", V{"echo", "a\nb"}, ""},
    {P{"^echo"}, "echo 'a\\'", V{"echo", "a\\"}, ""},
    {P{"^echo"}, "echo \"a\\\"; b\"", V{"echo", "a\"; b"}, ""},
    {P{"^echo"}, "echo a\\|b", V{"echo", "a|b"}, ""},
    {P{"^echo"}, "echo a\\>b", V{"echo", "a>b"}, ""},
    {P{"^echo"}, "echo 'a'\"b\"c\\&d", V{"echo", "abc&d"}, ""},
    {P{"^echo"}, "echo \t x\r", V{"echo", "x"}, ""},
    {P{"^echo 'a b'$"}, "echo a\\ b", V{"echo", "a b"}, ""},
    {P{"^echo 'a b'$"}, "echo 'a b'", V{"echo", "a b"}, ""},
    {P{"^echo a b$"}, "echo 'a b'", std::nullopt, "no_pattern_match"},
    {P{"^rm -rf /"}, "rm -rf /", V{"rm", "-rf", "/"}, ""},
    {P{"^ls$"}, "ls", V{"ls"}, ""},
    {P{"^ls$"}, "ls -l", std::nullopt, "no_pattern_match"},
    {P{"^git (status|diff)\\b"}, "git status -s", V{"git", "status", "-s"}, ""},
    {P{"^git (status|diff)\\b"}, "git push", std::nullopt, "no_pattern_match"},
    {P{"^git (status|diff)\\b"}, "git statusx", std::nullopt, "no_pattern_match"},
    {P{"^echo"}, "echo é", V{"echo", "é"}, ""},
    {P{"^echo 'é'$"}, "echo é", V{"echo", "é"}, ""},
    {P{"^echo"}, "écho x", std::nullopt, "no_pattern_match"},
};

const std::vector<PrepareCase> kPythonRegexSemantics = {
    {P{"(?m)^echo 'a$"}, "echo 'a\nb'", V{"echo", "a\nb"}, ""},
    {P{"^echo 'a$"}, "echo 'a\nb'", std::nullopt, "no_pattern_match"},
    {P{"^echo '.b'$"}, "echo \"\rb\"", V{"echo", "\rb"}, ""},
    {P{"^echo '.b'$"}, "echo \"\nb\"", std::nullopt, "no_pattern_match"},
    {P{"(?s)^echo '.b'$"}, "echo \"\nb\"", V{"echo", "\nb"}, ""},
    {P{"^echo 'a(?s:.)b'$"}, "echo \"a\nb\"", V{"echo", "a\nb"}, ""},
    {P{"^echo 'a.b'$"}, "echo \"a\nb\"", std::nullopt, "no_pattern_match"},
    {P{"(?s)^echo 'a(?-s:.)b'$"}, "echo \"a\nb\"", std::nullopt, "no_pattern_match"},
    {P{"^echo '\\x0c'$"}, "echo \"\014\"", V{"echo", "\014"}, ""},
    {P{"^echo '.'$"}, "echo \"\014\"", V{"echo", "\014"}, ""},
    {P{"^echo '.'$"}, "echo \"\u2028\"", V{"echo", "\u2028"}, ""},
    {P{"^ls\\Z"}, "ls", V{"ls"}, ""},
    {P{"^ls\\Z"}, "ls -l", std::nullopt, "no_pattern_match"},
    {P{"(?P<cmd>echo) (?P=cmd)$"}, "echo echo", V{"echo", "echo"}, ""},
    {P{"(?P<cmd>echo) (?P=cmd)$"}, "echo echoes", std::nullopt, "no_pattern_match"},
    {P{"^echo a{,2}$"}, "echo aa", V{"echo", "aa"}, ""},
    {P{"^echo a{,2}$"}, "echo aaa", std::nullopt, "no_pattern_match"},
    {P{"^echo a{,}$"}, "echo aaaa", V{"echo", "aaaa"}, ""},
    {P{"^echo a{2}$"}, "echo aa", V{"echo", "aa"}, ""},
    {P{"^echo '{}'$"}, "echo {}", V{"echo", "{}"}, ""},
    {P{"^echo 'x{a}'$"}, "echo x{a}", V{"echo", "x{a}"}, ""},
    {P{"^echo 'a{1'$"}, "echo a{1", V{"echo", "a{1"}, ""},
    {P{"^echo '[[]'$"}, "echo [", V{"echo", "["}, ""},
    {P{"^echo '[[:alpha:]]'$"}, "echo a]", V{"echo", "a]"}, ""},
    {P{"^echo '[[:alpha:]]'$"}, "echo b", std::nullopt, "no_pattern_match"},
    {P{"^echo '[]a]'$"}, "echo ]", V{"echo", "]"}, ""},
    {P{"^echo '[^]a]'$"}, "echo ]", std::nullopt, "no_pattern_match"},
    {P{"^echo '[$]x'$"}, "echo '$x'", V{"echo", "$x"}, ""},
    {P{"^echo '[.]'$"}, "echo x", std::nullopt, "no_pattern_match"},
    {P{"(?i)^ECHO"}, "echo x", V{"echo", "x"}, ""},
    {P{"(?i:E)cho"}, "echo x", V{"echo", "x"}, ""},
    {P{"(?i)^ÉCHO"}, "écho x", std::nullopt, "no_pattern_match"},
    {P{"^echo 'caf\\b"}, "echo café", std::nullopt, "no_pattern_match"},
    {P{"^echo 'caf\\B"}, "echo café", V{"echo", "café"}, ""},
    {P{"^echo '\\w+'$"}, "echo été", V{"echo", "été"}, ""},
    {P{"^echo '\\W'$"}, "echo é", std::nullopt, "no_pattern_match"},
    {P{"(?a)^echo"}, "echo x", V{"echo", "x"}, ""},
    {P{"^echo '\\u00e9'$"}, "echo é", V{"echo", "é"}, ""},
    {P{"^echo '\\U0001F389'$"}, "echo 🎉", V{"echo", "🎉"}, ""},
    {P{"^echo(?# c(x) x"}, "echo x", V{"echo", "x"}, ""},
    {P{"(?i)^echo 'É'$"}, "echo é", V{"echo", "é"}, ""},
    {P{"(?x) ^echo \\s x  # comment"}, "echo x", V{"echo", "x"}, ""},
    {P{"x|^echo"}, "echo", V{"echo"}, ""},
    {P{"(^echo)"}, "echo", V{"echo"}, ""},
    {P{"^(?:ls|echo)\\b"}, "echo x", V{"echo", "x"}, ""},
    {P{"^echo \\d$"}, "echo 7", V{"echo", "7"}, ""},
    {P{"^echo \\$HOME$"}, "echo '$HOME'", std::nullopt, "no_pattern_match"},
    {P{"^echo '\\$HOME'$"}, "echo '$HOME'", V{"echo", "$HOME"}, ""},
    {P{"^echo '\\.'$"}, "echo .", std::nullopt, "no_pattern_match"},
    {P{"^echo \\.$"}, "echo .", V{"echo", "."}, ""},
    {P{"^echo \\.$"}, "echo x", std::nullopt, "no_pattern_match"},
    {P{"^echo\\s"}, "echo x", V{"echo", "x"}, ""},
    {P{"^echo \\S+$"}, "echo 'a\u00a0b'", std::nullopt, "no_pattern_match"},
    {P{"^echo '\\S+'$"}, "echo 'a\u00a0b'", std::nullopt, "no_pattern_match"},
    {P{"^echo 'a\\sb'$"}, "echo 'a\u00a0b'", V{"echo", "a\u00a0b"}, ""},
    {P{"^echo 'a[\\s]b'$"}, "echo 'a\u00a0b'", V{"echo", "a\u00a0b"}, ""},
    {P{"^echo 'a\\sb'$"}, "echo 'a\034b'", V{"echo", "a\034b"}, ""},
    {P{"(?a)^echo 'a\\sb'$"}, "echo 'a\u00a0b'", std::nullopt, "no_pattern_match"},
    {P{"(?a)^echo 'caf\\b"}, "echo café", V{"echo", "café"}, ""},
    {P{"(?a)^echo 'caf\\B"}, "echo café", std::nullopt, "no_pattern_match"},
    {P{"(?a)^echo '\\w+'$"}, "echo été", std::nullopt, "no_pattern_match"},
    {P{"(?a)^echo '\\W+'$"}, "echo éé", V{"echo", "éé"}, ""},
    {P{"(?a)^echo '[\\w]+'$"}, "echo été", std::nullopt, "no_pattern_match"},
    {P{"(?a)^echo \\d$"}, "echo 7", V{"echo", "7"}, ""},
    {P{"(?a)^echo '\\D'$"}, "echo é", V{"echo", "é"}, ""},
    {P{"(?a)^echo\\b"}, "echo x", V{"echo", "x"}, ""},
    {P{"(?a)^echo\\B"}, "echox", V{"echox"}, ""},
    {P{"^echo '[\\b]'$"}, "echo '\010'", V{"echo", "\010"}, ""},
    {P{"(?u)^echo '\\w'$"}, "echo é", V{"echo", "é"}, ""},
    {P{"^echo '\\\\'$"}, "echo '\\'", V{"echo", "\\"}, ""},
    {P{""}, "anything goes", V{"anything", "goes"}, ""},
    {P{"^$"}, "x", std::nullopt, "no_pattern_match"},
};

void check_case(const PrepareCase& c)
{
    CAPTURE(c.cmd);
    CAPTURE(c.patterns.front());
    const Allowlist allowlist(c.patterns);
    const auto result = allowlist.prepare(c.cmd);
    if (c.argv) {
        REQUIRE(std::holds_alternative<PreparedCommand>(result));
        const auto& prepared = std::get<PreparedCommand>(result);
        CHECK(prepared.shell == c.cmd);
        REQUIRE(prepared.argv.has_value());
        CHECK(*prepared.argv == *c.argv);
    } else {
        REQUIRE(std::holds_alternative<CommandRejection>(result));
        const auto& rejection = std::get<CommandRejection>(result);
        CHECK(rejection.reason == c.reason);
        const auto r = stirrup::rejected_command_result(c.cmd, rejection);
        CHECK(r.exit_code == 1);
        CHECK(r.stdout_text.empty());
        CHECK(r.stderr_text == "Command not allowed: '" + c.cmd + "'");
        CHECK(r.error_kind == std::optional<std::string>("command_not_allowed"));
        CHECK(r.advice == std::optional<std::string>(std::string(stirrup::rejection_advice(c.reason))));
    }
}

std::string rejection_reason(const Allowlist& allowlist, std::string_view cmd)
{
    const auto result = allowlist.prepare(cmd);
    const auto* rejection = std::get_if<CommandRejection>(&result);
    return rejection ? rejection->reason : std::string("accepted");
}

} // namespace

TEST_CASE("without an allowlist every command goes to the shell unchanged")
{
    const Allowlist none;
    const Allowlist empty(std::vector<std::string>{});
    for (const Allowlist* a : {&none, &empty}) {
        CHECK_FALSE(a->enabled());
        for (std::string_view cmd : {"echo hi; rm -rf x", "echo 'unterminated", "", "MODE=1 make"}) {
            CAPTURE(cmd);
            const auto result = a->prepare(cmd);
            REQUIRE(std::holds_alternative<PreparedCommand>(result));
            CHECK(std::get<PreparedCommand>(result).shell == cmd);
            CHECK_FALSE(std::get<PreparedCommand>(result).argv.has_value());
        }
    }
}

TEST_CASE("test_run_command_allowlist and its basic cases")
{
    const Allowlist allowlist(P{"^echo", "^ls"});
    CHECK(allowlist.enabled());
    CHECK(allowlist.patterns() == P{"^echo", "^ls"});
    for (const auto& c : kOtherPrepareCases)
        check_case(c);
}

TEST_CASE("test_run_command_allowlist_rejects_shell_features (25 params)")
{
    REQUIRE(kRejectsShellFeatures.size() == 25);
    for (const auto& c : kRejectsShellFeatures)
        check_case(c);
}

TEST_CASE("test_run_command_allowlist_allows_literal_shell_characters (11 params)")
{
    REQUIRE(kAllowsLiteralShellCharacters.size() == 11);
    for (const auto& c : kAllowsLiteralShellCharacters)
        check_case(c);
}

TEST_CASE("test_run_command_allowlist_does_not_execute_chained_command")
{
    const Allowlist allowlist(P{"^echo"});
    CHECK(rejection_reason(allowlist, "echo allowed; printf bypassed > forbidden.txt") == "shell_syntax");
}

TEST_CASE("test_run_command_allowlist_rejects_unterminated_quotes")
{
    const Allowlist allowlist(P{"^echo"});
    for (std::string_view cmd :
         {"echo 'a; touch forbidden.txt", "echo \"a; touch forbidden.txt", "echo $'a; touch forbidden.txt"}) {
        CAPTURE(cmd);
        CHECK(rejection_reason(allowlist, cmd) == "shell_syntax");
    }
}

TEST_CASE("test_run_command_allowlist_anchors_patterns_at_start")
{
    const Allowlist allowlist(P{"echo"});
    CHECK(rejection_reason(allowlist, "xecho allowed") == "no_pattern_match");
    CHECK(rejection_reason(allowlist, "echo allowed") == "accepted");
    // Anchored at the start only, like re.match: the end is open.
    CHECK(rejection_reason(allowlist, "echoes allowed") == "accepted");
}

TEST_CASE("test_run_command_allowlist_rejection_reason_explains_shell_syntax")
{
    const Allowlist allowlist(P{".*"});
    const auto syntax = allowlist.prepare("echo allowed && printf bypassed");
    const auto assignment = allowlist.prepare("MODE=test echo allowed");
    REQUIRE(std::holds_alternative<CommandRejection>(syntax));
    REQUIRE(std::holds_alternative<CommandRejection>(assignment));
    const auto syntax_result =
        stirrup::rejected_command_result("echo allowed && printf bypassed", std::get<CommandRejection>(syntax));
    const auto assignment_result =
        stirrup::rejected_command_result("MODE=test echo allowed", std::get<CommandRejection>(assignment));
    REQUIRE(syntax_result.advice.has_value());
    REQUIRE(assignment_result.advice.has_value());
    CHECK(syntax_result.advice->find("without a shell") != std::string::npos);
    CHECK(assignment_result.advice->find("assignment") != std::string::npos);
}

TEST_CASE("test_run_command_allowlist_matches_parsed_command_word")
{
    const Allowlist allowlist(P{R"(^echo\b)"});
    const auto quoted = allowlist.prepare("ec'ho' allowed");
    REQUIRE(std::holds_alternative<PreparedCommand>(quoted));
    CHECK(std::get<PreparedCommand>(quoted).argv == std::optional<V>(V{"echo", "allowed"}));
    CHECK(rejection_reason(allowlist, "echo''x allowed") == "no_pattern_match");
}

TEST_CASE("test_run_command_allowlist_shell_only_words_fail_without_side_effects: parsed, not run by a shell")
{
    // The allowlist lets these through (the pattern is .*); what keeps them
    // harmless is that argv[0] is exec'd directly and no such binary exists.
    const Allowlist allowlist(P{".*"});
    for (std::string_view cmd :
         {"coproc touch forbidden.txt", "! touch forbidden.txt", "echo[1 + 1]=x touch forbidden.txt"}) {
        CAPTURE(cmd);
        CHECK(rejection_reason(allowlist, cmd) == "accepted");
    }
}

TEST_CASE("checks run in Stirrup's order")
{
    const Allowlist allowlist(P{"^never"});
    // Parse error beats everything, including an empty-looking command.
    CHECK(rejection_reason(allowlist, "'") == "shell_syntax");
    // Empty beats the operator scan: a lone newline is an empty command.
    CHECK(rejection_reason(allowlist, "\n") == "empty_command");
    // The operator scan beats the assignment check.
    CHECK(rejection_reason(allowlist, "A=1 x | y") == "shell_syntax");
    // The assignment check beats pattern matching.
    CHECK(rejection_reason(allowlist, "A=1 never") == "shell_assignment");
    CHECK(rejection_reason(allowlist, "x") == "no_pattern_match");
}

TEST_CASE("patterns keep Python re semantics where Boost's Perl dialect differs")
{
    for (const auto& c : kPythonRegexSemantics)
        check_case(c);
}

TEST_CASE("runaway backtracking counts as no match instead of throwing")
{
    // Python would grind on (a*)*b; Boost gives up, and the pattern then
    // simply does not allow the command.
    const std::string cmd = "echo " + std::string(40, 'a');
    CHECK(rejection_reason(Allowlist(P{"^echo (a*)*b"}), cmd) == "no_pattern_match");
    CHECK(rejection_reason(Allowlist(P{"^echo (a*)*b", "^echo"}), cmd) == "accepted");
}

TEST_CASE("an invalid pattern is a ConfigError naming the pattern")
{
    // Each is rejected by Python's re.compile as well.
    for (const std::string bad : {"(", "[a", "\\", "(?P<n>a", "*a", "a{2,1}", "(?P=nope)", "a)"}) {
        CAPTURE(bad);
        try {
            Allowlist allowlist(P{"^ok", bad});
            FAIL("no exception");
        } catch (const stirrup::ConfigError& e) {
            CHECK(std::string(e.what()).find("'" + bad + "'") != std::string::npos);
        }
    }
}

TEST_CASE("rejection_advice is Stirrup's text")
{
    CHECK(stirrup::rejection_advice("empty_command") == "The command is empty.");
    CHECK(stirrup::rejection_advice("no_pattern_match") ==
          "The command does not match any allowlist pattern. Patterns are matched against the parsed "
          "command, so quoting does not affect matching.");
    CHECK(stirrup::rejection_advice("shell_syntax") ==
          "Allowlisted commands run without a shell. Shell syntax such as ;, &&, |, redirects, $(...), "
          "backticks, or multiple lines is not supported. Run one command with literal arguments, and quote "
          "any argument that is itself an operator character (e.g. -exec ... ';').");
    CHECK(stirrup::rejection_advice("shell_assignment") ==
          "Assignment prefixes such as NAME=value are not supported. Run the command without the leading "
          "assignment.");
    CHECK(stirrup::rejection_advice("something_else").empty());
}

TEST_CASE("rejected_command_result quotes the raw command verbatim")
{
    const auto r = stirrup::rejected_command_result("echo 'it''s' && x", CommandRejection{"shell_syntax"});
    CHECK(r.exit_code == 1);
    CHECK(r.stdout_text == "");
    CHECK(r.stderr_text == "Command not allowed: 'echo 'it''s' && x'");
    CHECK(r.error_kind == std::optional<std::string>("command_not_allowed"));
    CHECK(r.advice == std::optional<std::string>(std::string(stirrup::rejection_advice("shell_syntax"))));
    CHECK(r.stdout_dropped_chars == 0);
    CHECK(r.stderr_dropped_chars == 0);
}

TEST_CASE("copies and moves keep the compiled patterns")
{
    Allowlist original(P{"^echo"});
    Allowlist copy = original;
    CHECK(rejection_reason(copy, "echo x") == "accepted");
    CHECK(rejection_reason(copy, "ls") == "no_pattern_match");
    Allowlist moved = std::move(original);
    CHECK(moved.enabled());
    CHECK(rejection_reason(moved, "echo x") == "accepted");
    Allowlist assigned;
    assigned = copy;
    CHECK(rejection_reason(assigned, "ls") == "no_pattern_match");
}
