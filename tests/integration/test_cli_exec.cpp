// `stirrup exec` end to end: the real binary, run as a child process.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <boost/json.hpp>

#include "stirrup/exec/local/detail/child_process.hpp"
#include "support/cli_process.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::detail::ChildProcessResult;
using stirrup::test::json_lines;
using stirrup::test::run_sync;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

ChildProcessResult cli(std::vector<std::string> args)
{
    args.insert(args.begin(), "exec");
    return test::run_stirrup(args);
}

} // namespace

TEST_CASE("stirrup exec prints tool results and exits with the last command's status")
{
    auto r = cli({"--", "echo hi", "exit 3"});
    CHECK(r.exit_code == 3);
    CHECK(r.stdout_text ==
          "<shell_results>\n<exit_code>0</exit_code>\n<stdout>hi\n</stdout>\n<stderr></stderr>\n</shell_results>\n"
          "<shell_results>\n<exit_code>3</exit_code>\n<stdout></stdout>\n<stderr></stderr>\n</shell_results>\n");
}

TEST_CASE("stirrup exec --json: one object per command, the same environment throughout")
{
    auto r = cli({"--json", "--", "echo state > f.txt", "cat f.txt; echo err >&2"});
    CHECK(r.exit_code == 0);
    auto lines = json_lines(r.stdout_text);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].at("stdout").as_string() == "state\n");
    CHECK(lines[1].at("stderr").as_string() == "err\n");
    CHECK(lines[1].at("error_kind").is_null());
    CHECK(lines[1].at("advice").is_null());
}

TEST_CASE("stirrup exec: allowlist, timeout, inputs and saved outputs")
{
    const fs::path dir = fs::temp_directory_path() / ("stirrup-cli-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "in");
    std::ofstream(dir / "in/data.csv") << "a,b\n1,2\n";

    auto r = cli({"--json", "--allow", "^echo", "--", "echo ok", "rm -rf x"});
    auto lines = json_lines(r.stdout_text);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].at("stdout").as_string() == "ok\n");
    CHECK(lines[1].at("error_kind").as_string() == "command_not_allowed");
    CHECK(r.exit_code == 1);

    r = cli({"--json", "--shell-timeout", "0.5", "--", "sleep 30"});
    lines = json_lines(r.stdout_text);
    CHECK(lines.at(0).at("error_kind").as_string() == "timeout");

    r = cli({"--json", "--input", (dir / "in/data.csv").string(), "--output", (dir / "out").string(), "--save",
             "report/summary.txt", "--save", "../escape", "--",
             "mkdir report && wc -l < data.csv > report/summary.txt"});
    CHECK(r.exit_code == 0);
    lines = json_lines(r.stdout_text);
    REQUIRE(lines.size() == 2);
    const auto& saved = lines[1];
    CHECK(saved.at("saved").as_array().size() == 1);
    CHECK(saved.at("saved").at(0).at("source").as_string() == "report/summary.txt");
    CHECK(saved.at("saved").at(0).at("size").to_number<int>() == 2);
    CHECK(saved.at("failed").at("../escape").as_string().find("traversal") != std::string::npos);
    std::ifstream in(dir / "out/report/summary.txt");
    std::string content;
    std::getline(in, content);
    CHECK(content == "2");
    fs::remove_all(dir);
}

TEST_CASE("stirrup exec: usage errors exit 1 with a message")
{
    auto r = cli({"--bogus", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("unknown option '--bogus'") != std::string::npos);
    r = cli({"--save", "x", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("--save needs --output") != std::string::npos);
    r = cli({"--input", "/nonexistent/stirrup-input", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("cannot upload") != std::string::npos);
}
