// Many Docker sessions at once on one image, and the reaper that removes
// containers whose owner process died.

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/detail/labels.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"
#include "support/helpers.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::test::docker_options;
using stirrup::test::run_sync;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using stirrup::test::dead_pid;

struct SessionOutcome {
    std::string container;
    std::string output;
    std::string file;
    std::string error;
};

awaitable<void> one_session(int i, DockerFileMode mode, SessionOutcome& out)
{
    auto env = DockerCodeExec::from_image(test::docker_test_image(), docker_options(mode));
    co_await env->start();
    out.container = *env->container_id();
    std::exception_ptr failure;
    try {
        const std::string n = std::to_string(i);
        auto r = co_await env->run_command("echo " + n + " > n.txt && cat n.txt && hostname > /dev/null");
        out.output = r.stdout_text;
        out.file = co_await env->read_file("n.txt");
    } catch (...) {
        failure = std::current_exception();
    }
    co_await env->stop();
    if (failure)
        std::rethrow_exception(failure);
}

// A container that looks like a session's, with the owner label given.
awaitable<std::string> labelled_container(std::string owner, std::string started)
{
    const auto ex = co_await asio::this_coro::executor;
    auto client = docker::client_from_env(ex);
    json::object config;
    config["Image"] = test::docker_test_image();
    json::array cmd;
    cmd.emplace_back("sleep");
    cmd.emplace_back("infinity");
    config["Cmd"] = std::move(cmd);
    json::object labels;
    labels["org.stirrup"] = "1";
    labels["stirrup.owner"] = owner;
    if (!started.empty())
        labels["stirrup.owner.started"] = started;
    labels["stirrup.session"] = "reaper-test";
    config["Labels"] = std::move(labels);
    json::object host;
    host["NetworkMode"] = "none";
    config["HostConfig"] = std::move(host);
    const std::string id = co_await client->container_create(config);
    co_await client->container_start(id);
    co_return id;
}

awaitable<std::vector<std::string>> reap()
{
    const auto ex = co_await asio::this_coro::executor;
    auto client = docker::client_from_env(ex);
    auto removed = co_await reap_orphans(*client);
    co_return removed;
}

} // namespace

TEST_CASE("docker: 20 sessions at once on one image")
{
    test::require_docker_engine();
    constexpr int sessions = 20;
    std::vector<SessionOutcome> outcomes(sessions);
    asio::io_context io;
    for (int i = 0; i < sessions; ++i) {
        // Half of them move files through archives.
        const auto mode = i % 2 ? DockerFileMode::archive : DockerFileMode::bind_mount;
        asio::co_spawn(io, one_session(i, mode, outcomes[i]), [&outcomes, i](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                outcomes[i].error = ex.what();
            }
        });
    }
    io.run();
    std::set<std::string> containers;
    for (int i = 0; i < sessions; ++i) {
        INFO("session " << i << ": " << outcomes[i].error);
        CHECK(outcomes[i].error.empty());
        CHECK(outcomes[i].output == std::to_string(i) + "\n");
        CHECK(outcomes[i].file == std::to_string(i) + "\n");
        containers.insert(outcomes[i].container);
        CHECK_FALSE(test::inspect_container(outcomes[i].container));
    }
    CHECK(containers.size() == sessions);
}

TEST_CASE("docker: reap_orphans removes the containers of dead owners, and only those")
{
    test::require_docker_engine();
    const std::string here = detail::docker::host_name();
    const long me = ::getpid();
    const std::string my_start = std::to_string(*detail::docker::process_start_ticks(me));
    const std::string dead = run_sync([&] { return labelled_container(std::to_string(dead_pid()) + "@" + here, ""); });
    // Our pid, but another process's start time: a reused pid.
    const std::string reused = run_sync([&] { return labelled_container(std::to_string(me) + "@" + here, "1"); });
    const std::string alive = run_sync([&] { return labelled_container(std::to_string(me) + "@" + here, my_start); });
    const std::string elsewhere = run_sync([&] { return labelled_container("1@some-other-host", ""); });

    const auto removed = run_sync([] { return reap(); });
    std::set<std::string> got(removed.begin(), removed.end());
    CHECK(got.count(dead) == 1);
    CHECK(got.count(reused) == 1);
    CHECK(got.count(alive) == 0);
    CHECK(got.count(elsewhere) == 0);
    CHECK_FALSE(test::inspect_container(dead));
    CHECK_FALSE(test::inspect_container(reused));
    CHECK(test::inspect_container(alive));
    CHECK(test::inspect_container(elsewhere));
    test::remove_container(alive);
    test::remove_container(elsewhere);
}
