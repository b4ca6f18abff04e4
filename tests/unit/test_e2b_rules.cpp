// The E2B backend's pure rules: endpoints from options and the environment,
// envd URLs and headers, the control plane's JSON, file entries, version
// gates, multipart bodies, and Stirrup's re-quoting and realpath parsing.

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "stirrup/exec/e2b/detail/rules.hpp"
#include "stirrup/net/detail/url.hpp"
#include "stirrup/pycompat/detail/shlex.hpp"

using namespace stirrup::detail::e2b;
using namespace std::string_literals;

namespace {

struct FakeEnv {
    std::map<std::string, std::string> vars;
    std::optional<std::string> operator()(const char* name) const
    {
        auto it = vars.find(name);
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    }
};

} // namespace

TEST_CASE("e2b rules: endpoints from options and the environment")
{
    SUBCASE("defaults")
    {
        auto e = resolve_endpoints({}, {}, {}, {}, FakeEnv{});
        CHECK(e.domain == "e2b.app");
        CHECK(e.api_url == "https://api.e2b.app");
        CHECK_FALSE(e.sandbox_url);
        CHECK(e.api_key.empty());
    }
    SUBCASE("environment")
    {
        FakeEnv env{{{"E2B_DOMAIN", "example.org"}, {"E2B_API_KEY", "e2b_1"}, {"E2B_SANDBOX_URL", "http://h:1/"}}};
        auto e = resolve_endpoints({}, {}, {}, {}, env);
        CHECK(e.api_url == "https://api.example.org");
        CHECK(*e.sandbox_url == "http://h:1");
        CHECK(e.api_key == "e2b_1");
        env.vars["E2B_API_URL"] = "http://127.0.0.1:9/";
        CHECK(resolve_endpoints({}, {}, {}, {}, env).api_url == "http://127.0.0.1:9");
        env.vars["E2B_API_URL"] = "";
        CHECK(resolve_endpoints({}, {}, {}, {}, env).api_url == "https://api.example.org");
    }
    SUBCASE("options win")
    {
        FakeEnv env{{{"E2B_API_URL", "http://env"}, {"E2B_API_KEY", "env"}}};
        auto e = resolve_endpoints("http://opt", "d.io", "http://sb", "opt", env);
        CHECK(e.api_url == "http://opt");
        CHECK(e.domain == "d.io");
        CHECK(*e.sandbox_url == "http://sb");
        CHECK(e.api_key == "opt");
    }
}

TEST_CASE("e2b rules: envd URL and headers")
{
    Endpoints e;
    e.domain = "e2b.app";
    CHECK(envd_base_url(e, "abc", std::nullopt) == "https://sandbox.e2b.app");
    CHECK(envd_base_url(e, "abc", "e2b.dev"s) == "https://sandbox.e2b.dev");
    CHECK(envd_base_url(e, "abc", "self.hosted"s) == "https://49983-abc.self.hosted");
    e.domain = "self.hosted";
    CHECK(envd_base_url(e, "abc", std::nullopt) == "https://49983-abc.self.hosted");
    e.sandbox_url = "https://127.0.0.1:8443";
    CHECK(envd_base_url(e, "abc", "e2b.app"s) == "https://127.0.0.1:8443");

    auto h = envd_headers("abc", "tok"s);
    REQUIRE(h.size() == 3);
    CHECK(h[0] == std::pair<std::string, std::string>{"E2b-Sandbox-Id", "abc"});
    CHECK(h[1] == std::pair<std::string, std::string>{"E2b-Sandbox-Port", "49983"});
    CHECK(h[2] == std::pair<std::string, std::string>{"X-Access-Token", "tok"});
    CHECK(envd_headers("abc", std::nullopt).size() == 2);
}

TEST_CASE("e2b rules: the create body")
{
    CreateRequest r;
    CHECK(create_request_json(r) == R"({"templateID":"base","timeout":600,"metadata":{},"envVars":{}})");
    r.template_id = "code-interpreter-v1";
    r.timeout_seconds = 30;
    r.metadata = {{"k", "v"}};
    r.env_vars = {{"A", "1"}};
    r.secure = true;
    r.allow_internet_access = false;
    const auto v = boost::json::parse(create_request_json(r));
    CHECK(v.at("templateID") == "code-interpreter-v1");
    CHECK(v.at("timeout") == 30);
    CHECK(v.at("secure") == true);
    CHECK(v.at("allow_internet_access") == false);
    CHECK(v.at("metadata").at("k") == "v");
    CHECK(v.at("envVars").at("A") == "1");
    CHECK(lifetime_seconds(std::chrono::milliseconds(600000)) == 600);
    CHECK(lifetime_seconds(std::chrono::milliseconds(1500)) == 2);
    CHECK(lifetime_seconds(std::chrono::milliseconds(1)) == 1);
}

TEST_CASE("e2b rules: the Sandbox answer")
{
    auto s = parse_sandbox(R"({"templateID":"rki5","sandboxID":"i3u8k2l0q9wz7c1m5n4p","alias":"base",
        "clientID":"6532622b","envdVersion":"0.6.13","envdAccessToken":"tok","trafficAccessToken":null,"domain":null})");
    CHECK(s.sandbox_id == "i3u8k2l0q9wz7c1m5n4p");
    CHECK(s.template_id == "rki5");
    CHECK(s.envd_version == "0.6.13");
    CHECK(*s.envd_access_token == "tok");
    CHECK_FALSE(s.domain);
    CHECK(*parse_sandbox(R"({"sandboxID":"a","envdVersion":"1","domain":"e2b.dev"})").domain == "e2b.dev");
    CHECK_FALSE(parse_sandbox(R"({"sandboxID":"a","envdVersion":"1"})").envd_access_token);
    CHECK_THROWS_AS(parse_sandbox(R"({"envdVersion":"1"})"), ResponseError);
    CHECK_THROWS_AS(parse_sandbox(R"({"sandboxID":"a/../b","envdVersion":"1"})"), ResponseError);
    CHECK_THROWS_AS(parse_sandbox(R"({"sandboxID":"a"})"), ResponseError);
    CHECK_THROWS_AS(parse_sandbox("not json"), ResponseError);
    CHECK_THROWS_AS(parse_sandbox("[]"), ResponseError);
    CHECK(valid_sandbox_id("abc-DEF_09"));
    CHECK_FALSE(valid_sandbox_id(""));
    CHECK_FALSE(valid_sandbox_id("a.b"));
    CHECK_FALSE(valid_sandbox_id(std::string(129, 'a')));
}

TEST_CASE("e2b rules: control-plane error bodies")
{
    auto e = parse_api_error(429, R"({"code":429,"message":"Rate limit exceeded"})");
    CHECK(e.message == "Rate limit exceeded");
    CHECK_FALSE(e.error_code);
    e = parse_api_error(503, R"({"code":503,"message":"no capacity","error_code":"sandbox_capacity_unavailable"})");
    CHECK(*e.error_code == "sandbox_capacity_unavailable");
    CHECK(parse_api_error(502, "Bad Gateway\n").message == "Bad Gateway");
    CHECK(parse_api_error(500, "").message == "HTTP 500");
    CHECK(parse_api_error(401, R"({"code":401})").message == R"({"code":401})");
}

TEST_CASE("e2b rules: envd version gates")
{
    CHECK(version_at_least("0.6.13", "0.5.7"));
    CHECK(version_at_least("0.5.7", "0.5.7"));
    CHECK_FALSE(version_at_least("0.5.6", "0.5.7"));
    CHECK(version_at_least("0.10.0", "0.5.7"));
    CHECK(version_at_least("99.99.99", "0.5.7"));
    CHECK(version_at_least("v1", "0.5.7"));
    CHECK(version_at_least("0.6", "0.6.0"));
    CHECK(version_at_least("0.5.7-rc1", "0.5.7"));
    CHECK_FALSE(version_at_least("", "0.5.7"));
    CHECK_FALSE(version_at_least("banana", "0.0.1"));
    CHECK(supports_octet_stream_upload("0.6.13"));
    CHECK_FALSE(supports_octet_stream_upload("0.5.6"));
}

TEST_CASE("e2b rules: multipart upload body and query encoding")
{
    auto [ct, body] = multipart_upload("/home/user/a \"b\".txt", "DATA\r\n", "XyZ");
    CHECK(ct == "multipart/form-data; boundary=XyZ");
    CHECK(body == "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/home/user/a %22b%22.txt\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\nDATA\r\n\r\n--XyZ--\r\n");
    CHECK(stirrup::net::detail::percent_encode("/home/user/a b&c=d~é") == "%2Fhome%2Fuser%2Fa%20b%26c%3Dd~%C3%A9");
}

TEST_CASE("e2b rules: sandbox paths and the home root")
{
    CHECK(sandbox_path("a.txt") == "/home/user/a.txt");
    CHECK(sandbox_path("./x/y") == "/home/user/./x/y");
    CHECK(sandbox_path("~/x") == "/home/user/x");
    CHECK(sandbox_path("") == "/home/user");
    CHECK(sandbox_path("/etc/passwd") == "/etc/passwd");
    CHECK(inside_home("/home/user"));
    CHECK(inside_home("/home/user/a/b"));
    CHECK(inside_home("/home/user//a/./b/"));
    CHECK_FALSE(inside_home("/home/user2/a"));
    CHECK_FALSE(inside_home("/home/user/../etc/passwd"));
    CHECK_FALSE(inside_home("/etc/passwd"));
    CHECK_FALSE(inside_home("home/user/a"));
}

TEST_CASE("e2b rules: Stat and ListDir answers")
{
    auto e = parse_stat_response(R"({"entry":{"name":"a.txt","type":"FILE_TYPE_FILE","path":"/home/user/a.txt",
        "size":"9","mode":420,"permissions":"-rw-r--r--","owner":"user","group":"user",
        "modifiedTime":"2026-08-21T10:00:01.123456789Z"}})");
    CHECK(e.type == EntryInfo::Type::file);
    CHECK(e.size == 9);
    CHECK(e.path == "/home/user/a.txt");
    CHECK(parse_stat_response(R"({"entry":{"type":2}})").type == EntryInfo::Type::directory);
    CHECK(parse_stat_response(R"({"entry":{"type":"FILE_TYPE_SYMLINK"}})").type == EntryInfo::Type::symlink);
    CHECK(parse_stat_response(R"({"entry":{}})").type == EntryInfo::Type::unspecified); // the default is omitted
    CHECK(type_name(EntryInfo::Type::directory) == "dir");
    CHECK_THROWS_AS(parse_stat_response("{}"), ResponseError);
    CHECK_THROWS_AS(parse_stat_response(R"({"entry":5})"), ResponseError);

    auto list = parse_list_dir_response(R"({"entries":[
        {"name":"b","type":"FILE_TYPE_FILE","path":"/home/user/d/b"},
        {"name":"s","type":"FILE_TYPE_DIRECTORY","path":"/home/user/d/s"},
        {"name":"a","type":"FILE_TYPE_FILE","path":"/home/user/d/s/a"},
        {"name":"l","type":"FILE_TYPE_SYMLINK","path":"/home/user/d/l"},
        {"name":"o","type":"FILE_TYPE_FILE","path":"/home/user/other"}]})");
    CHECK(list.size() == 5);
    CHECK(relative_files(list, "/home/user/d/") == std::vector<std::string>{"b", "s/a"});
    CHECK(parse_list_dir_response("{}").empty());
    CHECK_THROWS_AS(parse_list_dir_response(R"({"entries":{}})"), ResponseError);
}

TEST_CASE("e2b rules: Stirrup's argv re-quoting for the sandbox shell")
{
    CHECK(quote_argv_for_shell({"echo", "allowed"}) == "'echo' allowed");
    CHECK(quote_argv_for_shell({"ls"}) == "'ls'");
    CHECK(quote_argv_for_shell({"it's"}) == "'it'\"'\"'s'");
    CHECK(quote_argv_for_shell({"echo", "$(whoami)"}) == "'echo' '$(whoami)'");
    CHECK(quote_argv_for_shell({}).empty());
    // Stirrup's round-trip cases: shlex.split(quote(argv)) == argv.
    const std::vector<std::vector<std::string>> cases = {
        {"echo", "$(whoami)"}, {"echo", "a\nb"}, {"echo", "it's"}, {"echo", ""}, {"ls", "-n"}, {"e'c\"ho", "`x`", ";"}};
    for (const auto& argv : cases) {
        auto back = stirrup::detail::shell::split(quote_argv_for_shell(argv));
        REQUIRE(back);
        CHECK(*back == argv);
    }
}

TEST_CASE("e2b rules: realpath output, exactly one NUL-terminated path")
{
    CHECK(*parse_realpath_output("/home/user/output.txt\0"s) == "/home/user/output.txt");
    CHECK(*parse_realpath_output("/home/user/x") == "/home/user/x"); // Python's split keeps it
    CHECK_FALSE(parse_realpath_output(""));
    CHECK_FALSE(parse_realpath_output("\0"s));
    CHECK_FALSE(parse_realpath_output("/a\0/b\0"s));
    CHECK(realpath_command("/home/user/a b") == "realpath -ze -- '/home/user/a b'");
    CHECK(realpath_command("/home/user/ok.txt") == "realpath -ze -- /home/user/ok.txt");
}
