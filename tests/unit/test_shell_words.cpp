// detail::shell::split / quote / join must agree with Python's shlex exactly: the
// allowlist matches patterns against shlex.join(shlex.split(cmd)), so any
// divergence changes which commands Stirrup's patterns let through. Expected
// values were produced by CPython 3.11's shlex and pasted in as literals.

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stirrup/pycompat/detail/shlex.hpp"

namespace sh = stirrup::detail::shell;

namespace {

using V = std::vector<std::string>;

struct SplitCase {
    std::string input;
    std::optional<V> argv; // nullopt: shlex raises ValueError
    std::string error;
};

// Generated from Python 3.11 shlex.split; each case was checked against CPython.
const std::vector<SplitCase> kSplitCases = {
    {"", V{}, ""},
    {"   ", V{}, ""},
    {" \t\r\n ", V{}, ""},
    {"a", V{"a"}, ""},
    {"a b  c", V{"a", "b", "c"}, ""},
    {" a\tb\r\nc ", V{"a", "b", "c"}, ""},
    {"'a b'", V{"a b"}, ""},
    {"\"a b\"", V{"a b"}, ""},
    {"''", V{""}, ""},
    {"\"\"", V{""}, ""},
    {"a '' b", V{"a", "", "b"}, ""},
    {"'' ''", V{"", ""}, ""},
    {"echo''x", V{"echox"}, ""},
    {"ec'ho' allowed", V{"echo", "allowed"}, ""},
    {"cat /et''c/passwd", V{"cat", "/etc/passwd"}, ""},
    {"cat \"/etc\"/passwd", V{"cat", "/etc/passwd"}, ""},
    {"a\\ b", V{"a b"}, ""},
    {"a\\\nb", V{"a\nb"}, ""},
    {"ec\\\nho allowed", V{"ec\nho", "allowed"}, ""},
    {"\\\n", V{"\n"}, ""},
    {"\"a\\\"b\"", V{"a\"b"}, ""},
    {"\"a\\\\b\"", V{"a\\b"}, ""},
    {"\"a\\$b\"", V{"a\\$b"}, ""},
    {"\"a\\nb\"", V{"a\\nb"}, ""},
    {"\"a\\`b\"", V{"a\\`b"}, ""},
    {"\"a\\\nb\"", V{"a\\\nb"}, ""},
    {"'a\\b'", V{"a\\b"}, ""},
    {"'a\\'", V{"a\\"}, ""},
    {"\\'", V{"'"}, ""},
    {"\\\"", V{"\""}, ""},
    {"\\\\", V{"\\"}, ""},
    {"\\a\\b", V{"ab"}, ""},
    {"$'a\\'b'", std::nullopt, "No closing quotation"},
    {"echo $'it\\'s; literal'", std::nullopt, "No closing quotation"},
    {"echo 'a", std::nullopt, "No closing quotation"},
    {"echo \"a", std::nullopt, "No closing quotation"},
    {"echo \\", std::nullopt, "No escaped character"},
    {"echo $'a; touch forbidden.txt", std::nullopt, "No closing quotation"},
    {"'", std::nullopt, "No closing quotation"},
    {"\"", std::nullopt, "No closing quotation"},
    {"x\\", std::nullopt, "No escaped character"},
    {"''''", V{""}, ""},
    {"\"\"''", V{""}, ""},
    {"a\"\"", V{"a"}, ""},
    {"a'b'\"c\"d", V{"abcd"}, ""},
    {"'\"'", V{"\""}, ""},
    {"\"'\"", V{"'"}, ""},
    {"\"a'b\"", V{"a'b"}, ""},
    {"'a\"b'", V{"a\"b"}, ""},
    {"a#b", V{"a#b"}, ""},
    {"#x y", V{"#x", "y"}, ""},
    {"echo # note", V{"echo", "#", "note"}, ""},
    {"é ü", V{"é", "ü"}, ""},
    {"naïve 'ça va'", V{"naïve", "ça va"}, ""},
    {"日本語 \"テスト\"", V{"日本語", "テスト"}, ""},
    {"a\u00a0b", V{"a\u00a0b"}, ""},
    {"a\u2003b", V{"a\u2003b"}, ""},
    {std::string("a\000b", 3), V{std::string("a\000b", 3)}, ""},
    {"a\013b c\014d", V{"a\013b", "c\014d"}, ""},
    {"emoji 🎉x", V{"emoji", "🎉x"}, ""},
    {"--format='%h;%s'", V{"--format=%h;%s"}, ""},
    {"find . -exec echo {} ';'", V{"find", ".", "-exec", "echo", "{}", ";"}, ""},
    {"echo 'line1\nline2'", V{"echo", "line1\nline2"}, ""},
    {"printf 'a\nb'\nls", V{"printf", "a\nb", "ls"}, ""},
    {"echo allowed;printf bypassed", V{"echo", "allowed;printf", "bypassed"}, ""},
    {"echo a\\;b \\$VALUE \\${VALUE}", V{"echo", "a;b", "$VALUE", "${VALUE}"}, ""},
    {"echo \"${VALUES[X]}\"", V{"echo", "${VALUES[X]}"}, ""},
    {"MODE=test echo allowed", V{"MODE=test", "echo", "allowed"}, ""},
    {"a\\\tb", V{"a\tb"}, ""},
    {"\"\\\\\\\"\"", V{"\\\""}, ""},
    {"'it'\\''s'", V{"it's"}, ""},
    {"x 'y'z\"w\"\\ v", V{"x", "yzw v"}, ""},
};

const std::vector<std::pair<std::string, std::string>> kQuoteCases = {
    {"", "''"},
    {"abc", "abc"},
    {"a b", "'a b'"},
    {"a'b", "'a'\"'\"'b'"},
    {"'", "''\"'\"''"},
    {"''", "''\"'\"''\"'\"''"},
    {"é", "'é'"},
    {"@%+=:,./-_", "@%+=:,./-_"},
    {"AZaz09", "AZaz09"},
    {"$HOME", "'$HOME'"},
    {"a\nb", "'a\nb'"},
    {"!", "'!'"},
    {"*", "'*'"},
    {"~", "'~'"},
    {"a\"b", "'a\"b'"},
    {"\\", "'\\'"},
    {std::string("a\000b", 3), std::string("'a\000b'", 5)},
    {"{}", "'{}'"},
    {";", "';'"},
    {"-exec", "-exec"},
    {"--format=%h;%s", "'--format=%h;%s'"},
    {"日本", "'日本'"},
    {"\t", "'\t'"},
};
const std::vector<std::pair<V, std::string>> kJoinCases = {
    {V{}, ""},
    {V{""}, "''"},
    {V{"", ""}, "'' ''"},
    {V{"echo", "hello world"}, "echo 'hello world'"},
    {V{"a'b", "c"}, "'a'\"'\"'b' c"},
    {V{"find", ".", "-exec", "echo", "{}", ";"}, "find . -exec echo '{}' ';'"},
    {V{"x\ny", "é"}, "'x\ny' 'é'"},
};
const std::vector<std::pair<std::string, bool>> kScanCases = {
    {"", false},
    {"echo hi", false},
    {"a;b", true},
    {"a\\;b", false},
    {"'a;b'", false},
    {"\"a;b\"", false},
    {"a\nb", true},
    {"'a\nb'", false},
    {"a\\\nb", false},
    {"echo $(x)", true},
    {"echo `x`", true},
    {"echo \"`x`\"", false},
    {"a&&b", true},
    {"a|b", true},
    {"a>b", true},
    {"a<b", true},
    {"(a)", true},
    {"a # ; b", true},
    {"\"a\\\"; b\"", false},
    {"\"a\\\\\"; b", true},
    {"'a\\'; b", true},
    {"x ';'", false},
    {"x \"|\"", false},
    {"--format='%h;%s'", false},
    {"a\rb", false},
    {"a\tb", false},
    {"{a}", false},
    {"$HOME", false},
    {"!x", false},
    {"a 'unterminated ;", false},
    {"a ; 'unterminated", true},
    {"a \\", false},
    {"é;", true},
    {"a\u2028b", false},
};

} // namespace

TEST_CASE("split matches shlex.split, including its ValueErrors")
{
    for (const auto& c : kSplitCases) {
        CAPTURE(c.input);
        std::string error = "untouched";
        const auto got = sh::split(c.input, &error);
        REQUIRE(got.has_value() == c.argv.has_value());
        if (c.argv) {
            CHECK(*got == *c.argv);
            CHECK(error == "untouched");
        } else {
            CHECK(error == c.error);
        }
    }
}

TEST_CASE("split works without an error out-parameter")
{
    CHECK_FALSE(sh::split("echo 'a").has_value());
    CHECK_FALSE(sh::split("echo \\").has_value());
    CHECK(sh::split("a b") == std::optional<V>(V{"a", "b"}));
}

TEST_CASE("backslash-newline is a literal newline, not a line continuation")
{
    // shlex keeps the newline inside the word; bash would delete both characters.
    CHECK(sh::split("ec\\\nho x") == std::optional<V>(V{"ec\nho", "x"}));
    // Inside double quotes the backslash survives too.
    CHECK(sh::split("\"a\\\nb\"") == std::optional<V>(V{"a\\\nb"}));
}

TEST_CASE("quote matches shlex.quote")
{
    for (const auto& c : kQuoteCases) {
        CAPTURE(c.first);
        CHECK(sh::quote(c.first) == c.second);
    }
}

TEST_CASE("join matches shlex.join")
{
    for (const auto& c : kJoinCases) {
        CAPTURE(c.second);
        CHECK(sh::join(c.first) == c.second);
    }
}

TEST_CASE("split(join(argv)) round-trips")
{
    std::vector<V> all;
    for (const auto& c : kSplitCases)
        if (c.argv)
            all.push_back(*c.argv);
    for (const auto& c : kJoinCases)
        all.push_back(c.first);
    all.push_back(V{std::string("\0\xff\xfe", 3), "'\"'\"'", "\\", "\n", " ", ""});
    for (const auto& argv : all) {
        const std::string joined = sh::join(argv);
        CAPTURE(joined);
        CHECK(sh::split(joined) == std::optional<V>(argv));
    }
    for (const auto& c : kQuoteCases) {
        CAPTURE(c.second);
        CHECK(sh::split(sh::quote(c.first)) == std::optional<V>(V{c.first}));
    }
}

TEST_CASE("has_unquoted_shell_syntax sees exactly what shlex reads unquoted")
{
    // Expected values come from CPython's own shlex state machine: a character
    // counts when shlex reads it outside quotes and not right after a backslash.
    for (const auto& c : kScanCases) {
        CAPTURE(c.first);
        CHECK(sh::has_unquoted_shell_syntax(c.first) == c.second);
    }
}

TEST_CASE("each operator character is caught bare, and ignored quoted or escaped")
{
    for (const char op : std::string(";<>|&()`\n")) {
        const std::string o(1, op);
        CAPTURE(o);
        CHECK(sh::has_unquoted_shell_syntax("a" + o + "b"));
        CHECK_FALSE(sh::has_unquoted_shell_syntax("a'" + o + "'b"));
        CHECK_FALSE(sh::has_unquoted_shell_syntax("a\"" + o + "\"b"));
        CHECK_FALSE(sh::has_unquoted_shell_syntax("a\\" + o + "b"));
    }
}
