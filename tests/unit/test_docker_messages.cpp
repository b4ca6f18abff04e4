// The JSON-message streams of /build and /images/create as the engine sent
// them (docker-api.md §5), split at every point; stream messages, build
// failures with their step, and the archive path-stat header.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "stirrup/core/detail/base64.hpp"
#include "stirrup/exec/docker/detail/messages.hpp"

#include "support/helpers.hpp"

using stirrup::detail::docker::build_failure;
using stirrup::detail::docker::decode_path_stat;
using stirrup::detail::docker::JsonLineSplitter;
using stirrup::detail::docker::MessageError;
using stirrup::detail::docker::parse_stream_message;
using stirrup::detail::docker::PathStat;
using stirrup::detail::docker::StreamMessage;

using stirrup::test::contains;
using stirrup::test::error_of;

namespace {

using namespace std::string_literals;

std::vector<std::string> split_all(const std::string& in, std::size_t max_line = 16 * 1024 * 1024)
{
    JsonLineSplitter s(max_line);
    std::vector<std::string> out;
    const auto on_line = [&](std::string_view l) { out.emplace_back(l); };
    s.feed(in, on_line);
    s.finish(on_line);
    return out;
}

// Whole, byte by byte, and in two pieces at every point: the same lines.
std::vector<std::string> split(const std::string& in)
{
    const auto expected = split_all(in);
    for (std::size_t i = 0; i <= in.size(); ++i) {
        JsonLineSplitter s;
        std::vector<std::string> out;
        const auto on_line = [&](std::string_view l) { out.emplace_back(l); };
        s.feed(std::string_view(in).substr(0, i), on_line);
        s.feed(std::string_view(in).substr(i), on_line);
        s.finish(on_line);
        REQUIRE(out == expected);
    }
    JsonLineSplitter s;
    std::vector<std::string> out;
    const auto on_line = [&](std::string_view l) { out.emplace_back(l); };
    for (char c : in)
        s.feed(std::string_view(&c, 1), on_line);
    s.finish(on_line);
    REQUIRE(out == expected);
    return expected;
}

std::vector<StreamMessage> messages(const std::string& body)
{
    std::vector<StreamMessage> out;
    for (const auto& line : split(body))
        out.push_back(parse_stream_message(line));
    return out;
}

// The de-chunked body of the failing build (build-runfail.raw), with the
// steps before it as build-ok.body shows them; the engine ends each message
// with "\r\n".
const std::string failing_build =
    "{\"stream\":\"Step 1/3 : FROM tiny:local\"}\r\n"
    "{\"stream\":\"\\n\"}\r\n"
    "{\"stream\":\" ---\\u003e 605c4f5481c1\\n\"}\r\n"
    "{\"stream\":\"Step 2/3 : RUN echo about to fail \\u0026\\u0026 exit 3\"}\r\n"
    "{\"stream\":\"\\n\"}\r\n"
    "{\"stream\":\" ---\\u003e Running in 6644d629571a\\n\"}\r\n"
    "{\"stream\":\"about to fail\\n\"}\r\n"
    "{\"errorDetail\":{\"code\":3,\"message\":\"The command '/bin/sh -c echo about to fail \\u0026\\u0026 exit 3' "
    "returned a non-zero code: 3\"},\"error\":\"The command '/bin/sh -c echo about to fail \\u0026\\u0026 exit 3' "
    "returned a non-zero code: 3\"}\r\n";

} // namespace

TEST_CASE("docker messages: the captured pull stream splits into its messages")
{
    const std::string body = "{\"status\":\"Pulling from sbx/tiny\",\"id\":\"v1\"}\r\n"
                             "{\"status\":\"Digest: sha256:0a87\"}\r\n"
                             "{\"status\":\"Status: Downloaded newer image for 127.0.0.1:5555/sbx/tiny:v1\"}\r\n";
    const auto lines = split(body);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "{\"status\":\"Pulling from sbx/tiny\",\"id\":\"v1\"}");
    const auto m = parse_stream_message(lines[0]);
    CHECK(m.status == "Pulling from sbx/tiny");
    CHECK(m.id == "v1");
    CHECK_FALSE(m.failed());
    CHECK_FALSE(build_failure(messages(body)));
}

TEST_CASE("docker messages: objects back to back, braces in strings, blank lines, nesting")
{
    CHECK(split("{\"a\":1}{\"b\":2}\n\n\r\n  {\"c\":[1,{\"d\":[]}]}") ==
          std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":[1,{\"d\":[]}]}"});
    CHECK(split(R"({"stream":"}{\"]["}{"x":"\\"})") ==
          std::vector<std::string>{R"({"stream":"}{\"]["})", R"({"x":"\\"})"});
    CHECK(split("\r\n\r\n").empty());
    CHECK(split("").empty());
    // Pretty-printed JSON stays one message.
    CHECK(split("{\n  \"a\": 1\n}\n") == std::vector<std::string>{"{\n  \"a\": 1\n}"});
}

TEST_CASE("docker messages: text that is not JSON is passed on line by line, and fails to parse")
{
    const auto lines = split("oops: not json\r\n{\"status\":\"ok\"}\nmore");
    CHECK(lines == std::vector<std::string>{"oops: not json", "{\"status\":\"ok\"}", "more"});
    CHECK_THROWS_AS(parse_stream_message(lines[0]), MessageError);
    // A raw newline inside a string breaks the object; the next one still parses.
    const auto broken = split("{\"a\":\"x\n{\"b\":1}\n");
    REQUIRE(broken.size() == 2);
    CHECK_THROWS_AS(parse_stream_message(broken[0]), MessageError);
    CHECK(broken[1] == "{\"b\":1}");
}

TEST_CASE("docker messages: finish passes on a truncated message")
{
    JsonLineSplitter s;
    std::vector<std::string> out;
    const auto on_line = [&](std::string_view l) { out.emplace_back(l); };
    s.feed("{\"stream\":\"a\"}\r\n{\"stream\":\"trunc", on_line);
    CHECK(out.size() == 1);
    s.finish(on_line);
    REQUIRE(out.size() == 2);
    CHECK(out[1] == "{\"stream\":\"trunc");
    CHECK_THROWS_AS(parse_stream_message(out[1]), MessageError);
    // The splitter is reusable after finish.
    s.feed("{}", on_line);
    CHECK(out.size() == 3);
}

TEST_CASE("docker messages: a message longer than the limit is an error")
{
    CHECK_NOTHROW(split_all("{\"a\":\"" + std::string(50, 'x') + "\"}", 60));
    CHECK(contains(error_of<MessageError>([] { split_all("{\"a\":\"" + std::string(60, 'x') + "\"}", 60); }),
                   "longer than 60 bytes"));
    CHECK_THROWS_AS(split_all(std::string(61, 't'), 60), MessageError);
}

TEST_CASE("docker messages: parse_stream_message fields")
{
    const auto build = messages(failing_build);
    REQUIRE(build.size() == 8);
    CHECK(build[0].stream == "Step 1/3 : FROM tiny:local");
    CHECK(build[2].stream == " ---> 605c4f5481c1\n");
    const auto& err = build[7];
    CHECK(err.failed());
    CHECK(err.error == "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3");
    CHECK(err.error_detail_message == err.error);
    CHECK(err.error_code == 3);
    CHECK_FALSE(err.stream);

    const auto aux = parse_stream_message(
        R"({"aux":{"ID":"sha256:56683632b92c2a35ee0af20f4adb9585fd91bed409029ee5f8036e78f5ac3dd3"}})");
    CHECK(aux.aux_id == "sha256:56683632b92c2a35ee0af20f4adb9585fd91bed409029ee5f8036e78f5ac3dd3");
    CHECK_FALSE(aux.failed());

    const auto progress = parse_stream_message(
        R"({"status":"Downloading","progressDetail":{"current":65536,"total":4032873},"progress":"[\u003e  ]  65.54kB/4.033MB","id":"4dae48da6e30"})");
    CHECK(progress.status == "Downloading");
    CHECK(progress.progress == "[>  ]  65.54kB/4.033MB");
    CHECK(progress.id == "4dae48da6e30");

    // BuildKit's aux is a string: ignored, not an error.
    CHECK_FALSE(parse_stream_message(R"({"id":"moby.buildkit.trace","aux":"CgoK"})").aux_id);
}

TEST_CASE("docker messages: any error or errorDetail makes a failure")
{
    const auto only_detail = parse_stream_message(R"({"errorDetail":{"message":"manifest unknown"}})");
    CHECK(only_detail.error == "manifest unknown");
    CHECK_FALSE(only_detail.error_code);
    const auto only_error = parse_stream_message(R"({"error":"boom"})");
    CHECK(only_error.error == "boom");
    CHECK_FALSE(only_error.error_detail_message);
    const auto odd = parse_stream_message(R"({"error":{"x":1}})");
    CHECK(odd.error == R"({"x":1})");
    const auto empty_detail = parse_stream_message(R"({"errorDetail":{}})");
    CHECK(empty_detail.failed());
    CHECK(contains(*empty_detail.error, "without a message"));
    CHECK_FALSE(parse_stream_message(R"({"error":null,"errorDetail":null})").failed());
    // Wrong types elsewhere are ignored.
    const auto wrong = parse_stream_message(R"({"stream":5,"status":["x"],"errorDetail":{"code":"3","message":"m"}})");
    CHECK_FALSE(wrong.stream);
    CHECK_FALSE(wrong.status);
    CHECK(wrong.error == "m");
    CHECK_FALSE(wrong.error_code);
}

TEST_CASE("docker messages: invalid JSON and non-objects are errors")
{
    CHECK(contains(error_of<MessageError>([] { parse_stream_message("{\"a\":"); }), "not valid JSON"));
    CHECK(contains(error_of<MessageError>([] { parse_stream_message("[1,2]"); }), "not a JSON object"));
    CHECK_THROWS_AS(parse_stream_message(""), MessageError);
    CHECK_THROWS_AS(parse_stream_message("{} {}"), MessageError);
    // MessageError is a stirrup::Error.
    CHECK_THROWS_AS(parse_stream_message("nope"), stirrup::Error);
}

TEST_CASE("docker messages: build_failure names the failing step")
{
    CHECK(build_failure(messages(failing_build)) ==
          "Step 2/3 : RUN echo about to fail && exit 3: The command '/bin/sh -c echo about to fail && exit 3' "
          "returned a non-zero code: 3");

    // The example of the interface, with the step and a newline in one message.
    std::vector<StreamMessage> run_false(3);
    run_false[0].stream = "Step 1/3 : FROM tiny:local\n ---> 605c4f5481c1\n";
    run_false[1].stream = "Step 2/3 : RUN false\n";
    run_false[2].error = "The command '/bin/sh -c false' returned a non-zero code: 1";
    CHECK(build_failure(run_false) ==
          "Step 2/3 : RUN false: The command '/bin/sh -c false' returned a non-zero code: 1");

    // FROM an unreachable image fails in step 1.
    const std::string from_fail =
        "{\"stream\":\"Step 1/2 : FROM 127.0.0.1:1/nosuch:latest\"}\r\n"
        "{\"stream\":\"\\n\"}\r\n"
        "{\"errorDetail\":{\"message\":\"Get \\\"http://127.0.0.1:1/v2/\\\": dial tcp "
        "127.0.0.1:1: connect: connection refused\"},\"error\":\"Get \\\"http://127.0.0.1:1/v2/\\\": "
        "dial tcp 127.0.0.1:1: connect: connection refused\"}\r\n";
    CHECK(build_failure(messages(from_fail)) ==
          "Step 1/2 : FROM 127.0.0.1:1/nosuch:latest: Get \"http://127.0.0.1:1/v2/\": "
          "dial tcp 127.0.0.1:1: connect: connection refused");

    // A pull failure has no step.
    CHECK(build_failure(messages(
              "{\"status\":\"Pulling fs layer\"}\n{\"errorDetail\":{\"message\":\"received unexpected "
              "HTTP status: 500 Internal Server Error\"},\"error\":\"received unexpected HTTP status: "
              "500 Internal Server Error\"}\n")) == "received unexpected HTTP status: 500 Internal Server Error");

    // Success, and an empty stream: no failure.
    CHECK_FALSE(build_failure({}));
    CHECK_FALSE(
        build_failure(messages("{\"stream\":\"Step 1/1 : FROM x\"}\n{\"stream\":\"Successfully built 5668\\n\"}\n")));

    // A "Step " that is not at the start of a line is not a step.
    std::vector<StreamMessage> not_step(2);
    not_step[0].stream = "echo Step 9/9 : fake\n";
    not_step[1].error = "e";
    CHECK(build_failure(not_step) == "e");
}

TEST_CASE("docker messages: the captured path-stat header of a directory")
{
    const auto st = decode_path_stat(
        "eyJuYW1lIjoid29ya3NwYWNlIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI2LTExLTI2VDAyOjA0OjU3LjkzMD"
        "k1OTI2M1oiLCJsaW5rVGFyZ2V0IjoiIn0=");
    CHECK(st.name == "workspace");
    CHECK(st.size == 4096);
    CHECK(st.mode == 2147484141u);
    CHECK(st.mtime == "2026-11-26T02:04:57.930959263Z");
    CHECK(st.link_target.empty());
    CHECK(st.is_dir());
    CHECK_FALSE(st.is_symlink());
    CHECK_FALSE(st.is_regular());
    CHECK(st.permissions() == 0755);
}

TEST_CASE("docker messages: path-stat of a symlink and a regular file")
{
    const auto link = decode_path_stat(stirrup::detail::base64::encode(
        R"({"name":"sh","size":7,"mode":134218239,"mtime":"2026-11-26T02:02:56Z","linkTarget":"/bin/busybox"})"));
    CHECK(link.is_symlink());
    CHECK_FALSE(link.is_dir());
    CHECK(link.link_target == "/bin/busybox");
    CHECK(link.permissions() == 0777);
    const auto file = decode_path_stat(
        " " +
        stirrup::detail::base64::encode(
            R"({"name":"busybox","size":1982256,"mode":493,"mtime":"2026-11-26T02:02:56Z","linkTarget":""})") +
        "\t");
    CHECK(file.is_regular());
    CHECK(file.size == 1982256);
    CHECK(file.permissions() == 0755);
    // A FIFO is neither a directory, a symlink nor regular.
    const auto fifo =
        decode_path_stat(stirrup::detail::base64::encode(R"({"name":"p","mode":33554816})")); // 1<<25 | 0600
    CHECK_FALSE(fifo.is_regular());
    CHECK(fifo.mtime.empty()); // missing fields keep their defaults
    CHECK(fifo.size == 0);
    // The largest mode.
    CHECK(decode_path_stat(stirrup::detail::base64::encode(R"({"mode":4294967295})")).mode == 4294967295u);
}

TEST_CASE("docker messages: malformed path-stat headers")
{
    using stirrup::detail::base64::encode;
    CHECK(contains(error_of<MessageError>([] { decode_path_stat("not base64!"); }), "not base64"));
    CHECK(contains(error_of<MessageError>([] { decode_path_stat(encode("{\"name\":")); }), "not valid JSON"));
    CHECK_THROWS_AS(decode_path_stat(encode("[]")), MessageError);
    CHECK(contains(error_of<MessageError>([&] { decode_path_stat(encode(R"({"mode":-1})")); }), "\"mode\""));
    CHECK_THROWS_AS(decode_path_stat(encode(R"({"mode":4294967296})")), MessageError);
    CHECK_THROWS_AS(decode_path_stat(encode(R"({"mode":1.5})")), MessageError);
    CHECK_THROWS_AS(decode_path_stat(encode(R"({"size":"4096"})")), MessageError);
    CHECK_THROWS_AS(decode_path_stat(encode(R"({"name":1})")), MessageError);
    CHECK_THROWS_AS(decode_path_stat(encode(R"({"linkTarget":false})")), MessageError);
    CHECK_NOTHROW(decode_path_stat(encode(R"({"name":null})")));
}
