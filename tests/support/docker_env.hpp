#pragma once
// The Docker tests' access to the engine: the test image's name, a check
// that fails loudly (never skips) when no engine answers, a provider that is
// always stopped, and synchronous engine queries to look at containers from
// outside the provider under test.

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "stirrup/exec/docker/docker.hpp"
#include "support/run_sync.hpp"

namespace stirrup::test {

/// STIRRUP_TEST_DOCKER_IMAGE, default stirrup-test:bookworm.
std::string docker_test_image();

/// Fails the current test (doctest REQUIRE) with a message saying how to
/// start the engine and build the image when either is missing.
void require_docker_engine();

/// Options for a test provider: the test image's engine, no network, and
/// the given file mode.
DockerCodeExecOptions docker_options(DockerFileMode mode = DockerFileMode::automatic);

/// Container inspect JSON, or nullopt when the container does not exist.
std::optional<boost::json::object> inspect_container(const std::string& id);

/// IDs of containers (any state) carrying this label ("key=value").
std::vector<std::string> containers_with_label(const std::string& label);

/// Runs a command in a container from outside the provider (as root) and
/// returns its stdout.
std::string exec_in_container(const std::string& id, const std::vector<std::string>& argv);

/// Removes a container if it exists.
void remove_container(const std::string& id);

/// Removes an image tag (a test's build) if it exists.
void remove_image(const std::string& name);

/// Runs `body` against a started provider and always stops it.
template <class Body>
void with_docker(std::unique_ptr<DockerCodeExec> env, Body body)
{
    run_sync([&]() -> awaitable<void> {
        co_await env->start();
        std::exception_ptr failure;
        try {
            co_await body(*env);
        } catch (...) {
            failure = std::current_exception();
        }
        co_await env->stop();
        if (failure)
            std::rethrow_exception(failure);
    });
}

template <class Body>
void with_docker(DockerCodeExecOptions options, Body body)
{
    with_docker(DockerCodeExec::from_image(docker_test_image(), std::move(options)), std::move(body));
}

} // namespace stirrup::test
