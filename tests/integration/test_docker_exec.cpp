// Commands in the Docker backend against the real engine: output and exit
// codes, the allowlist's argv path, Stirrup's timeout wrapping, and that a
// timeout or a cancellation leaves nothing running in the container.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/exec/detail/format_result.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"

using namespace stirrup;
using stirrup::detail::format_result;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using stirrup::test::docker_options;
using stirrup::test::exec_in_container;
using stirrup::test::with_docker;
namespace fs = std::filesystem;

namespace {

// Command lines of the container's processes, one per line (ps from procps).
std::string container_processes(const std::string& id)
{
    return exec_in_container(id, {"ps", "-eo", "args="});
}

DockerCodeExecOptions allow(std::vector<std::string> patterns)
{
    auto o = docker_options();
    o.allowed_commands = std::move(patterns);
    return o;
}

} // namespace

TEST_CASE("docker: run_command returns stdout, stderr and the exit code")
{
    with_docker(docker_options(), [](DockerCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo 'hello world'");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "hello world\n");
        CHECK(r.stderr_text == "");
        CHECK_FALSE(r.error_kind);

        r = co_await env.run_command("echo out; echo err >&2; exit 3");
        CHECK(r.exit_code == 3);
        CHECK(r.stdout_text == "out\n");
        CHECK(r.stderr_text == "err\n");
        CHECK_FALSE(r.error_kind);

        r = co_await env.run_command("pwd; echo $0");
        CHECK(r.stdout_text == "/workspace\nbash\n");

        r = co_await env.run_command("no-such-command-919");
        CHECK(r.exit_code == 127);
        CHECK(r.stderr_text.find("no-such-command-919: command not found") != std::string::npos);
        CHECK_FALSE(r.error_kind);

        // Files persist between commands; large output is bounded.
        r = co_await env.run_command("head -c 3000000 /dev/zero | tr '\\0' a > big.txt && wc -c < big.txt");
        CHECK(r.stdout_text == "3000000\n");
        r = co_await env.run_command("cat big.txt");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_dropped_chars == 3'000'000 - 2 * env.options().capture_chars_each_side);
        const std::string shown = format_result(r);
        CHECK(shown.find("truncated from an original 3000000 characters") != std::string::npos);
    });
}

TEST_CASE("docker: with an allowlist the argv runs without a shell")
{
    with_docker(allow({"^echo", "^python3"}), [](DockerCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo 'a  b' '$HOME'");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "a  b $HOME\n");
        CHECK_FALSE(r.error_kind);

        r = co_await env.run_command("python3 -c 'import sys; print(sys.argv[1:])' x");
        CHECK(r.stdout_text == "['x']\n");

        r = co_await env.run_command("rm -rf /");
        CHECK(r.error_kind == "command_not_allowed");
        CHECK(r.stderr_text == "Command not allowed: 'rm -rf /'");

        r = co_await env.run_command("echo hi; rm -rf /");
        CHECK(r.error_kind == "command_not_allowed");
    });
}

TEST_CASE("docker: a timeout keeps partial output and kills the command's descendants")
{
    with_docker(docker_options(), [](DockerCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo partial; echo oops >&2; sleep 919501 & sleep 919502 & wait", 2s);
        CHECK(r.error_kind == "timeout");
        CHECK(r.exit_code == 124);
        CHECK(r.stdout_text == "partial\n");
        CHECK(r.stderr_text == "oops\n\nCommand timed out after 2 seconds"); // partial + "\n" + message, as Stirrup
        const std::string ps = container_processes(*env.container_id());
        INFO(ps);
        CHECK(ps.find("sleep 9195") == std::string::npos);

        // A job that left the process group (setsid) is found by the
        // second exec and killed too.
        r = co_await env.run_command("setsid sleep 919503 > /dev/null 2>&1 & sleep 919504", 1s);
        CHECK(r.error_kind == "timeout");
        const std::string ps2 = container_processes(*env.container_id());
        INFO(ps2);
        CHECK(ps2.find("sleep 9195") == std::string::npos);

        // Fractions are passed as Python prints them.
        r = co_await env.run_command("sleep 5", 500ms);
        CHECK(r.error_kind == "timeout");
        CHECK(r.stderr_text == "Command timed out after 0.5 seconds");

        r = co_await env.run_command("echo still here");
        CHECK(r.stdout_text == "still here\n");
    });
}

TEST_CASE("docker: a command ignoring SIGTERM is killed after timeout's grace (137)")
{
    with_docker(docker_options(), [](DockerCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("trap '' TERM; echo started; sleep 919505", 1s);
        CHECK(r.error_kind == "timeout");
        CHECK(r.exit_code == 137);
        CHECK(r.stdout_text == "started\n");
        const std::string ps = container_processes(*env.container_id());
        INFO(ps);
        CHECK(ps.find("sleep 9195") == std::string::npos);
    });
}

TEST_CASE("docker: cancelling run_command kills the command's process group")
{
    with_docker(docker_options(), [](DockerCodeExec& env) -> awaitable<void> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 1500ms);
        auto which = co_await (env.run_command("sleep 919506 & sleep 919507 & wait") ||
                               timer.async_wait(boost::asio::use_awaitable));
        CHECK(which.index() == 1);
        const std::string ps = container_processes(*env.container_id());
        INFO(ps);
        CHECK(ps.find("sleep 9195") == std::string::npos);
        auto r = co_await env.run_command("echo usable");
        CHECK(r.stdout_text == "usable\n");
    });
}

TEST_CASE("docker: env vars are forwarded by name, from the environment or ./.env")
{
    const fs::path dir = fs::temp_directory_path() / ("stirrup-dotenv-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / ".env") << "# test\nexport STIRRUP_T_DOTENV='from dotenv'\nSTIRRUP_T_SET=overridden\n";
    ::setenv("STIRRUP_T_SET", "from environment", 1);
    const fs::path cwd = fs::current_path();
    fs::current_path(dir);
    std::vector<std::string> warnings;
    auto o = docker_options();
    o.env_vars = {"STIRRUP_T_SET", "STIRRUP_T_DOTENV", "STIRRUP_T_MISSING"};
    o.on_warning = [&](std::string_view m) { warnings.emplace_back(m); };
    std::exception_ptr failure;
    try {
        with_docker(o, [](DockerCodeExec& env) -> awaitable<void> {
            auto r = co_await env.run_command("echo \"$STIRRUP_T_SET|$STIRRUP_T_DOTENV|${STIRRUP_T_MISSING-unset}\"");
            CHECK(r.stdout_text == "from environment|from dotenv|unset\n");
        });
    } catch (...) {
        failure = std::current_exception();
    }
    fs::current_path(cwd);
    ::unsetenv("STIRRUP_T_SET");
    fs::remove_all(dir);
    if (failure)
        std::rethrow_exception(failure);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == "Requested env var 'STIRRUP_T_MISSING' not found in environment");
}

TEST_CASE("docker: a non-root container user owns the working directory")
{
    for (auto mode : {DockerFileMode::bind_mount, DockerFileMode::archive}) {
        auto o = docker_options(mode);
        o.user = "1000:1000";
        with_docker(o, [](DockerCodeExec& env) -> awaitable<void> {
            co_await env.write_file("given.txt", "data\n");
            auto r = co_await env.run_command("id -u && touch made.txt && cat given.txt && stat -c %u made.txt");
            CHECK(r.exit_code == 0);
            CHECK(r.stdout_text == "1000\ndata\n1000\n");
            if (!env.bind_mounted()) {
                // Archive uploads belong to the container's user.
                r = co_await env.run_command("stat -c %u:%g given.txt && echo more >> given.txt");
                CHECK(r.stdout_text == "1000:1000\n");
                CHECK(r.exit_code == 0);
            }
        });
    }
}
