// Images for the Docker backend: building from a Dockerfile (context, build
// args, a Dockerfile outside its context), a failing build's message, and
// Stirrup's advice when an image lacks coreutils `timeout`.

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::test::docker_options;
using stirrup::test::run_sync;
using stirrup::test::with_docker;
namespace fs = std::filesystem;

namespace {

struct BuildDir {
    fs::path path;
    explicit BuildDir(const std::string& name)
        : path(fs::temp_directory_path() / ("stirrup-build-" + name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~BuildDir() { fs::remove_all(path); }

    void write(const std::string& rel, const std::string& text) const
    {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel) << text;
    }
};

std::string from_test_image()
{
    return "FROM " + test::docker_test_image() + "\n";
}

} // namespace

TEST_CASE("docker image: from_dockerfile builds with the context and build args")
{
    BuildDir dir("ok");
    dir.write("Dockerfile", from_test_image() + "ARG GREETING=hi\n"
                                                "COPY hello.txt /opt/hello.txt\n"
                                                "RUN echo \"$GREETING from build\" > /opt/built.txt\n");
    dir.write("hello.txt", "hello from the context\n");
    std::map<std::string, std::string> args{{"GREETING", "hello"}};
    auto env = DockerCodeExec::from_dockerfile(dir.path / "Dockerfile", std::nullopt, args, docker_options());
    std::string tag;
    with_docker(std::move(env), [&](DockerCodeExec& e) -> awaitable<void> {
        tag = e.image();
        CHECK(e.image().rfind("stirrup-exec-env-", 0) == 0);
        CHECK(e.image().size() == std::string("stirrup-exec-env-").size() + 8);
        auto r = co_await e.run_command("cat /opt/built.txt /opt/hello.txt");
        CHECK(r.stdout_text == "hello from build\nhello from the context\n");
    });
    test::remove_image(tag);
}

TEST_CASE("docker image: a Dockerfile outside its context")
{
    BuildDir files("ctx");
    files.write("data/in.txt", "context file\n");
    BuildDir recipe("recipe");
    recipe.write("Build.dockerfile", from_test_image() + "COPY data/in.txt /opt/in.txt\n");
    auto env = DockerCodeExec::from_dockerfile(recipe.path / "Build.dockerfile", files.path, {}, docker_options());
    std::string tag;
    with_docker(std::move(env), [&](DockerCodeExec& e) -> awaitable<void> {
        tag = e.image();
        auto r = co_await e.run_command("cat /opt/in.txt");
        CHECK(r.stdout_text == "context file\n");
    });
    test::remove_image(tag);
}

TEST_CASE("docker image: a failing build names the step and the engine's message")
{
    BuildDir dir("fail");
    dir.write("Dockerfile", from_test_image() + "RUN echo about to fail && exit 3\n");
    auto env = DockerCodeExec::from_dockerfile(dir.path / "Dockerfile", std::nullopt, {}, docker_options());
    std::string message;
    try {
        run_sync([&]() -> awaitable<void> { co_await env->start(); });
    } catch (const Error& e) {
        message = e.what();
    }
    INFO(message);
    CHECK(message.rfind("Failed to build Docker image: ", 0) == 0);
    CHECK(message.find("RUN echo about to fail && exit 3") != std::string::npos);
    CHECK(message.find("returned a non-zero code: 3") != std::string::npos);
    CHECK_FALSE(env->started());
    CHECK(test::containers_with_label("stirrup.session=" + env->session_id()).empty());

    // A Dockerfile the engine cannot parse fails before the stream starts.
    dir.write("Dockerfile", from_test_image() + "FOOBAR nothing\n");
    auto env2 = DockerCodeExec::from_dockerfile(dir.path / "Dockerfile", std::nullopt, {}, docker_options());
    message.clear();
    try {
        run_sync([&]() -> awaitable<void> { co_await env2->start(); });
    } catch (const Error& e) {
        message = e.what();
    }
    INFO(message);
    CHECK(message.find("Failed to build Docker image: ") == 0);
    CHECK(message.find("unknown instruction: FOOBAR") != std::string::npos);

    auto env3 = DockerCodeExec::from_dockerfile(dir.path / "Nope.dockerfile", std::nullopt, {}, docker_options());
    CHECK_THROWS_WITH_AS(run_sync([&]() -> awaitable<void> { co_await env3->start(); }),
                         doctest::Contains("Dockerfile not found"), Error);
}

TEST_CASE("docker image: an image without coreutils timeout gets Stirrup's advice")
{
    BuildDir dir("no-timeout");
    dir.write("Dockerfile", from_test_image() + "RUN rm /usr/bin/timeout\n");
    auto o = docker_options();
    auto env = DockerCodeExec::from_dockerfile(dir.path / "Dockerfile", std::nullopt, {}, o);
    std::string tag;
    with_docker(std::move(env), [&](DockerCodeExec& e) -> awaitable<void> {
        tag = e.image();
        // Shell mode: bash reports the missing binary (exit 127).
        auto r = co_await e.run_command("echo hi");
        CHECK(r.exit_code == 127);
        CHECK(r.error_kind == "image_missing_timeout");
        CHECK(r.advice->find("coreutils") != std::string::npos);
        CHECK(r.stderr_text.find("timeout: command not found") != std::string::npos);
    });
    o.allowed_commands = {"^echo"};
    env = DockerCodeExec::from_dockerfile(dir.path / "Dockerfile", std::nullopt, {}, o);
    with_docker(std::move(env), [](DockerCodeExec& e) -> awaitable<void> {
        // Argv mode: the engine itself cannot start `timeout` and says so
        // inside the output stream.
        auto r = co_await e.run_command("echo hi");
        CHECK(r.error_kind == "image_missing_timeout");
        CHECK(r.stdout_text.empty());
        CHECK(r.stderr_text.find("\"timeout\": executable file not found") != std::string::npos);
        CHECK(r.stderr_text.find("\r\n") == std::string::npos);
    });
    test::remove_image(tag);
}
