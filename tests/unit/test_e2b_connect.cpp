// envd's Connect protocol without I/O: envelopes (the notes' byte example,
// fed whole, byte by byte and split at every point), process events in
// proto3 JSON's shapes, end-stream errors, unary errors, request bodies.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "stirrup/core/detail/base64.hpp"
#include "stirrup/exec/detail/output_capture.hpp"
#include "stirrup/exec/e2b/detail/connect.hpp"

using namespace stirrup::detail::e2b;
using namespace std::string_literals;

namespace {

// The response of `echo hi` as e2b-protocol.md §3.2 gives it, byte for byte.
const std::string echo_hi_stream =
    "\x00\x00\x00\x00\x1f"s + R"({"event":{"start":{"pid":411}}})" + "\x00\x00\x00\x00\x24"s +
    R"({"event":{"data":{"stdout":"aGkK"}}})" + "\x00\x00\x00\x00\x3a"s +
    R"({"event":{"end":{"exited":true,"status":"exit status 0"}}})" + "\x02\x00\x00\x00\x02{}"s;

std::vector<Envelope> decode_all(const std::string& bytes, std::size_t step)
{
    EnvelopeDecoder d;
    std::vector<Envelope> out;
    for (std::size_t i = 0; i < bytes.size(); i += step)
        d.feed(std::string_view(bytes).substr(i, step), [&](Envelope&& e) { out.push_back(std::move(e)); });
    CHECK(d.at_boundary());
    return out;
}

struct Run {
    std::string out, err;
    StartStreamReader reader;
    void feed(std::string_view bytes)
    {
        reader.feed(bytes, [&](int id, std::string_view b) { (id == 2 ? err : out).append(b); });
    }
};

std::string event(const std::string& json)
{
    return encode_envelope(json);
}

} // namespace

TEST_CASE("e2b connect: the notes' request envelope is byte-exact")
{
    const std::string body = start_request_json("echo hi", "");
    CHECK(body == R"({"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]},"stdin":false})");
    const std::string env = encode_envelope(body);
    CHECK(env == "\x00\x00\x00\x00\x4a"s + body);
}

TEST_CASE("e2b connect: the echo hi stream, whole, byte by byte and split at every point")
{
    for (std::size_t step : {echo_hi_stream.size(), std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}}) {
        const auto envs = decode_all(echo_hi_stream, step);
        REQUIRE(envs.size() == 4);
        CHECK(envs[0].flags == 0);
        CHECK(envs[0].payload == R"({"event":{"start":{"pid":411}}})");
        CHECK(envs[3].end_stream());
        CHECK(envs[3].payload == "{}");
    }
    for (std::size_t cut = 0; cut <= echo_hi_stream.size(); ++cut) {
        Run r;
        r.feed(std::string_view(echo_hi_stream).substr(0, cut));
        r.feed(std::string_view(echo_hi_stream).substr(cut));
        CHECK(r.out == "hi\n");
        CHECK(r.err.empty());
        REQUIRE(r.reader.pid());
        CHECK(*r.reader.pid() == 411);
        REQUIRE(r.reader.end());
        CHECK(r.reader.end()->exit_code == 0); // absent exitCode is 0
        CHECK(r.reader.end()->exited);
        CHECK(r.reader.finished());
        CHECK_FALSE(r.reader.error());
    }
}

TEST_CASE("e2b connect: envelope errors")
{
    EnvelopeDecoder d;
    auto sink = [](Envelope&&) {};
    SUBCASE("compressed flag is refused at its first byte")
    {
        CHECK_THROWS_AS(d.feed("\x01"s, sink), ProtocolError);
        CHECK_THROWS_AS(d.feed("\x00"s, sink), ProtocolError); // stays failed
    }
    SUBCASE("reserved bits")
    {
        CHECK_THROWS_WITH_AS(d.feed("\x04"s, sink), doctest::Contains("reserved"), ProtocolError);
    }
    SUBCASE("size limit, as soon as the length is known")
    {
        EnvelopeDecoder small(10);
        CHECK_NOTHROW(small.feed("\x00\x00\x00\x00"s, sink));
        CHECK_THROWS_WITH_AS(small.feed("\x0b"s, sink), doctest::Contains("over the limit"), ProtocolError);
        EnvelopeDecoder ok(10);
        std::vector<std::string> got;
        ok.feed(encode_envelope("0123456789"), [&](Envelope&& e) { got.push_back(e.payload); });
        CHECK(got == std::vector<std::string>{"0123456789"});
    }
    SUBCASE("anything after the end-stream")
    {
        d.feed(encode_envelope("{}", envelope_end_stream), sink);
        CHECK(d.ended());
        CHECK_THROWS_WITH_AS(d.feed("\x00"s, sink), doctest::Contains("after the Connect end-stream"), ProtocolError);
    }
    SUBCASE("a truncated stream is not at a boundary")
    {
        d.feed("\x00\x00\x00\x00\x05{}"s, sink);
        CHECK_FALSE(d.at_boundary());
        CHECK_FALSE(d.ended());
    }
    SUBCASE("an empty payload is a message")
    {
        int n = 0;
        d.feed("\x00\x00\x00\x00\x00"s, [&](Envelope&& e) {
            CHECK(e.payload.empty());
            ++n;
        });
        CHECK(n == 1);
        CHECK(d.at_boundary());
    }
}

TEST_CASE("e2b connect: process events in every shape envd may use")
{
    SUBCASE("start with a string pid")
    {
        auto e = parse_process_event(R"({"event":{"start":{"pid":"77"}}})");
        CHECK(e.kind == ProcessEvent::Kind::start);
        CHECK(e.pid == 77);
    }
    SUBCASE("data: stdout, stderr, pty, unpadded and URL-safe base64")
    {
        auto e = parse_process_event(R"({"event":{"data":{"stderr":"Ym9vbQo="}}})");
        CHECK(e.kind == ProcessEvent::Kind::data);
        CHECK(e.stream == 2);
        CHECK(e.bytes == "boom\n");
        CHECK(parse_process_event(R"({"event":{"data":{"stdout":"aGk"}}})").bytes == "hi");
        CHECK(parse_process_event(R"({"event":{"data":{"stdout":"-_8"}}})").bytes == "\xfb\xff"s);
        CHECK(parse_process_event(R"({"event":{"data":{"pty":"eA=="}}})").stream == 3);
        CHECK_THROWS_AS(parse_process_event(R"({"event":{"data":{"stdout":"a b"}}})"), ProtocolError);
        CHECK_THROWS_AS(parse_process_event(R"({"event":{"data":{"stdout":5}}})"), ProtocolError);
    }
    SUBCASE("end: exit code camelCase, snake_case, string; signal; error")
    {
        auto e = parse_process_event(
            R"({"event":{"end":{"exitCode":3,"exited":true,"status":"exit status 3","error":"exit status 3"}}})");
        CHECK(e.kind == ProcessEvent::Kind::end);
        CHECK(e.exit_code == 3);
        CHECK(e.exited);
        CHECK(e.status == "exit status 3");
        REQUIRE(e.error);
        CHECK(*e.error == "exit status 3");
        CHECK(parse_process_event(R"({"event":{"end":{"exit_code":"-1","status":"signal: killed"}}})").exit_code == -1);
        CHECK_FALSE(parse_process_event(R"({"event":{"end":{}}})").exited);
        CHECK_THROWS_AS(parse_process_event(R"({"event":{"end":{"exitCode":"x"}}})"), ProtocolError);
        CHECK_THROWS_AS(parse_process_event(R"({"event":{"end":{"exitCode":1e20}}})"), ProtocolError);
    }
    SUBCASE("keepalive, unknown kinds, an absent event, whitespace, unknown fields")
    {
        CHECK(parse_process_event(R"({"event":{"keepalive":{}}})").kind == ProcessEvent::Kind::keepalive);
        CHECK(parse_process_event(R"({"event":{"frobnicate":{}}})").kind == ProcessEvent::Kind::unknown);
        CHECK(parse_process_event("{}").kind == ProcessEvent::Kind::unknown);
        CHECK(parse_process_event(" {\n \"event\" : { \"start\" : { \"pid\" : 5 , \"x\":1} } , \"y\":[] }").pid == 5);
        CHECK_THROWS_AS(parse_process_event("[1]"), ProtocolError);
        CHECK_THROWS_AS(parse_process_event("{"), ProtocolError);
        CHECK_THROWS_AS(parse_process_event(R"({"event":{"start":{"pid":-1}}})"), ProtocolError);
    }
}

TEST_CASE("e2b connect: end-stream messages")
{
    CHECK_FALSE(parse_end_stream("{}"));
    CHECK_FALSE(parse_end_stream(R"({"metadata":{"k":["v"]}})"));
    auto e = parse_end_stream(R"({"error":{"code":"deadline_exceeded","message":"context deadline exceeded"}})");
    REQUIRE(e);
    CHECK(e->code == "deadline_exceeded");
    CHECK(e->message == "context deadline exceeded");
    CHECK(parse_end_stream(R"({"error":{"code":"internal"}})")->message.empty());
    // The spec forbids these.
    CHECK_THROWS_AS(parse_end_stream(R"({"error":null})"), ProtocolError);
    CHECK_THROWS_AS(parse_end_stream(R"({"error":{}})"), ProtocolError);
    CHECK_THROWS_AS(parse_end_stream(R"({"error":{"code":5}})"), ProtocolError);
    CHECK_THROWS_AS(parse_end_stream("[]"), ProtocolError);
    CHECK_THROWS_AS(parse_end_stream(""), ProtocolError);
}

TEST_CASE("e2b connect: a stream's rules: start first, output, keepalives, errors")
{
    SUBCASE("non-zero exit with stderr, keepalives in between")
    {
        Run r;
        r.feed(event(R"({"event":{"start":{"pid":1}}})") + event(R"({"event":{"keepalive":{}}})") +
               event(R"({"event":{"data":{"stderr":"Ym9vbQo="}}})") + event(R"({"event":{"keepalive":{}}})") +
               event(R"({"event":{"end":{"exitCode":3,"exited":true}}})") + encode_envelope("{}", 2));
        CHECK(r.err == "boom\n");
        CHECK(r.reader.end()->exit_code == 3);
        CHECK(r.reader.keepalives() == 2);
    }
    SUBCASE("a timeout ends with deadline_exceeded and no end event")
    {
        Run r;
        r.feed(event(R"({"event":{"start":{"pid":1}}})") + event(R"({"event":{"data":{"stdout":"cGFydA=="}}})") +
               encode_envelope(R"({"error":{"code":"deadline_exceeded","message":"context deadline exceeded"}})", 2));
        CHECK(r.out == "part");
        CHECK_FALSE(r.reader.end());
        CHECK(r.reader.finished());
        REQUIRE(r.reader.error());
        CHECK(r.reader.error()->code == "deadline_exceeded");
    }
    SUBCASE("an event before start")
    {
        Run r;
        CHECK_THROWS_WITH_AS(r.feed(event(R"({"event":{"data":{"stdout":"eA=="}}})")), doctest::Contains("start event"),
                             ProtocolError);
    }
    SUBCASE("a second start")
    {
        Run r;
        r.feed(event(R"({"event":{"start":{"pid":1}}})"));
        CHECK_THROWS_AS(r.feed(event(R"({"event":{"start":{"pid":2}}})")), ProtocolError);
    }
    SUBCASE("an end-stream error before start is still reported")
    {
        Run r;
        r.feed(encode_envelope(R"({"error":{"code":"unavailable","message":"gone"}})", 2));
        CHECK_FALSE(r.reader.pid());
        CHECK(r.reader.error()->code == "unavailable");
    }
}

TEST_CASE("e2b connect: UTF-8 split across data events reaches the capture whole")
{
    // "é" is C3 A9: the first event ends after C3.
    Run r;
    stirrup::detail::OutputCapture cap(100, 100);
    StartStreamReader reader;
    const auto sink = [&](int, std::string_view b) { cap.append(b); };
    reader.feed(event(R"({"event":{"start":{"pid":1}}})"), sink);
    reader.feed(event(R"({"event":{"data":{"stdout":")" + stirrup::detail::base64::encode("caf\xc3") + R"("}}})"),
                sink);
    reader.feed(event(R"({"event":{"data":{"stdout":")" + stirrup::detail::base64::encode("\xa9!") + R"("}}})"), sink);
    cap.finish();
    CHECK(cap.take_text() == "caf\xc3\xa9!");
}

TEST_CASE("e2b connect: unary errors: Connect bodies, plain JSON, plain text")
{
    auto e = parse_unary_error(404, R"({"code":"not_found","message":"file not found: lstat /x"})");
    CHECK(e.code == "not_found");
    CHECK(e.message == "file not found: lstat /x");
    // envd's auth answers with a numeric code: the status decides.
    e = parse_unary_error(401, R"({"code":401,"message":"unauthorized access"})");
    CHECK(e.code == "unauthenticated");
    CHECK(e.message == "unauthorized access");
    e = parse_unary_error(502, R"({"sandboxId":"x","message":"The sandbox was not found","code":502})");
    CHECK(e.code == "unavailable");
    e = parse_unary_error(503, "Service Unavailable\n");
    CHECK(e.code == "unavailable");
    CHECK(e.message == "Service Unavailable");
    CHECK(parse_unary_error(500, "").message == "HTTP status 500");
    CHECK(code_for_http_status(504) == "deadline_exceeded");
    CHECK(code_for_http_status(409) == "already_exists");
    CHECK(code_for_http_status(413) == "resource_exhausted");
    CHECK(code_for_http_status(418) == "unknown");
}

TEST_CASE("e2b connect: request bodies")
{
    std::map<std::string, std::string> envs{{"A", "1"}};
    const auto v = boost::json::parse(start_request_json("ls", "t1", envs, "/tmp"));
    CHECK(v.at("process").at("envs").at("A") == "1");
    CHECK(v.at("process").at("cwd") == "/tmp");
    CHECK(v.at("tag") == "t1");
    CHECK(v.at("stdin") == false);
    CHECK(kill_by_pid_json(411) == R"({"process":{"pid":411},"signal":"SIGNAL_SIGKILL"})");
    CHECK(kill_by_tag_json("t") == R"({"process":{"tag":"t"},"signal":"SIGNAL_SIGKILL"})");
}

TEST_CASE("e2b connect: content types connect-es accepts")
{
    CHECK(is_connect_stream_content_type("application/connect+json"));
    CHECK(is_connect_stream_content_type("Application/Connect+JSON; charset=utf-8"));
    CHECK_FALSE(is_connect_stream_content_type("application/json"));
    CHECK_FALSE(is_connect_stream_content_type("application/connect+json; charset=latin1"));
    CHECK(is_json_content_type("application/json;charset=utf-8"));
    CHECK_FALSE(is_json_content_type("text/plain"));
}
