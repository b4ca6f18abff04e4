// The Docker backend's pure rules: Stirrup's timeout wrapping (its
// test_docker_execution cases), result mapping, the .env reader, owner labels.

#include <doctest/doctest.h>

#include <map>

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/detail/env.hpp"
#include "stirrup/exec/docker/detail/exec_rules.hpp"
#include "stirrup/exec/docker/detail/labels.hpp"
#include "stirrup/net/detail/url.hpp"

using namespace stirrup;
using namespace stirrup::detail::docker;
using namespace std::chrono_literals;

namespace {

std::optional<std::string> no_env(std::string_view)
{
    return std::nullopt;
}

std::vector<std::string> v(std::initializer_list<const char*> items)
{
    std::vector<std::string> out;
    for (auto s : items)
        out.emplace_back(s);
    return out;
}

} // namespace

TEST_CASE("docker rules: commands are wrapped in coreutils timeout exactly as Stirrup does")
{
    PreparedCommand shell;
    shell.shell = "echo 'hi' && sleep 1";
    CHECK(timeout_wrapped_argv(shell, 42s) ==
          v({"bash", "-c", "timeout --kill-after=5s 42s bash -c 'echo '\"'\"'hi'\"'\"' && sleep 1'"}));
    PreparedCommand argv;
    argv.argv = v({"echo", "allowed"});
    CHECK(timeout_wrapped_argv(argv, 300s) == v({"timeout", "--kill-after=5s", "300s", "echo", "allowed"}));
    CHECK(timeout_wrapped_argv(argv, 1500ms)[2] == "1.5s");
    CHECK(seconds_text(250ms) == "0.25");
}

TEST_CASE("docker rules: exit 124 and 137 are timeouts that keep partial output")
{
    for (int code : {124, 137}) {
        CommandResult r = exec_command_result(code, "partial out", "partial err", 42s);
        CHECK(r.error_kind == "timeout");
        CHECK(r.exit_code == code);
        CHECK(r.stdout_text == "partial out");
        CHECK(r.stderr_text == "partial err\nCommand timed out after 42 seconds");
    }
    CHECK(exec_command_result(124, "", "", 5s).stderr_text == "Command timed out after 5 seconds");
    CommandResult outer = client_timeout_result(7s);
    CHECK(outer.exit_code == 1);
    CHECK(outer.error_kind == "timeout");
    CHECK(outer.stderr_text == "Command timed out after 7 seconds");
}

TEST_CASE("docker rules: a missing timeout binary gets Stirrup's advice")
{
    CommandResult r = exec_command_result(127, "", "bash: line 1: timeout: command not found\n", 300s);
    CHECK(r.error_kind == "image_missing_timeout");
    CHECK(r.advice == std::string(missing_timeout_advice));
    CHECK(r.advice->find("coreutils") != std::string::npos);
    // Any other 127 is the command's own result.
    r = exec_command_result(127, "", "bash: line 1: foo: command not found\n", 300s);
    CHECK_FALSE(r.error_kind);
    CHECK(r.exit_code == 127);

    // The engine's own error (argv mode: the engine execs `timeout` itself).
    r = exec_command_result(126,
                            "OCI runtime exec failed: exec failed: unable to start container process: exec: "
                            "\"timeout\": executable file not found in $PATH: unknown\r\n",
                            "", 300s);
    CHECK(r.error_kind == "image_missing_timeout");
    CHECK(r.stdout_text.empty());
    CHECK(r.stderr_text.find("\"timeout\": executable file not found") != std::string::npos);
}

TEST_CASE("docker rules: the engine's errors inside the stream are told from program output")
{
    const std::string missing = "OCI runtime exec failed: exec failed: unable to start container process: exec: "
                                "\"/nonexistent\": stat /nonexistent: no such file or directory: unknown\r\n";
    CHECK(engine_exec_error(126, missing, "") == missing.substr(0, missing.size() - 2));
    CHECK(engine_exec_error(126, "unable to find user nosuchuser: no matching entries in passwd file\r\n", ""));
    // Program output, even ending in \r\n, is not an engine error.
    CHECK_FALSE(engine_exec_error(126, "permission denied\r\n", ""));
    CHECK_FALSE(engine_exec_error(0, missing, ""));
    CHECK_FALSE(engine_exec_error(126, missing, "stderr too"));
    CommandResult r = exec_command_result(126, missing, "", 10s);
    CHECK(r.error_kind == "execution_error");
    CHECK(r.exit_code == 126);
}

TEST_CASE("docker rules: the kill script targets the exec's marker")
{
    const auto argv = kill_marked_argv("abc123");
    REQUIRE(argv.size() == 5);
    CHECK(argv[0] == "sh");
    CHECK(argv[2].find("STIRRUP_EXEC_ID=$1") != std::string::npos);
    CHECK(argv[4] == "abc123");
}

TEST_CASE("docker env: .env files read as python-dotenv reads them")
{
    const auto env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "HOME")
            return std::string("/home/me");
        return std::nullopt;
    };
    const auto values = parse_dotenv("# comment\n"
                                     "PLAIN=value\n"
                                     "export EXPORTED=yes\n"
                                     "  SPACED = padded value   \n"
                                     "COMMENTED=abc # a comment\n"
                                     "HASH=abc#def\n"
                                     "SINGLE='lit ${HOME} \\n'\n"
                                     "DOUBLE=\"line1\\nline2 ${HOME}\"\n"
                                     "MULTI=\"a\nb\"\n"
                                     "REF=${PLAIN}-${MISSING:-fallback}\n"
                                     "EMPTY=\n"
                                     "NOVALUE\n"
                                     "BROKEN=\"unterminated\n",
                                     env);
    std::map<std::string, std::string> expected{
        {"PLAIN", "value"},
        {"EXPORTED", "yes"},
        {"SPACED", "padded value"},
        {"COMMENTED", "abc"},
        {"HASH", "abc#def"},
        {"SINGLE", "lit ${HOME} \\n"},
        {"DOUBLE", "line1\nline2 /home/me"},
        {"MULTI", "a\nb"},
        {"REF", "value-fallback"},
        {"EMPTY", ""},
    };
    CHECK(values == expected);
}

TEST_CASE("docker env: forwarded names come from the environment first, then .env")
{
    const auto env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "A")
            return std::string("from env");
        return std::nullopt;
    };
    std::map<std::string, std::string> dotenv{{"A", "from dotenv"}, {"B", "b"}};
    const ForwardedEnv f = forward_env(v({"A", "B", "C"}), env, dotenv);
    CHECK(f.entries == v({"A=from env", "B=b"}));
    CHECK(f.missing == v({"C"}));
    CHECK(forward_env({}, no_env, {}).entries.empty());
}

TEST_CASE("docker labels: owners and image references")
{
    auto o = parse_owner("1234@build-host");
    REQUIRE(o);
    CHECK(o->pid == 1234);
    CHECK(o->host == "build-host");
    CHECK_FALSE(parse_owner("x@host"));
    CHECK_FALSE(parse_owner("12@"));
    CHECK_FALSE(parse_owner("12"));
    const auto labels = ownership_labels("sess");
    CHECK(labels.at("org.stirrup") == "1");
    CHECK(labels.at("stirrup.session") == "sess");
    CHECK(parse_owner(labels.at("stirrup.owner"))->host == host_name());

    CHECK(split_image_reference("python:3.12-slim") == std::pair<std::string, std::string>{"python", "3.12-slim"});
    CHECK(split_image_reference("localhost:5000/x/y") ==
          std::pair<std::string, std::string>{"localhost:5000/x/y", "latest"});
    CHECK(split_image_reference("busybox") == std::pair<std::string, std::string>{"busybox", "latest"});
    CHECK(split_image_reference("a/b@sha256:00") == std::pair<std::string, std::string>{"a/b@sha256:00", ""});
    CHECK(stirrup::net::detail::percent_encode("{\"label\":[\"a=1\"]}") == "%7B%22label%22%3A%5B%22a%3D1%22%5D%7D");
}
