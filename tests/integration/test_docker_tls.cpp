// A remote engine over TCP+TLS with client authentication, as `dockerd
// --tlsverify` serves it: the real local engine behind a TLS front that
// demands a client certificate (tests/fakes/tls-unix-proxy.mjs), with
// certificates made for this run. The endpoint comes from DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI reads them.

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/local/detail/child_process.hpp"
#include "support/cli_process.hpp"
#include "support/docker_env.hpp"
#include "support/node_server.hpp"
#include "support/run_sync.hpp"
#include "support/test_certs.hpp"

using namespace stirrup;
namespace fs = std::filesystem;

namespace {

/// A DOCKER_CERT_PATH directory: ca.pem, and cert.pem/key.pem when given.
struct CertPath {
    fs::path dir;
    CertPath(const std::string& name, const fs::path& ca, const std::string& client)
        : dir(fs::temp_directory_path() / ("stirrup-docker-tls-" + name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(dir);
        fs::create_directories(dir);
        fs::copy_file(ca, dir / "ca.pem");
        if (!client.empty()) {
            fs::copy_file(test::test_certs().cert(client), dir / "cert.pem");
            fs::copy_file(test::test_certs().key(client), dir / "key.pem");
        }
    }
    ~CertPath() { fs::remove_all(dir); }
};

/// The engine's socket, behind TLS that demands a client certificate from the test CA.
struct TlsEngine {
    test::NodeServer proxy;
    TlsEngine()
        : proxy(STIRRUP_SOURCE_DIR "/tests/fakes/tls-unix-proxy.mjs",
                {"--cert", test::test_certs().server_cert.string(), "--key", test::test_certs().server_key.string(),
                 "--ca", test::test_certs().ca_cert.string(), "--socket", "/var/run/docker.sock"})
    {
        test::require_docker_engine();
    }
    std::string host() const { return "tcp://127.0.0.1:" + std::to_string(proxy.port()); }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(proxy.port()); }
    std::map<std::string, std::string> env(const CertPath& certs) const
    {
        return {{"DOCKER_HOST", host()}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CERT_PATH", certs.dir.string()}};
    }
};

detail::docker::Endpoint endpoint_for(const std::map<std::string, std::string>& env)
{
    return detail::docker::endpoint_from_env([&](std::string_view name) -> std::optional<std::string> {
        if (auto it = env.find(std::string(name)); it != env.end())
            return it->second;
        return std::nullopt;
    });
}

/// Runs `body(client)` on a fresh io_context with a client for `endpoint`.
template <class Body>
void with_client(detail::docker::Endpoint endpoint, Body body)
{
    boost::asio::io_context io;
    docker::ClientOptions options;
    options.request_timeout = std::chrono::seconds(30);
    auto client = std::make_shared<docker::Client>(io.get_executor(), std::move(endpoint), options);
    std::exception_ptr failure;
    boost::asio::co_spawn(io, body(client), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
}

/// What ping() throws (empty when it succeeds).
std::string ping_failure(detail::docker::Endpoint endpoint)
{
    std::string message;
    with_client(std::move(endpoint), [&](std::shared_ptr<docker::Client> client) -> awaitable<void> {
        try {
            co_await client->ping();
        } catch (const std::exception& e) {
            message = e.what();
        }
    });
    return message;
}

} // namespace

TEST_CASE("docker over TCP+TLS with a client certificate: a session works, files go as archives")
{
    TlsEngine engine;
    CertPath certs("good", test::test_certs().ca_cert, "client");
    const auto endpoint = endpoint_for(engine.env(certs));
    CHECK(endpoint.url == "https://127.0.0.1:" + std::to_string(engine.proxy.port()));
    std::string container;
    with_client(endpoint, [&](std::shared_ptr<docker::Client> client) -> awaitable<void> {
        auto o = test::docker_options();
        o.client = client;
        auto env = DockerCodeExec::from_image(test::docker_test_image(), std::move(o));
        co_await env->start();
        container = env->container_id().value_or("");
        std::exception_ptr failure;
        try {
            // Remote: no bind mount, files travel through the engine.
            CHECK_FALSE(env->bind_mounted());
            co_await env->write_file("in/data.txt", "over tls\n");
            auto r = co_await env->run_command("cat in/data.txt | tr a-z A-Z > out.txt; cat out.txt");
            CHECK(r.stdout_text == "OVER TLS\n");
            CHECK(co_await env->read_file("out.txt") == "OVER TLS\n");
        } catch (...) {
            failure = std::current_exception();
        }
        co_await env->stop();
        if (failure)
            std::rethrow_exception(failure);
    });
    REQUIRE_FALSE(container.empty());
    CHECK_FALSE(test::inspect_container(container).has_value());
}

TEST_CASE("docker over TLS: no client certificate, or an untrusted engine certificate, is a clear error")
{
    TlsEngine engine;
    SUBCASE("the engine demands a client certificate the client does not have")
    {
        CertPath certs("nocert", test::test_certs().ca_cert, "");
        const std::string message = ping_failure(endpoint_for(engine.env(certs)));
        INFO(message);
        CHECK(message.find(engine.url()) != std::string::npos);
        CHECK(message.find("certificate required") != std::string::npos);
    }
    SUBCASE("a client certificate from a CA the engine does not trust")
    {
        CertPath certs("othercert", test::test_certs().ca_cert, "untrusted-client");
        const std::string message = ping_failure(endpoint_for(engine.env(certs)));
        INFO(message);
        CHECK(message.find(engine.url()) != std::string::npos);
    }
    SUBCASE("the engine's certificate is not signed by DOCKER_CERT_PATH/ca.pem")
    {
        CertPath certs("wrongca", test::test_certs().dir / "other-ca.pem", "client");
        const std::string message = ping_failure(endpoint_for(engine.env(certs)));
        INFO(message);
        CHECK(message.find("certificate verify failed") != std::string::npos);
    }
    SUBCASE("a key that does not belong to the certificate")
    {
        CertPath certs("mismatch", test::test_certs().ca_cert, "client");
        fs::copy_file(test::test_certs().server_key, certs.dir / "key.pem", fs::copy_options::overwrite_existing);
        boost::asio::io_context io;
        CHECK_THROWS_WITH_AS(docker::Client(io.get_executor(), endpoint_for(engine.env(certs))),
                             doctest::Contains("key values mismatch"), SystemError);
    }
}

TEST_CASE("stirrup exec --backend docker against a TLS engine named by DOCKER_HOST")
{
    TlsEngine engine;
    CertPath certs("cli", test::test_certs().ca_cert, "client");
    std::vector<std::string> env;
    for (const auto& [k, v] : engine.env(certs))
        env.push_back(k + "=" + v);
    auto r = test::run_stirrup(
        {"exec", "--backend", "docker", "--image", test::docker_test_image(), "--", "echo from a remote engine"},
        test::inherited_env(env));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    CHECK(r.stdout_text.find("from a remote engine") != std::string::npos);
}
