// The Docker backend's containers against the real engine: what a started
// provider's container looks like (labels, limits, mounts), and that it is
// gone after stop, after an exception, after a cancellation, and after the
// provider was destroyed without stop.

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/docker/detail/labels.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using stirrup::test::docker_options;
using stirrup::test::inspect_container;
using stirrup::test::run_sync;
using stirrup::test::with_docker;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t num(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v && v->is_int64() ? v->as_int64() : -1;
}

// Polls (the removal happens in the background) until the container is gone.
bool eventually_gone(const std::string& id)
{
    for (int i = 0; i < 100; ++i) {
        if (!inspect_container(id))
            return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

} // namespace

TEST_CASE("docker: a started container is labelled, limited and bind-mounted; stop removes it")
{
    auto o = docker_options(DockerFileMode::bind_mount);
    o.memory_bytes = 256LL * 1024 * 1024;
    o.cpus = 0.5;
    o.pids_limit = 128;
    o.labels["test.case"] = "lifecycle";
    auto env = DockerCodeExec::from_image(test::docker_test_image(), o);
    std::string id;
    fs::path temp;
    run_sync([&]() -> awaitable<void> {
        auto& env2 = env;
        co_await env2->start();
        id = *env2->container_id();
        temp = *env2->temp_dir();
        const auto info = inspect_container(id);
        REQUIRE(info);
        const auto& state = info->at("State").as_object();
        CHECK(state.at("Running").as_bool());
        const auto& config = info->at("Config").as_object();
        const auto& labels = config.at("Labels").as_object();
        CHECK(str(labels, "org.stirrup") == "1");
        CHECK(str(labels, "stirrup.owner") == std::to_string(::getpid()) + "@" + stirrup::detail::docker::host_name());
        CHECK(str(labels, "stirrup.session") == env2->session_id());
        CHECK(str(labels, "stirrup.created").size() == 20);
        CHECK_FALSE(str(labels, "stirrup.owner.started").empty());
        CHECK(str(labels, "test.case") == "lifecycle");
        CHECK(str(config, "WorkingDir") == "/workspace");
        const auto& host = info->at("HostConfig").as_object();
        CHECK(num(host, "Memory") == 256LL * 1024 * 1024);
        CHECK(num(host, "NanoCpus") == 500'000'000);
        CHECK(num(host, "PidsLimit") == 128);
        CHECK(str(host, "NetworkMode") == "none");
        CHECK(host.at("Init").as_bool());
        const auto& binds = host.at("Binds").as_array();
        REQUIRE(binds.size() == 1);
        CHECK(std::string(binds[0].as_string()) == temp.string() + ":/workspace:rw");
        CHECK(env2->bind_mounted());
        // The mount is live both ways.
        auto r = co_await env2->run_command("echo from-container > seen.txt && cat host.txt 2>&1; true");
        CHECK(r.exit_code == 0);
        CHECK(fs::exists(temp / "seen.txt"));
        co_await env2->stop();
    });
    CHECK_FALSE(inspect_container(id));
    CHECK_FALSE(fs::exists(temp));
    CHECK_FALSE(env->container_id());
    CHECK_FALSE(env->temp_dir());
}

TEST_CASE("docker: archive mode mounts nothing")
{
    with_docker(docker_options(DockerFileMode::archive), [](DockerCodeExec& env) -> awaitable<void> {
        CHECK_FALSE(env.bind_mounted());
        CHECK_FALSE(env.temp_dir());
        const auto info = inspect_container(*env.container_id());
        REQUIRE(info);
        const auto& host = info->at("HostConfig").as_object();
        const auto* binds = host.if_contains("Binds");
        CHECK((binds == nullptr || binds->is_null() || binds->as_array().empty()));
        co_return;
    });
}

TEST_CASE("docker: the container is removed when the session's body throws")
{
    std::string id;
    CHECK_THROWS_WITH_AS(with_docker(docker_options(),
                                     [&](DockerCodeExec& env) -> awaitable<void> {
                                         id = *env.container_id();
                                         co_await env.run_command("true");
                                         throw std::runtime_error("the body failed");
                                     }),
                         "the body failed", std::runtime_error);
    REQUIRE_FALSE(id.empty());
    CHECK_FALSE(inspect_container(id));
}

namespace {

// A session through the code_exec tool provider, as an agent runs one: the
// environment is stopped however the body ends.
awaitable<void> tool_session(CodeExecToolProvider& provider, std::string& id, bool& stopped)
{
    auto started = co_await provider.start(nullptr);
    CodeExecProvider* env = started->exec_env();
    id = *static_cast<DockerCodeExec*>(env)->container_id();
    std::exception_ptr failure;
    try {
        co_await env->run_command("sleep 919401");
    } catch (...) {
        failure = std::current_exception();
    }
    co_await started->stop();
    stopped = true;
    if (failure)
        std::rethrow_exception(failure);
}

} // namespace

TEST_CASE("docker: a cancelled session removes its container")
{
    auto provider = docker_code_exec(test::docker_test_image(), docker_options());
    CHECK(provider->name() == "DockerCodeExecToolProvider");
    std::string id;
    bool stopped = false;
    run_sync([&]() -> awaitable<void> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 1500ms);
        auto which = co_await (tool_session(*provider, id, stopped) || timer.async_wait(boost::asio::use_awaitable));
        CHECK(which.index() == 1);
    });
    CHECK(stopped);
    REQUIRE_FALSE(id.empty());
    CHECK_FALSE(inspect_container(id));
}

TEST_CASE("docker: a provider destroyed while started removes its container in the background")
{
    std::string id;
    std::string warning;
    auto o = docker_options(DockerFileMode::bind_mount);
    o.on_warning = [&](std::string_view m) { warning = m; };
    fs::path temp;
    run_sync([&]() -> awaitable<void> {
        auto env = DockerCodeExec::from_image(test::docker_test_image(), o);
        co_await env->start();
        id = *env->container_id();
        temp = *env->temp_dir();
    });
    CHECK(warning.find("stop() was not awaited") != std::string::npos);
    CHECK(eventually_gone(id));
    for (int i = 0; i < 100 && fs::exists(temp); ++i)
        std::this_thread::sleep_for(50ms);
    CHECK_FALSE(fs::exists(temp));
}

TEST_CASE("docker: a start that fails leaves no container behind")
{
    // No registry answers on 127.0.0.1:1: the pull fails at once. Three
    // sessions wait for the same pull lock and each reports the failure.
    auto o = docker_options();
    std::vector<std::unique_ptr<DockerCodeExec>> envs;
    for (int i = 0; i < 3; ++i)
        envs.push_back(DockerCodeExec::from_image("127.0.0.1:1/stirrup/none:1", o));
    std::vector<std::string> errors(envs.size());
    run_sync([&]() -> awaitable<void> {
        auto one = [&](std::size_t i) -> awaitable<void> {
            try {
                co_await envs[i]->start();
            } catch (const Error& e) {
                errors[i] = e.what();
            }
        };
        co_await (one(0) && one(1) && one(2));
    });
    for (std::size_t i = 0; i < envs.size(); ++i) {
        INFO(errors[i]);
        CHECK(errors[i].rfind("Failed to pull Docker image '127.0.0.1:1/stirrup/none:1': ", 0) == 0);
        CHECK_FALSE(envs[i]->started());
        CHECK(test::containers_with_label("stirrup.session=" + envs[i]->session_id()).empty());
    }
}

TEST_CASE("docker: a start cancelled half-way leaves no container behind")
{
    // Cancelled at different points of start (image check, create, start).
    for (auto delay : {50ms, 200ms, 400ms}) {
        std::string session;
        auto o = docker_options();
        o.on_warning = [](std::string_view) {};
        run_sync([&]() -> awaitable<void> {
            auto env = DockerCodeExec::from_image(test::docker_test_image(), o);
            session = env->session_id();
            boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
            auto which = co_await (env->start() || timer.async_wait(boost::asio::use_awaitable));
            if (which.index() == 0)
                co_await env->stop(); // start won the race: an ordinary stop
        });
        std::vector<std::string> left = test::containers_with_label("stirrup.session=" + session);
        for (int i = 0; i < 100 && !left.empty(); ++i) {
            std::this_thread::sleep_for(100ms);
            left = test::containers_with_label("stirrup.session=" + session);
        }
        INFO("cancelled after " << delay.count() << " ms");
        CHECK(left.empty());
    }
}
