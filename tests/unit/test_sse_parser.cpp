// The SSE parser against the WHATWG examples and edge cases, each input fed
// whole, byte by byte, and split at every point.

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "stirrup/net/detail/sse_parser.hpp"

using stirrup::net::detail::SseEvent;
using stirrup::net::detail::SseParser;

namespace {

std::vector<SseEvent> whole(std::string_view in)
{
    SseParser p;
    return p.feed(in);
}

std::vector<SseEvent> bytewise(std::string_view in)
{
    SseParser p;
    std::vector<SseEvent> out;
    for (char c : in)
        p.feed(std::string_view(&c, 1), out);
    return out;
}

// Every input is checked fed whole, byte by byte, and in two and three
// pieces at every split point.
std::vector<SseEvent> parse(std::string_view in)
{
    const auto expected = whole(in);
    CHECK(bytewise(in) == expected);
    for (std::size_t i = 0; i <= in.size(); ++i) {
        SseParser p;
        std::vector<SseEvent> out;
        p.feed(in.substr(0, i), out);
        p.feed(in.substr(i), out);
        CHECK(out == expected);
        for (std::size_t j = i; j <= in.size() && in.size() < 64; ++j) {
            SseParser q;
            std::vector<SseEvent> out3;
            q.feed(in.substr(0, i), out3);
            q.feed(in.substr(i, j - i), out3);
            q.feed(in.substr(j), out3);
            CHECK(out3 == expected);
        }
    }
    return expected;
}

SseEvent ev(std::string data, std::string type = "message", std::string id = {})
{
    SseEvent e;
    e.data = std::move(data);
    e.type = std::move(type);
    e.id = std::move(id);
    return e;
}

} // namespace

TEST_CASE("sse: data lines are joined with LF")
{
    const auto events = parse("data: YHOO\ndata: +2\ndata: 10\n\n");
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "YHOO\n+2\n10");
    CHECK(events[0].type == "message");
}

TEST_CASE("sse: the WHATWG example with comments and ids")
{
    const auto events =
        parse(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n");
    REQUIRE(events.size() == 3);
    CHECK(events[0] == ev("first event", "message", "1"));
    CHECK(events[1] == ev("second event", "message", ""));
    CHECK(events[2] == ev(" third event", "message", ""));
}

TEST_CASE("sse: empty data fields and an unterminated event")
{
    const auto events = parse("data\n\ndata\ndata\n\ndata:");
    REQUIRE(events.size() == 2);
    CHECK(events[0].data == "");
    CHECK(events[1].data == "\n");
}

TEST_CASE("sse: field without a colon and only one leading space stripped")
{
    const auto events = parse("data:test\n\ndata: test\n\ndata:  test\n\n");
    REQUIRE(events.size() == 3);
    CHECK(events[0].data == "test");
    CHECK(events[1].data == "test");
    CHECK(events[2].data == " test");
}

TEST_CASE("sse: event type, reset after dispatch")
{
    const auto events = parse("event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\ndata: x\n\n");
    REQUIRE(events.size() == 3);
    CHECK(events[0] == ev("73857293", "add"));
    CHECK(events[1] == ev("2153", "remove"));
    CHECK(events[2] == ev("x", "message"));
}

TEST_CASE("sse: CR, LF and CRLF line ends, mixed")
{
    const auto events = parse("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r");
    REQUIRE(events.size() == 2);
    CHECK(events[0].data == "a\nb\nc");
    CHECK(events[1].data == "d");
}

TEST_CASE("sse: CR then LF in the next feed is one line end")
{
    SseParser p;
    std::vector<SseEvent> out;
    p.feed("data: a\r", out);
    p.feed("\n", out);
    CHECK(out.empty());
    p.feed("\r\n", out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].data == "a");
}

TEST_CASE("sse: a leading BOM is dropped, only at the start")
{
    const auto events = parse("\xEF\xBB\xBF"
                              "data: a\n\n");
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "a");

    // A second BOM is content: the field name then is not "data".
    CHECK(parse("\xEF\xBB\xBF\xEF\xBB\xBF"
                "data: a\n\n")
              .empty());
    // A partial BOM is content too.
    const auto partial = parse("\xEF\xBB"
                               "data: a\n\ndata: b\n\n");
    REQUIRE(partial.size() == 1);
    CHECK(partial[0].data == "b");
}

TEST_CASE("sse: comments and unknown fields are ignored")
{
    const auto events = parse(":comment\nfoo: bar\ndata: x\n:another\n\n");
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "x");
}

TEST_CASE("sse: an event without data is not dispatched, but its id sticks")
{
    const auto events = parse("id: 7\n\ndata: after\n\n");
    REQUIRE(events.size() == 1);
    CHECK(events[0].id == "7");
}

TEST_CASE("sse: id with NUL is ignored")
{
    const std::string in = std::string("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n", 32);
    const auto events = parse(in);
    REQUIRE(events.size() == 2);
    CHECK(events[0].id == "1");
    CHECK(events[1].id == "1");
}

TEST_CASE("sse: retry must be all digits")
{
    SseParser p;
    auto events = p.feed("retry: 1500\ndata: a\n\nretry: 2x\ndata: b\n\nretry:\ndata: c\n\n");
    REQUIRE(events.size() == 3);
    CHECK(events[0].retry == 1500u);
    CHECK_FALSE(events[1].retry.has_value());
    CHECK_FALSE(events[2].retry.has_value());
    CHECK(p.reconnection_time() == 1500u);
    parse("retry: 99999999999999999999999\ndata: a\n\n");
}

TEST_CASE("sse: OpenAI-style stream")
{
    const auto events = parse("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                              "data: {\"choices\":[]}\n\n"
                              "data: [DONE]\n\n");
    REQUIRE(events.size() == 3);
    CHECK(events[2].data == "[DONE]");
}

TEST_CASE("sse: overlong line is an error, not unbounded memory")
{
    SseParser p({.max_event_size = 16});
    CHECK_THROWS_AS(p.feed("data: 0123456789abcdef"), stirrup::net::detail::SseEventTooLarge);
    SseParser q({.max_event_size = 16});
    CHECK_THROWS_AS(q.feed("data: 0123456789\ndata: 0123456789\n"), stirrup::net::detail::SseEventTooLarge);
}
