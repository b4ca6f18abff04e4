// URL parsing for the HTTP client: the three accepted forms and rejections.

#include <doctest/doctest.h>

#include "stirrup/core/error.hpp"
#include "stirrup/net/detail/url.hpp"

using namespace stirrup;
using namespace stirrup::net;
using namespace stirrup::net::detail;

TEST_CASE("url: https with defaults")
{
    const auto u = parse_url("https://API.openai.com/v1/chat/completions?x=1");
    CHECK(u.scheme == Scheme::https);
    CHECK(u.host == "api.openai.com");
    CHECK(u.port == 443);
    CHECK(u.target == "/v1/chat/completions?x=1");
    CHECK(u.is_tls());
    CHECK(u.authority() == "api.openai.com:443");
}

TEST_CASE("url: http with port and empty path")
{
    const auto u = parse_url("http://127.0.0.1:8080");
    CHECK(u.scheme == Scheme::http);
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 8080);
    CHECK(u.target == "/");
    CHECK(u.absolute_target() == "http://127.0.0.1:8080/");
}

TEST_CASE("url: IPv6 literal")
{
    const auto u = parse_url("http://[::1]:9000/a");
    CHECK(u.host == "::1");
    CHECK(u.port == 9000);
    CHECK(u.authority() == "[::1]:9000");
}

TEST_CASE("url: unix socket form")
{
    const auto u = parse_url("unix:///var/run/docker.sock:/v1.43/containers/json?all=1");
    CHECK(u.scheme == Scheme::unix_socket);
    CHECK(u.socket_path == "/var/run/docker.sock");
    CHECK(u.target == "/v1.43/containers/json?all=1");
    CHECK(u.host == "localhost");

    const auto bare = parse_url("unix:///tmp/x.sock");
    CHECK(bare.socket_path == "/tmp/x.sock");
    CHECK(bare.target == "/");
}

TEST_CASE("url: rejections")
{
    CHECK_THROWS_AS(parse_url("ftp://example.com/"), ConfigError);
    CHECK_THROWS_AS(parse_url("example.com"), ConfigError);
    CHECK_THROWS_AS(parse_url("http://"), ConfigError);
    CHECK_THROWS_AS(parse_url("http://host:0/"), ConfigError);
    CHECK_THROWS_AS(parse_url("http://host:99999/"), ConfigError);
    CHECK_THROWS_AS(parse_url("http://user:pw@host/"), ConfigError);
    CHECK_THROWS_AS(parse_url("unix://relative.sock:/x"), ConfigError);
    CHECK_THROWS_AS(parse_url("unix:///tmp/x.sock:noslash"), ConfigError);
    CHECK_THROWS_AS(parse_url("unix:///tmp/x.sock:/a b"), ConfigError);
    CHECK_THROWS_AS(parse_url("http://host/a b"), ConfigError);
}
