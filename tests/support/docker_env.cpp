#include "support/docker_env.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

#include <boost/asio/this_coro.hpp>

#include "stirrup/exec/docker/detail/client.hpp"

namespace stirrup::test {
namespace json = boost::json;

namespace {

// Named coroutines rather than lambdas (GCC 12 mishandles some coroutine
// lambdas), each with a fresh client on the caller's io_context.
std::shared_ptr<docker::Client> client_here(boost::asio::any_io_executor ex)
{
    return docker::Client::from_env(std::move(ex));
}

awaitable<bool> engine_has_image(std::string image)
{
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto client = client_here(ex);
    co_await client->ping();
    const auto info = co_await client->image_inspect(image);
    co_return info.has_value();
}

awaitable<std::optional<json::object>> inspect(std::string id)
{
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto client = client_here(ex);
    auto info = co_await client->container_inspect(id);
    co_return info;
}

awaitable<json::array> list_by_label(std::string label)
{
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto client = client_here(ex);
    std::vector<std::string> labels;
    labels.push_back(label);
    auto list = co_await client->containers_by_label(labels);
    co_return list;
}

awaitable<std::string> exec_stdout(std::string id, std::vector<std::string> argv)
{
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto client = client_here(ex);
    detail::docker::ExecConfig config;
    config.cmd = std::move(argv);
    config.user = "0";
    const std::string exec_id = co_await client->exec_create(id, config);
    std::string out;
    detail::docker::OutputSink sink = [&out](detail::docker::StreamId s, std::string_view piece) {
        if (s == detail::docker::StreamId::stdout_stream)
            out.append(piece);
    };
    co_await client->exec_start(exec_id, sink);
    co_return out;
}

awaitable<bool> remove(std::string id)
{
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto client = client_here(ex);
    const bool removed = co_await client->container_remove(id, true, true);
    co_return removed;
}

awaitable<bool> untag(std::string name)
{
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto client = client_here(ex);
    const bool removed = co_await client->image_remove(name);
    co_return removed;
}

} // namespace

std::string docker_test_image()
{
    const char* v = std::getenv("STIRRUP_TEST_DOCKER_IMAGE");
    return v && *v ? v : "stirrup-test:bookworm";
}

void require_docker_engine()
{
    static bool checked = false;
    if (checked)
        return;
    std::string problem;
    try {
        const std::string image = docker_test_image();
        const bool found = run_sync([&] { return engine_has_image(image); });
        if (!found)
            problem = "the Docker engine has no image " + image +
                      "; build it with scripts/docker-test-image (or run scripts/test)";
    } catch (const std::exception& e) {
        problem = std::string("no Docker engine answers (") + e.what() +
                  "); start one with `scripts/docker-engine start` (or run scripts/test). "
                  "The Docker tests never skip.";
    }
    INFO(problem);
    REQUIRE(problem.empty());
    checked = true;
}

DockerCodeExecOptions docker_options(DockerFileMode mode)
{
    require_docker_engine();
    DockerCodeExecOptions o;
    o.file_mode = mode;
    o.network_mode = "none";
    return o;
}

std::optional<json::object> inspect_container(const std::string& id)
{
    return run_sync([&] { return inspect(id); });
}

std::vector<std::string> containers_with_label(const std::string& label)
{
    const json::array list = run_sync([&] { return list_by_label(label); });
    std::vector<std::string> ids;
    for (const auto& v : list)
        ids.emplace_back(v.as_object().at("Id").as_string());
    return ids;
}

std::string exec_in_container(const std::string& id, const std::vector<std::string>& argv)
{
    return run_sync([&] { return exec_stdout(id, argv); });
}

void remove_container(const std::string& id)
{
    run_sync([&] { return remove(id); });
}

void remove_image(const std::string& name)
{
    run_sync([&] { return untag(name); });
}

} // namespace stirrup::test
