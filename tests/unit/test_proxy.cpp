// Proxy selection from an environment and NO_PROXY matching.

#include <doctest/doctest.h>

#include <map>

#include "stirrup/core/error.hpp"
#include "stirrup/net/detail/proxy.hpp"

using namespace stirrup;
using namespace stirrup::net;
using namespace stirrup::net::detail;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars)
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    };
}

} // namespace

TEST_CASE("proxy: NO_PROXY entries")
{
    CHECK(no_proxy_matches("*", "anything.example", 443));
    CHECK(no_proxy_matches("example.com", "example.com", 443));
    CHECK(no_proxy_matches("example.com", "api.example.com", 443));
    CHECK_FALSE(no_proxy_matches("example.com", "badexample.com", 443));
    CHECK(no_proxy_matches(".example.com", "api.example.com", 443));
    CHECK(no_proxy_matches(".example.com", "example.com", 443));
    CHECK(no_proxy_matches("EXAMPLE.com", "Api.Example.COM", 443));
    CHECK(no_proxy_matches("localhost, 127.0.0.1 ,foo", "127.0.0.1", 8080));
    CHECK(no_proxy_matches("host:8443", "host", 8443));
    CHECK_FALSE(no_proxy_matches("host:8443", "host", 443));
    CHECK(no_proxy_matches("[::1]:80", "::1", 80));
    CHECK(no_proxy_matches("::1", "::1", 80));
    CHECK_FALSE(no_proxy_matches("", "host", 80));
    CHECK_FALSE(no_proxy_matches(",,", "host", 80));
    CHECK_FALSE(no_proxy_matches("other.com", "host", 80));
}

TEST_CASE("proxy: proxy URLs")
{
    CHECK(parse_proxy_url("proxy.local:3128") == ProxyEndpoint{"proxy.local", 3128, ""});
    CHECK(parse_proxy_url("http://proxy.local") == ProxyEndpoint{"proxy.local", 80, ""});
    CHECK(parse_proxy_url("http://user:pass@p:1/").authorization == "Basic dXNlcjpwYXNz");
    CHECK_THROWS_AS(parse_proxy_url("https://p:1"), ConfigError);
    CHECK_THROWS_AS(parse_proxy_url("socks5://p:1"), ConfigError);
    CHECK_THROWS_AS(parse_proxy_url("http://p:0"), ConfigError);
}

TEST_CASE("proxy: selection per scheme, lowercase first, NO_PROXY bypass")
{
    const auto s = ProxySettings::from_env(env_of({{"HTTPS_PROXY", "http://upper:1"},
                                                   {"https_proxy", "http://lower:2"},
                                                   {"HTTP_PROXY", "plain:3"},
                                                   {"NO_PROXY", "internal.corp,.svc"}}));
    CHECK(s.select(parse_url("https://api.openai.com/"))->host == "lower");
    CHECK(s.select(parse_url("http://example.com/"))->host == "plain");
    CHECK_FALSE(s.select(parse_url("https://internal.corp/")).has_value());
    CHECK_FALSE(s.select(parse_url("https://x.svc/")).has_value());
    CHECK_FALSE(s.select(parse_url("unix:///tmp/x.sock:/a")).has_value());

    const auto none = ProxySettings::from_env(env_of({}));
    CHECK_FALSE(none.select(parse_url("https://api.openai.com/")).has_value());

    const auto only_https = ProxySettings::from_env(env_of({{"HTTPS_PROXY", "p:1"}, {"no_proxy", "*"}}));
    CHECK_FALSE(only_https.select(parse_url("https://api.openai.com/")).has_value());
    CHECK_FALSE(only_https.select(parse_url("http://api.openai.com/")).has_value());
}
