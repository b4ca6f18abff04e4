// DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH as the
// docker CLI reads them, API version negotiation and versioned paths.

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker/detail/endpoint.hpp"

#include "support/helpers.hpp"

using stirrup::ConfigError;
using stirrup::detail::docker::api_path;
using stirrup::detail::docker::api_version_for;
using stirrup::detail::docker::Endpoint;
using stirrup::detail::docker::endpoint_from_env;

using stirrup::test::contains;

namespace {

Endpoint from(std::map<std::string, std::string> env)
{
    return endpoint_from_env([&](std::string_view name) -> std::optional<std::string> {
        const auto it = env.find(std::string(name));
        if (it == env.end())
            return std::nullopt;
        return it->second;
    });
}

std::string config_error(std::map<std::string, std::string> env)
{
    try {
        from(std::move(env));
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("no ConfigError");
    return {};
}

} // namespace

TEST_CASE("docker endpoint: the default is the local socket")
{
    for (const auto& env :
         {std::map<std::string, std::string>{}, std::map<std::string, std::string>{{"DOCKER_HOST", ""}},
          std::map<std::string, std::string>{{"DOCKER_TLS_VERIFY", "1"}, {"HOME", "/h"}}}) {
        const Endpoint ep = from(env);
        CHECK(ep.url == "unix:///var/run/docker.sock");
        CHECK_FALSE(ep.tls);
        CHECK_FALSE(ep.ca_file);
        CHECK_FALSE(ep.cert_file);
        CHECK_FALSE(ep.key_file);
    }
}

TEST_CASE("docker endpoint: unix:// paths")
{
    CHECK(from({{"DOCKER_HOST", "unix:///run/user/1000/docker.sock"}}).url == "unix:///run/user/1000/docker.sock");
    CHECK(contains(config_error({{"DOCKER_HOST", "unix://relative.sock"}}), "must be absolute"));
    CHECK(contains(config_error({{"DOCKER_HOST", "unix://"}}), "invalid DOCKER_HOST 'unix://'"));
    CHECK_THROWS_AS(from({{"DOCKER_HOST", "unix:///a:b"}}), ConfigError);
    CHECK_THROWS_AS(from({{"DOCKER_HOST", "unix:///a\nb"}}), ConfigError);
}

TEST_CASE("docker endpoint: tcp:// without TLS is plain HTTP")
{
    const Endpoint ep = from({{"DOCKER_HOST", "tcp://10.0.0.5:2375"}, {"DOCKER_CERT_PATH", "/certs"}});
    CHECK(ep.url == "http://10.0.0.5:2375");
    CHECK_FALSE(ep.tls);
    CHECK_FALSE(ep.cert_file);
    CHECK(from({{"DOCKER_HOST", "tcp://docker.example"}}).url == "http://docker.example:2375");
    CHECK(from({{"DOCKER_HOST", "tcp://:2375"}}).url == "http://localhost:2375");
    CHECK(from({{"DOCKER_HOST", "tcp://[::1]:2375"}}).url == "http://[::1]:2375");
    CHECK(from({{"DOCKER_HOST", "tcp://[::1]"}}).url == "http://[::1]:2375");
    CHECK(from({{"DOCKER_HOST", "tcp://h:1/base/path/"}}).url == "http://h:1/base/path");
    // "0" and empty mean off.
    CHECK_FALSE(from({{"DOCKER_HOST", "tcp://h:1"}, {"DOCKER_TLS_VERIFY", "0"}}).tls);
    CHECK_FALSE(from({{"DOCKER_HOST", "tcp://h:1"}, {"DOCKER_TLS_VERIFY", ""}, {"DOCKER_TLS", ""}}).tls);
}

TEST_CASE("docker endpoint: DOCKER_TLS_VERIFY gives HTTPS with the certificates of DOCKER_CERT_PATH")
{
    const Endpoint ep = from({{"DOCKER_HOST", "tcp://10.0.0.5:2376"},
                              {"DOCKER_TLS_VERIFY", "1"},
                              {"DOCKER_CERT_PATH", "/etc/docker/certs/"}});
    CHECK(ep.url == "https://10.0.0.5:2376");
    CHECK(ep.tls);
    CHECK(ep.tls_verify);
    CHECK(ep.ca_file == "/etc/docker/certs/ca.pem");
    CHECK(ep.cert_file == "/etc/docker/certs/cert.pem");
    CHECK(ep.key_file == "/etc/docker/certs/key.pem");

    // Default port with TLS is 2376; the default certificate directory ~/.docker.
    const Endpoint home = from({{"DOCKER_HOST", "tcp://h"}, {"DOCKER_TLS_VERIFY", "yes"}, {"HOME", "/home/u"}});
    CHECK(home.url == "https://h:2376");
    CHECK(home.ca_file == "/home/u/.docker/ca.pem");
    CHECK(home.cert_file == "/home/u/.docker/cert.pem");
    CHECK(home.key_file == "/home/u/.docker/key.pem");

    CHECK(contains(config_error({{"DOCKER_HOST", "tcp://h"}, {"DOCKER_TLS_VERIFY", "1"}}), "DOCKER_CERT_PATH"));
}

TEST_CASE("docker endpoint: DOCKER_TLS alone encrypts without verifying")
{
    const Endpoint ep = from({{"DOCKER_HOST", "tcp://h:2376"}, {"DOCKER_TLS", "1"}, {"DOCKER_CERT_PATH", "/c"}});
    CHECK(ep.url == "https://h:2376");
    CHECK(ep.tls);
    CHECK_FALSE(ep.tls_verify);
    CHECK_FALSE(ep.ca_file);
    CHECK(ep.cert_file == "/c/cert.pem");
    CHECK(ep.key_file == "/c/key.pem");
}

TEST_CASE("docker endpoint: unsupported and malformed hosts")
{
    const auto ssh = config_error({{"DOCKER_HOST", "ssh://user@remote"}});
    CHECK(contains(ssh, "ssh://"));
    CHECK(contains(ssh, "not supported"));
    CHECK(contains(config_error({{"DOCKER_HOST", "npipe:////./pipe/docker_engine"}}), "named pipes"));
    CHECK(contains(config_error({{"DOCKER_HOST", "http://h:2375"}}), "expected unix:///path or tcp://host:port"));
    CHECK(contains(config_error({{"DOCKER_HOST", "/var/run/docker.sock"}}), "invalid DOCKER_HOST"));
    CHECK(contains(config_error({{"DOCKER_HOST", "tcp://h:99999"}}), "bad port '99999'"));
    CHECK(contains(config_error({{"DOCKER_HOST", "tcp://h:"}}), "empty port"));
    CHECK(contains(config_error({{"DOCKER_HOST", "tcp://::1:2375"}}), "brackets"));
    CHECK(contains(config_error({{"DOCKER_HOST", "tcp://u@h:1"}}), "user information"));
    CHECK(contains(config_error({{"DOCKER_HOST", "tcp://[::1"}}), "unterminated"));
    CHECK_THROWS_AS(from({{"DOCKER_HOST", "tcp://h:1/p?q=1"}}), ConfigError);
    CHECK_THROWS_AS(from({{"DOCKER_HOST", "tcp://h o:1"}}), ConfigError);
}

TEST_CASE("docker endpoint: the API version is the lower of the engine's and ours, compared as numbers")
{
    CHECK(api_version_for("1.41") == "1.41");
    CHECK(api_version_for("1.45") == "1.41");
    CHECK(api_version_for("1.40") == "1.40");
    CHECK(api_version_for("1.100") == "1.41"); // not a string comparison
    CHECK(api_version_for("2.0") == "1.41");
    CHECK(api_version_for("1.43", "1.44", "1.40") == "1.43");
    CHECK(api_version_for("1.9", "1.41", "1.5") == "1.9");
    CHECK(api_version_for(" 1.41\r") == "1.41");
    CHECK(api_version_for("") == "1.24"); // no Api-Version header: the Go client assumes 1.24
    CHECK_THROWS_AS(api_version_for("", "1.44", "1.40"), ConfigError);

    try {
        api_version_for("1.12");
        FAIL("no ConfigError");
    } catch (const ConfigError& e) {
        CHECK(
            std::string(e.what()) ==
            "the Docker engine speaks API 1.12, older than the oldest this client supports (1.24); upgrade the engine");
    }
    for (const char* bad : {"abc", "1", "1.", ".1", "1.4x", "-1.2", "1.2.3"})
        CHECK_THROWS_AS(api_version_for(bad), ConfigError);
    CHECK_THROWS_AS(api_version_for("1.41", "x"), ConfigError);
}

TEST_CASE("docker endpoint: versioned API paths")
{
    CHECK(api_path("1.41", "/containers/create") == "/v1.41/containers/create");
    CHECK(api_path("1.44", "exec/abc/start") == "/v1.44/exec/abc/start");
    CHECK(api_path("1.41", "/containers/x/archive?path=/workspace") == "/v1.41/containers/x/archive?path=/workspace");
}
