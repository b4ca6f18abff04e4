// The local backend against real processes: Stirrup's local-execution suite
// plus what the port adds (subtree kills on timeout and cancel, bounded capture,
// the supervisors' kill on stop; more in test_local_cleanup.cpp).

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/format_result.hpp"
#include "stirrup/exec/local/local.hpp"
#include "support/local_env.hpp"
#include "support/processes.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::detail::format_result;
using namespace std::chrono_literals;
using stirrup::test::count_processes_with_cmdline;
using stirrup::test::processes_left_with_cmdline;
using stirrup::test::run_sync;
using stirrup::test::with_local;
namespace fs = std::filesystem;

namespace {

// Runs `body` with a started provider and always stops it.

LocalCodeExecOptions allow(std::vector<std::string> patterns)
{
    LocalCodeExecOptions o;
    o.allowed_commands = std::move(patterns);
    return o;
}

} // namespace

TEST_CASE("create and cleanup: the temp dir exists only while started")
{
    LocalCodeExec env;
    CHECK_FALSE(env.temp_dir().has_value());
    fs::path dir;
    run_sync([&]() -> awaitable<void> {
        co_await env.start();
        dir = *env.temp_dir();
        CHECK(fs::is_directory(dir));
        CHECK(dir.filename().string().rfind("local_exec_env_", 0) == 0);
        co_await env.stop();
    });
    CHECK_FALSE(env.temp_dir().has_value());
    CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("temp_base_dir is created and used")
{
    const fs::path base = fs::temp_directory_path() / ("stirrup-base-" + std::to_string(::getpid()));
    fs::remove_all(base);
    LocalCodeExecOptions o;
    o.temp_base_dir = base / "nested";
    with_local(o, [&](LocalCodeExec& env) -> awaitable<void> {
        CHECK(env.temp_dir()->parent_path() == base / "nested");
        co_return;
    });
    CHECK(fs::is_empty(base / "nested"));
    fs::remove_all(base);
}

TEST_CASE("run_command: stdout, stderr and exit codes")
{
    with_local({}, [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo hello");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "hello\n");
        CHECK(r.stderr_text == "");
        CHECK_FALSE(r.error_kind.has_value());

        r = co_await env.run_command("echo oops >&2");
        CHECK(r.stdout_text == "");
        CHECK(r.stderr_text == "oops\n");

        r = co_await env.run_command("exit 42");
        CHECK(r.exit_code == 42);
        CHECK_FALSE(r.error_kind.has_value());

        // Python's returncode convention: -N after signal N.
        r = co_await env.run_command("kill -9 $$");
        CHECK(r.exit_code == -9);

        // Runs in the temp dir, with stdin closed: `cat` must not wait.
        r = co_await env.run_command("pwd; cat");
        CHECK(r.stdout_text == env.temp_dir()->string() + "\n");
    });
}

TEST_CASE("timeout returns promptly and kills the whole process group")
{
    with_local({}, [](LocalCodeExec& env) -> awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await env.run_command("sleep 919293 & sleep 919293 & wait", 1s);
        const auto elapsed = std::chrono::steady_clock::now() - t0;
        CHECK(r.error_kind == "timeout");
        CHECK(r.exit_code == 1);
        CHECK(r.stderr_text == "Command timed out after 1 seconds");
        CHECK(r.stdout_text == "");
        CHECK(elapsed < 30s); // not the 919293 s the children would take
        CHECK(processes_left_with_cmdline("sleep 919293") == 0);

        r = co_await env.run_command("sleep 30", 250ms);
        CHECK(r.stderr_text == "Command timed out after 0.25 seconds");
    });
}

TEST_CASE("the default timeout is the provider's shell_timeout")
{
    LocalCodeExecOptions o;
    o.shell_timeout = 500ms;
    with_local(o, [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("sleep 30");
        CHECK(r.error_kind == "timeout");
        CHECK(r.stderr_text == "Command timed out after 0.5 seconds");
    });
}

TEST_CASE("cancellation kills the command's process group and the provider stays usable")
{
    using namespace boost::asio::experimental::awaitable_operators;
    with_local({}, [](LocalCodeExec& env) -> awaitable<void> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 300ms);
        auto which =
            co_await (env.run_command("sleep 919294 & sleep 919294") || timer.async_wait(boost::asio::use_awaitable));
        CHECK(which.index() == 1);
        CHECK(processes_left_with_cmdline("sleep 919294") == 0);
        auto r = co_await env.run_command("echo still here");
        CHECK(r.stdout_text == "still here\n");
    });
}

TEST_CASE("stop kills background jobs, even ones that left the process group")
{
    fs::path dir;
    with_local({}, [&](LocalCodeExec& env) -> awaitable<void> {
        dir = *env.temp_dir();
        auto r = co_await env.run_command(
            "sleep 919295 > /dev/null 2>&1 & setsid sleep 919296 > /dev/null 2>&1 & echo started");
        CHECK(r.stdout_text == "started\n");
        // Background jobs that redirected their output outlive the command, as in a container.
        // A process caught in execve shows no command line for a moment: poll.
        int seen = 0;
        for (int i = 0; i < 100 && seen == 0; ++i) {
            seen = count_processes_with_cmdline("sleep 919295");
            if (seen == 0)
                std::this_thread::sleep_for(20ms);
        }
        CHECK(seen >= 1);
    });
    CHECK(processes_left_with_cmdline("sleep 919295") == 0);
    CHECK(processes_left_with_cmdline("sleep 919296") == 0);
    CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("a provider destroyed while started reclaims its processes and temp dir")
{
    fs::path dir;
    std::string warning;
    run_sync([&]() -> awaitable<void> {
        LocalCodeExecOptions o;
        o.on_warning = [&](std::string_view m) { warning = m; };
        LocalCodeExec env(o);
        co_await env.start();
        dir = *env.temp_dir();
        co_await env.run_command("sleep 919297 > /dev/null 2>&1 &");
    });
    CHECK(warning.find("stop() was not awaited") != std::string::npos);
    CHECK(processes_left_with_cmdline("sleep 919297") == 0);
    for (int i = 0; i < 200 && fs::exists(dir); ++i)
        std::this_thread::sleep_for(50ms);
    CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("output is bounded in memory yet truncates as Stirrup would on the full output")
{
    with_local({}, [](LocalCodeExec& env) -> awaitable<void> {
        // 30 MB of 'a' then a marker: far more than the capture keeps.
        auto r = co_await env.run_command("head -c 30000000 /dev/zero | tr '\\0' a; echo END");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text.size() == 40'000);
        CHECK(r.stdout_dropped_chars == 30'000'004 - 40'000);
        const std::string text = format_result(r);
        CHECK(text.find("truncated from an original 30000004 characters to stay below 20000 characters") !=
              std::string::npos);
        CHECK(text.find("END\n</stdout>") != std::string::npos);
    });
}

TEST_CASE("allowlist: allowed commands run, others are rejected with Stirrup's result")
{
    with_local(allow({"^echo", "^ls"}), [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo allowed");
        CHECK(r.stdout_text == "allowed\n");
        CHECK_FALSE(r.error_kind.has_value());

        r = co_await env.run_command("cat /etc/passwd");
        CHECK(r.error_kind == "command_not_allowed");
        CHECK(r.exit_code == 1);
        CHECK(r.stderr_text == "Command not allowed: 'cat /etc/passwd'");
        CHECK(r.advice.value_or("").find("does not match any allowlist pattern") != std::string::npos);
    });
}

TEST_CASE("allowlist: a chained command is not executed")
{
    with_local(allow({"^echo"}), [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo allowed; printf bypassed > forbidden.txt");
        CHECK(r.error_kind == "command_not_allowed");
        CHECK_FALSE(fs::exists(*env.temp_dir() / "forbidden.txt"));
    });
}

TEST_CASE("allowlist: shell-only words fail without side effects")
{
    with_local(allow({".*"}), [](LocalCodeExec& env) -> awaitable<void> {
        for (const char* cmd : {"coproc touch created.txt", "! touch created.txt", "echo[1 + 1]=x touch created.txt"}) {
            CAPTURE(cmd);
            auto r = co_await env.run_command(cmd);
            CHECK(r.exit_code != 0);
            CHECK_FALSE(fs::exists(*env.temp_dir() / "created.txt"));
        }
        auto r = co_await env.run_command("nosuchcommand-919 arg");
        CHECK(r.error_kind == "execution_error");
        CHECK(r.stderr_text == "[Errno 2] No such file or directory: 'nosuchcommand-919'");
    });
}

TEST_CASE("allowlist: unterminated quotes are rejected and nothing runs")
{
    with_local(allow({".*"}), [](LocalCodeExec& env) -> awaitable<void> {
        for (const char* cmd : {"touch 'created.txt", "touch \"created.txt", "touch $'created.txt"}) {
            CAPTURE(cmd);
            auto r = co_await env.run_command(cmd);
            CHECK(r.error_kind == "command_not_allowed");
            CHECK_FALSE(fs::exists(*env.temp_dir() / "created.txt"));
        }
    });
}

TEST_CASE("allowlist: literal shell characters reach the program verbatim")
{
    with_local(allow({"^echo\\b", "^find\\b", "^printf\\b"}), [](LocalCodeExec& env) -> awaitable<void> {
        const std::vector<std::pair<std::string, std::string>> cases = {
            {"echo 'a;b' \"c|d\" 'e&&f'", "a;b c|d e&&f\n"},
            {"echo \\;", ";\n"},
            {"echo '>' '<' '(' ')'", "> < ( )\n"},
            {"find . -maxdepth 0 -exec echo {} ';'", ".\n"},
            {"printf --format='%h;%s' x", ""},
            {"echo \"$HOME\"", "$HOME\n"},
            {"echo $HOME", "$HOME\n"},
            {"echo ~/x", "~/x\n"},
            {"echo *", "*\n"},
            {"echo 'line1\nline2'", "line1\nline2\n"},
            {"echo \"${VALUES[X]}\"", "${VALUES[X]}\n"},
        };
        for (const auto& [cmd, expected] : cases) {
            CAPTURE(cmd);
            auto r = co_await env.run_command(cmd);
            if (cmd.rfind("printf", 0) == 0) {
                // printf rejects the option: what matters is that it ran, unexpanded.
                CHECK_FALSE(r.error_kind.has_value());
                continue;
            }
            CHECK_FALSE(r.error_kind.has_value());
            CHECK(r.stdout_text == expected);
        }
    });
}

TEST_CASE("allowlist: absolute paths are checked on the parsed arguments")
{
    with_local(allow({"^cat"}), [](LocalCodeExec& env) -> awaitable<void> {
        for (const char* cmd : {"cat /etc/passwd", "cat /et''c/passwd", "cat \"/etc\"/passwd"}) {
            CAPTURE(cmd);
            auto r = co_await env.run_command(cmd);
            CHECK(r.error_kind == "absolute_path_detected");
            CHECK(r.stdout_text == "");
        }
    });
}

TEST_CASE("allowlist: patterns match the parsed command word, anchored at the start")
{
    with_local(allow({"^echo\\b"}), [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("ec'ho' allowed");
        CHECK(r.stdout_text == "allowed\n");
        r = co_await env.run_command("echo''x allowed");
        CHECK(r.error_kind == "command_not_allowed");
    });
    with_local(allow({"echo"}), [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("xecho allowed");
        CHECK(r.error_kind == "command_not_allowed");
    });
}

TEST_CASE("allowlist: a hostile environment is not expanded")
{
    ::setenv("STIRRUP_HOSTILE", "$(touch pwned.txt)", 1);
    with_local(allow({"^echo"}), [](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo $STIRRUP_HOSTILE \"${VALUES[$(touch pwned.txt)]}\"");
        CHECK(r.stdout_text == "$STIRRUP_HOSTILE ${VALUES[$(touch pwned.txt)]}\n");
        CHECK_FALSE(fs::exists(*env.temp_dir() / "pwned.txt"));
    });
    ::unsetenv("STIRRUP_HOSTILE");
}

TEST_CASE("shell mode: Stirrup's absolute-path heuristic")
{
    with_local({}, [](LocalCodeExec& env) -> awaitable<void> {
        for (const char* cmd : {"cat /etc/passwd", "ls ~/", "echo $HOME/x", "echo ${HOME}/x", "ls /tmp/x"}) {
            CAPTURE(cmd);
            auto r = co_await env.run_command(cmd);
            CHECK(r.error_kind == "absolute_path_detected");
            CHECK(r.stderr_text ==
                  "Command appears to use absolute paths which could write outside the execution environment. "
                  "Use relative paths instead.");
        }
    });
}

TEST_CASE("stop cleans up after the work inside the session threw")
{
    fs::path dir;
    CHECK_THROWS_WITH(with_local({},
                                 [&](LocalCodeExec& env) -> awaitable<void> {
                                     dir = *env.temp_dir();
                                     co_await env.run_command("sleep 919298 > /dev/null 2>&1 &");
                                     throw std::runtime_error("the caller failed");
                                 }),
                      "the caller failed");
    CHECK_FALSE(fs::exists(dir));
    CHECK(processes_left_with_cmdline("sleep 919298") == 0);
}

TEST_CASE("a start that fails throws a clear error and leaves nothing")
{
    const fs::path blocker = fs::temp_directory_path() / ("stirrup-not-a-dir-" + std::to_string(::getpid()));
    {
        std::ofstream(blocker) << "a file where the base dir should be";
    }
    LocalCodeExecOptions o;
    o.temp_base_dir = blocker / "base";
    LocalCodeExec env(o);
    CHECK_THROWS(run_sync([&]() -> awaitable<void> { co_await env.start(); }));
    CHECK_FALSE(env.started());
    CHECK_FALSE(env.temp_dir().has_value());
    fs::remove(blocker);
}

TEST_CASE("an invalid allowlist pattern is a configuration error")
{
    LocalCodeExecOptions o;
    o.allowed_commands = {"^echo(", "^ls"};
    CHECK_THROWS_AS(LocalCodeExec{o}, ConfigError);
}
