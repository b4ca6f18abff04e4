// The CLI with the Docker backend, end to end: `stirrup exec --backend
// docker`, `stirrup run --backend docker` and `stirrup docker reap`, the real
// binary against the real engine.

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <boost/json.hpp>

#include "stirrup/exec/docker/detail/labels.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/local/detail/child_process.hpp"
#include "support/cli_process.hpp"
#include "support/docker_env.hpp"
#include "support/helpers.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::detail::ChildProcessResult;
using stirrup::test::json_lines;
using stirrup::test::run_sync;
namespace fs = std::filesystem;
namespace json = boost::json;

using stirrup::test::read_bytes;

namespace {

ChildProcessResult stirrup_cli(std::vector<std::string> args, std::function<void(int)> on_spawn = {})
{
    return test::run_stirrup(args, test::inherited_env(), std::chrono::seconds(120), std::move(on_spawn));
}

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() / ("stirrup-cli-docker-" + name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("stirrup exec --backend docker --image: limits applied, files in and out, the container removed")
{
    test::require_docker_engine();
    TempDir dir("exec");
    std::ofstream(dir.path / "data.txt") << "from the host\n";
    auto r = stirrup_cli({"exec", "--backend", "docker", "--image", test::docker_test_image(), "--memory", "256m",
                          "--pids", "64", "--input", (dir.path / "data.txt").string(), "--output",
                          (dir.path / "out").string(), "--save", "result.txt", "--json", "--", "echo $HOSTNAME",
                          "pwd; cat data.txt | tr a-z A-Z > result.txt; cat result.txt"});
    INFO("stderr: " << r.stderr_text);
    REQUIRE(r.exit_code == 0);
    auto lines = json_lines(r.stdout_text);
    REQUIRE(lines.size() == 3);
    const std::string hostname(lines[0].at("stdout").as_string());
    CHECK(lines[1].at("stdout").as_string() == "/workspace\nFROM THE HOST\n");
    CHECK(read_bytes(dir.path / "out/result.txt") == "FROM THE HOST\n");
    CHECK(lines[2].at("saved").as_array().size() == 1);
    // The container's hostname is its short ID: the container is gone.
    REQUIRE(hostname.size() == 13);
    CHECK_FALSE(test::inspect_container(hostname.substr(0, 12)).has_value());
}

TEST_CASE("stirrup exec --backend docker --dockerfile: build args, and a failing build is one clear error")
{
    test::require_docker_engine();
    TempDir dir("build");
    std::ofstream(dir.path / "Dockerfile")
        << "FROM " << test::docker_test_image() << "\nARG GREETING=unset\nRUN echo \"$GREETING\" > /greeting.txt\n";
    auto r = stirrup_cli({"exec", "--backend", "docker", "--dockerfile", (dir.path / "Dockerfile").string(),
                          "--build-arg", "GREETING=hello from a build arg", "--", "cat /greeting.txt"});
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    CHECK(r.stdout_text.find("hello from a build arg") != std::string::npos);

    fs::create_directories(dir.path / "broken");
    std::ofstream(dir.path / "broken/Dockerfile")
        << "FROM " << test::docker_test_image() << "\nRUN echo about to fail && exit 7\n";
    test::remove_image(dockerfile_image_tag(dir.path / "Dockerfile"));
    r = stirrup_cli(
        {"exec", "--backend", "docker", "--dockerfile", (dir.path / "broken/Dockerfile").string(), "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(r.stdout_text.empty());
    CHECK(r.stderr_text.find("stirrup exec: ") == 0);
    CHECK(r.stderr_text.find("returned a non-zero code: 7") != std::string::npos);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
}

TEST_CASE("stirrup exec: docker usage errors exit 1 before touching the engine")
{
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"--backend", "docker", "--", "true"}, "exactly one of --image NAME and --dockerfile PATH"},
        {{"--backend", "docker", "--image", "a", "--dockerfile", "b", "--", "true"}, "exactly one of"},
        {{"--image", "debian", "--", "true"}, "need --backend docker"},
        {{"--backend", "docker", "--image", "a", "--context", ".", "--", "true"}, "--context goes with --dockerfile"},
        {{"--backend", "docker", "--image", "a", "--memory", "lots", "--", "true"}, "a size like 512m"},
        {{"--backend", "docker", "--image", "a", "--cpus", "0", "--", "true"}, "--cpus needs a positive number"},
        {{"--backend", "docker", "--image", "a", "--file-mode", "nfs", "--", "true"}, "bind or archive"},
        {{"--backend", "docker", "--dockerfile", "D", "--build-arg", "NOEQUALS", "--", "true"}, "KEY=VALUE"},
        {{"--backend", "podman", "--", "true"}, "unknown backend 'podman'"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = {"exec"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        CAPTURE(c.message);
        auto r = stirrup_cli(args);
        CHECK(r.exit_code == 1);
        CHECK(r.stderr_text.find(c.message) != std::string::npos);
    }
}

TEST_CASE("stirrup docker reap removes the container of a CLI that was killed")
{
    test::require_docker_engine();
    std::atomic<int> pid{0};
    std::string container;
    std::thread killer([&] {
        for (int i = 0; i < 1200 && container.empty(); ++i) {
            if (const int p = pid.load(); p > 0) {
                const auto ids = test::containers_with_label(std::string(detail::docker::label_owner) + "=" +
                                                             std::to_string(p) + "@" + detail::docker::host_name());
                if (!ids.empty()) {
                    container = ids.front();
                    break;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        // SIGKILL: the CLI gets no chance to remove its container.
        if (pid.load() > 0)
            ::kill(pid.load(), SIGKILL);
    });
    auto r = stirrup_cli({"exec", "--backend", "docker", "--image", test::docker_test_image(), "--", "sleep 600"},
                         [&](int p) { pid.store(p); });
    killer.join();
    REQUIRE_FALSE(container.empty());
    CHECK(r.exit_code == -SIGKILL);
    const auto inspected = test::inspect_container(container);
    REQUIRE(inspected.has_value());
    // The workspace the CLI bind-mounted: left on the host by the kill.
    std::string workspace;
    if (const auto* mounts = inspected->if_contains("Mounts"); mounts && mounts->is_array())
        for (const auto& m : mounts->as_array())
            if (m.at("Type") == "bind")
                workspace = std::string(m.at("Source").as_string());
    REQUIRE(fs::path(workspace).filename().string().rfind("docker_exec_env_", 0) == 0);
    CHECK(fs::is_directory(workspace));

    r = stirrup_cli({"docker", "reap", "--json"});
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    const auto reaped = json::parse(r.stdout_text);
    const auto removed = reaped.at("removed").as_array();
    CHECK(std::find(removed.begin(), removed.end(), json::value(container)) != removed.end());
    CHECK_FALSE(test::inspect_container(container).has_value());
    const auto directories = reaped.at("directories").as_array();
    CHECK(std::find(directories.begin(), directories.end(), json::value(workspace)) != directories.end());
    CHECK_FALSE(fs::exists(workspace));

    r = stirrup_cli({"docker", "bogus"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("expected the subcommand 'reap'") != std::string::npos);
}

TEST_CASE("stirrup run --backend docker: the demo agent does its work in a container")
{
    test::require_docker_engine();
    TempDir dir("run");
    const auto out = dir.path / "output";
    auto r = stirrup_cli({"run", "--demo", "--json", "--backend", "docker", "--image", test::docker_test_image(),
                          "--output", out.string(), "Show me what you can do"});
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    const auto summary = json::parse(r.stdout_text).as_object();
    CHECK(summary.at("finished") == true);
    CHECK(summary.at("output_files").at("saved").as_array().size() == 2);
    CHECK(read_bytes(out / "report.md").find("- count: 46") != std::string::npos);
}
