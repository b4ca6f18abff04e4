// The symlink-swap attack of the security issue, run as an attacker would: a
// static program inside the environment (tests/attacks/swap_race.c) swaps a
// directory of its own files with a symlink to a host directory, hundreds of
// thousands of times a second, while the host saves those files -- through
// the provider, and through `stirrup run` and its finish tool. Against every
// backend that saves from host paths (local, Docker bind mount). Not one
// host file may come out.

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/local/local.hpp"
#include "support/cli_process.hpp"
#include "support/docker_env.hpp"
#include "support/fake_openai.hpp"
#include "support/helpers.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
namespace fs = std::filesystem;

using stirrup::test::read_bytes;

namespace {

constexpr int race_files = 200;

// A host directory beside the environments (so the environment can name it
// with a relative symlink, which the local backend's absolute-path heuristic
// lets through), holding files named like the environment's.
struct HostSecret {
    fs::path dir;
    HostSecret()
    {
        dir = fs::temp_directory_path() / ("stirrup-secret-" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
        for (int i = 0; i < race_files; ++i)
            std::ofstream(dir / ("f" + std::to_string(i))) << "SECRET";
    }
    ~HostSecret()
    {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string from_env() const { return "../" + dir.filename().string(); }
};

struct Outcome {
    long swaps = 0;
    int rounds = 0;
    int saved = 0;
    int leaked = 0;
    std::vector<std::string> odd_failures; // anything but "outside execution environment"
    std::string log;
};

awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    co_await t.async_wait(boost::asio::use_awaitable);
}

// Outside any co_await: GCC 12 rejects a string literal temporary in one.
std::vector<std::string> swap_race_program()
{
    return {STIRRUP_SWAP_RACE_PATH};
}

std::vector<std::string> race_paths()
{
    std::vector<std::string> paths;
    for (int i = 0; i < race_files; ++i)
        paths.push_back("d/f" + std::to_string(i));
    return paths;
}

// Starts the race in `env` for `seconds`, saves the files over and over
// while it runs, and reads the swap count it printed.
awaitable<Outcome> race(CodeExecProvider& env, const HostSecret& secret, const fs::path& out, int seconds)
{
    Outcome o;
    const std::vector<std::string> program = swap_race_program();
    const auto up = co_await env.upload_files(program);
    REQUIRE(up.failed.empty());
    const auto start = co_await env.run_command("./swap_race . " + secret.from_env() + " " + std::to_string(seconds) +
                                                " > race.log 2>&1 &");
    REQUIRE(start.exit_code == 0);
    for (int i = 0; i < 200; ++i) {
        if (co_await env.file_exists("race.log") &&
            (co_await env.read_file("race.log")).find("ready") != std::string::npos)
            break;
        co_await sleep_for(std::chrono::milliseconds(50));
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds - 1);
    while (std::chrono::steady_clock::now() < until) {
        const auto dir = out / std::to_string(o.rounds++);
        const auto result = co_await env.save_output_files(race_paths(), dir);
        for (const auto& f : result.saved) {
            ++o.saved;
            if (read_bytes(f.output_path) != "env")
                ++o.leaked;
        }
        for (const auto& [path, why] : result.failed)
            if (why.find("outside execution environment") == std::string::npos)
                o.odd_failures.push_back(path + ": " + why);
    }
    for (int i = 0; i < 200; ++i) {
        o.log = co_await env.read_file("race.log");
        if (o.log.find("swaps ") != std::string::npos)
            break;
        co_await sleep_for(std::chrono::milliseconds(100));
    }
    const auto at = o.log.find("swaps ");
    if (at != std::string::npos)
        o.swaps = std::stol(o.log.substr(at + 6));
    co_return o;
}

void check(const Outcome& o)
{
    MESSAGE(o.swaps << " swaps, " << o.rounds << " rounds, " << o.saved << " files saved");
    INFO("race.log: " << o.log);
    for (const auto& f : o.odd_failures)
        FAIL_CHECK(f);
    CHECK(o.swaps > 1000);
    CHECK(o.saved > 0);
    CHECK(o.leaked == 0);
}

struct OutDir {
    fs::path path = fs::temp_directory_path() / ("stirrup-race-out-" + std::to_string(::getpid()));
    OutDir() { fs::remove_all(path); }
    ~OutDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

} // namespace

TEST_SUITE("attack")
{

    TEST_CASE("symlink-swap race against the local backend's saves: nothing of the host leaks")
    {
        HostSecret secret;
        OutDir out;
        Outcome o;
        test::run_sync([&]() -> awaitable<void> {
            LocalCodeExec env;
            co_await env.start();
            std::exception_ptr failure;
            try {
                o = co_await race(env, secret, out.path, 5);
            } catch (...) {
                failure = std::current_exception();
            }
            co_await env.stop();
            if (failure)
                std::rethrow_exception(failure);
        });
        check(o);
    }

    TEST_CASE("symlink-swap race against the Docker bind mount's saves: nothing of the host leaks")
    {
        test::require_docker_engine();
        HostSecret secret;
        OutDir out;
        Outcome o;
        test::with_docker(
            DockerCodeExec::from_image(test::docker_test_image(), test::docker_options(DockerFileMode::bind_mount)),
            [&](DockerCodeExec& env) -> awaitable<void> { o = co_await race(env, secret, out.path, 5); });
        check(o);
    }

    TEST_CASE("symlink-swap race through stirrup run and the finish tool, four runs per backend")
    {
        // The finish tool checks that its files exist, which the race makes
        // true half the time per file: the model asks to finish until a check
        // passes, and the save at the session's end then meets the race.
        HostSecret secret;
        OutDir out;
        const boost::json::object finish_args{{"reason", "done"}, {"paths", boost::json::array{"d/f0", "d/f1"}}};
        const std::string start = "./swap_race . " + secret.from_env() + " 30 > race.log 2>&1 & sleep 1";
        const std::string finish = R"({"completion": {"tool_calls": [{"id": "cf", "name": "finish", "arguments": )" +
                                   boost::json::serialize(finish_args) + "}]}}";
        const std::string scenario = R"({"forever": )" + finish + R"(, "steps": [
        {"completion": {"tool_calls": [{"id": "c1", "name": "code_exec", "arguments": {"cmd": )" +
                                     boost::json::serialize(boost::json::value(start)) + R"(}}]}}]})";
        test::FakeOpenAi fake(scenario);
        test::require_docker_engine();
        const std::vector<std::vector<std::string>> backends = {
            {"--backend", "local"},
            {"--backend", "docker", "--image", test::docker_test_image(), "--file-mode", "bind"}};
        int saved = 0, leaked = 0, runs = 0;
        for (const auto& backend : backends) {
            for (int run = 0; run < 4; ++run) {
                fake.set_scenario(scenario);
                const auto dir = out.path / (backend[1] + std::to_string(run));
                std::vector<std::string> args = {"run",
                                                 "--base-url",
                                                 fake.base_url(),
                                                 "--api-key",
                                                 "sk-race",
                                                 "--model",
                                                 "m",
                                                 "--ca-file",
                                                 test::test_certs().ca_cert.string(),
                                                 "--input",
                                                 STIRRUP_SWAP_RACE_PATH,
                                                 "--output",
                                                 dir.string(),
                                                 "--max-turns",
                                                 "60",
                                                 "--json"};
                args.insert(args.end(), backend.begin(), backend.end());
                args.push_back("Run the race");
                const auto r = test::run_stirrup(args);
                INFO(backend[1] << " run " << run << ": " << r.stderr_text);
                CHECK(r.exit_code == 0);
                ++runs;
                if (!fs::exists(dir))
                    continue;
                for (const auto& e : fs::recursive_directory_iterator(dir)) {
                    if (!e.is_regular_file())
                        continue;
                    ++saved;
                    if (read_bytes(e.path()) != "env")
                        ++leaked;
                }
            }
        }
        MESSAGE(saved << " files saved over " << runs << " runs");
        CHECK(saved > 0);
        CHECK(leaked == 0);
    }

} // TEST_SUITE
