// The CLI with the E2B backend against the fake E2B server over TLS: the
// binary finds the service through E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL
// and trusts the test CA through SSL_CERT_FILE, as a user's shell would set.

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>

#include "support/cli_process.hpp"
#include "support/fake_e2b.hpp"
#include "support/helpers.hpp"
#include "support/test_certs.hpp"

using namespace stirrup;
namespace fs = std::filesystem;
namespace json = boost::json;

using stirrup::test::read_bytes;

namespace {

/// The variables pointing at `fake`; `overrides` replace them.
std::vector<std::string> e2b_env(const test::FakeE2B& fake, const std::vector<std::string>& overrides = {})
{
    std::vector<std::string> env = overrides;
    for (std::string kv : {"E2B_API_KEY=" + fake.api_key(), "E2B_API_URL=" + fake.url(),
                           "E2B_SANDBOX_URL=" + fake.url(), "SSL_CERT_FILE=" + test::test_certs().ca_cert.string()}) {
        const auto name = kv.substr(0, kv.find('=') + 1);
        if (std::none_of(overrides.begin(), overrides.end(),
                         [&](const std::string& o) { return o.rfind(name, 0) == 0; }))
            env.push_back(kv);
    }
    return test::inherited_env(env);
}

} // namespace

TEST_CASE("stirrup exec --backend e2b: commands in a sandbox, files in and out, the sandbox killed")
{
    auto& fake = test::shared_fake_e2b();
    fake.reset();
    const fs::path dir = fs::temp_directory_path() / ("stirrup-cli-e2b-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "data.txt") << "from the host\n";
    auto r = test::run_stirrup({"exec", "--backend", "e2b", "--template", "base", "--env", "STIRRUP_CLI_E2B_VAR",
                                "--input", (dir / "data.txt").string(), "--output", (dir / "out").string(), "--save",
                                "result.txt", "--json", "--", "pwd; echo $STIRRUP_CLI_E2B_VAR",
                                "tr a-z A-Z < data.txt > result.txt; exit 4"},
                               e2b_env(fake, {"STIRRUP_CLI_E2B_VAR=forwarded"}));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 4);
    const auto lines = test::json_lines(r.stdout_text);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].at("stdout").as_string() == "/home/user\nforwarded\n");
    CHECK(lines[1].at("exit_code").to_number<int>() == 4);
    CHECK(read_bytes(dir / "out/result.txt") == "FROM THE HOST\n");
    CHECK(fake.live_sandboxes() == 0);
    const auto sandboxes = fake.stats();
    CHECK(sandboxes.at("created").to_number<int>() == 1);
    fs::remove_all(dir);
}

TEST_CASE("stirrup run --backend e2b: the demo agent does its work in a sandbox")
{
    auto& fake = test::shared_fake_e2b();
    fake.reset();
    const fs::path out = fs::temp_directory_path() / ("stirrup-cli-e2b-run-" + std::to_string(::getpid()));
    fs::remove_all(out);
    auto r = test::run_stirrup(
        {"run", "--demo", "--json", "--backend", "e2b", "--output", out.string(), "Show me what you can do"},
        e2b_env(fake));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    const auto summary = json::parse(r.stdout_text).as_object();
    CHECK(summary.at("finished") == true);
    CHECK(read_bytes(out / "report.md").find("- count: 46") != std::string::npos);
    CHECK(fake.live_sandboxes() == 0);
    fs::remove_all(out);
}

TEST_CASE("stirrup exec --backend e2b: a refused API key and bad options are one clear line")
{
    auto& fake = test::shared_fake_e2b();
    fake.reset();
    auto r = test::run_stirrup({"exec", "--backend", "e2b", "--", "true"},
                               e2b_env(fake, {"E2B_API_KEY=e2b_not_the_right_key"}));
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("stirrup exec: ") == 0);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
    CHECK(fake.live_sandboxes() == 0);

    r = test::run_stirrup({"exec", "--template", "base", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("--template and --lifetime need --backend e2b") != std::string::npos);
    r = test::run_stirrup({"exec", "--backend", "e2b", "--image", "x", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("need --backend docker") != std::string::npos);
}
