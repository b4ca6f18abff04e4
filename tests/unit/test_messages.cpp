// The message model (Stirrup's core/models.py semantics) and base64.

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "stirrup/core/detail/base64.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/core/messages.hpp"
#include "stirrup/core/tool.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/net/detail/sse_parser.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/pycompat/detail/python_expression.hpp"
#include "stirrup/tools/detail/image_normalize.hpp"

using namespace stirrup;

namespace {

bool is_hex32(const std::string& s)
{
    if (s.size() != 32)
        return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

} // namespace

TEST_CASE("uuid4_hex gives 32 lowercase hex digits, version 4, all different")
{
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string id = detail::uuid4_hex();
        CHECK(is_hex32(id));
        CHECK(id[12] == '4');
        CHECK(std::string("89ab").find(id[16]) != std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == 200);
    CHECK(is_hex32(AssistantMessage{}.id));
    CHECK(AssistantMessage{}.id != AssistantMessage{}.id);
}

TEST_CASE("ToolCall::from_provider keeps a provider id and generates a missing or empty one")
{
    const auto kept = ToolCall::from_provider(std::string("call_1"), "finish", "{}");
    CHECK(kept.tool_call_id == "call_1");
    CHECK(kept.has_provider_tool_call_id);
    CHECK(kept.name == "finish");
    CHECK(kept.arguments == "{}");

    const auto missing = ToolCall::from_provider(std::nullopt, "x", "");
    CHECK(is_hex32(missing.tool_call_id));
    CHECK_FALSE(missing.has_provider_tool_call_id);

    const auto empty = ToolCall::from_provider(std::string(), "x", "");
    CHECK(is_hex32(empty.tool_call_id));
    CHECK_FALSE(empty.has_provider_tool_call_id);
}

TEST_CASE("joined_text, final_text, tool_call_blocks, reasoning_blocks")
{
    std::vector<AssistantBlock> none{ReasoningBlock{"r"}, ToolCall::from_provider(std::string("a"), "t", "{}")};
    CHECK_FALSE(joined_text(none).has_value());
    CHECK_FALSE(final_text(none).has_value());

    std::vector<AssistantBlock> empty_text{TextBlock{"", std::nullopt}};
    REQUIRE(joined_text(empty_text).has_value());
    CHECK(*joined_text(empty_text) == "");

    std::vector<AssistantBlock> blocks{ReasoningBlock{"think"},
                                       TextBlock{"Hello", std::nullopt},
                                       ToolCall::from_provider(std::string("a"), "t1", "{}"),
                                       TextBlock{" world", std::nullopt},
                                       ToolCall::from_provider(std::string("b"), "t2", "[]"),
                                       ReasoningBlock{"more"}};
    CHECK(*joined_text(blocks) == "Hello world");
    CHECK(*final_text(blocks) == " world");
    const auto calls = tool_call_blocks(blocks);
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].name == "t1");
    CHECK(calls[1].tool_call_id == "b");
    const auto reasoning = reasoning_blocks(blocks);
    REQUIRE(reasoning.size() == 2);
    CHECK(reasoning[1].content == "more");
}

TEST_CASE("TokenUsage sums")
{
    TokenUsage a{10, 5, 3};
    CHECK(a.output() == 8);
    CHECK(a.total() == 18);
    const TokenUsage b = a + TokenUsage{1, 2, 4};
    CHECK(b == TokenUsage{11, 7, 7});
    a += b;
    CHECK(a == TokenUsage{21, 12, 10});
    CHECK(TokenUsage{}.total() == 0);
}

TEST_CASE("message defaults follow Stirrup")
{
    ToolMessage t;
    CHECK_FALSE(t.success);
    CHECK(t.args_was_valid);
    CHECK_FALSE(t.name.has_value());
    CHECK_FALSE(t.tool_duration().has_value());
    t.tool_start_time = 10.0;
    t.tool_end_time = 12.5;
    CHECK(*t.tool_duration() == doctest::Approx(2.5));
    t.tool_end_time = 9.0;
    CHECK_FALSE(t.tool_duration().has_value());

    UserMessage u;
    u.content = "hi";
    CHECK(u.kind == UserKind::user);
    ChatMessage m = UserMessage{std::string("x"), UserKind::summary, {"id1"}};
    CHECK(std::get<UserMessage>(m).kind == UserKind::summary);

    AssistantMessage a;
    CHECK_FALSE(a.provider_response_id.has_value());
    CHECK(a.blocks.empty());
    CHECK(a.token_usage == TokenUsage{});
    CHECK_FALSE(a.request_start_time.has_value());

    const double t0 = steady_clock_seconds();
    CHECK(steady_clock_seconds() >= t0);
}

TEST_CASE("content_text joins the text parts")
{
    CHECK(content_text(Content{"abc"}) == "abc");
    CHECK(content_text(Content{std::vector<ContentPart>{"a", ImageBlock{"\x89PNG", "image/png"}, "b"}}) == "ab");
}

TEST_CASE("base64 encodes and decodes the RFC 4648 vectors")
{
    const std::vector<std::pair<std::string, std::string>> vectors{{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        CHECK(detail::base64::encode(plain) == encoded);
        REQUIRE(detail::base64::decode(encoded).has_value());
        CHECK(*detail::base64::decode(encoded) == plain);
    }
    CHECK(detail::base64::encode(std::string("\x00\xff\xfe\x80", 4)) == "AP/+gA==");
    CHECK(*detail::base64::decode("AP/+gA") == std::string("\x00\xff\xfe\x80", 4));
    CHECK(*detail::base64::decode("Zg") == "f");
}

TEST_CASE("base64 round-trips every byte value and length")
{
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); n += 7) {
        const auto s = all.substr(0, n);
        CHECK(detail::base64::decode(detail::base64::encode(s)) == s);
    }
}

TEST_CASE("base64 rejects malformed input")
{
    for (const char* bad : {"Z", "Zg=", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "====", "Zg==Zg==", "Z===", "Zm9v*A=="})
        CHECK_MESSAGE(!detail::base64::decode(bad).has_value(), bad);
}

// One exception root (issue 14): whatever the library throws is caught as
// stirrup::Error. The exec backends' internal types are checked with them.
TEST_CASE("every exception type the library throws is a stirrup::Error")
{
    static_assert(std::is_base_of_v<std::exception, Error>);
    static_assert(std::is_base_of_v<Error, NotStartedError>);
    static_assert(std::is_base_of_v<Error, PathError>);
    static_assert(std::is_base_of_v<Error, FileNotFoundError>);
    static_assert(std::is_base_of_v<Error, FileTooLargeError>);
    static_assert(std::is_base_of_v<Error, ConfigError>);
    static_assert(std::is_base_of_v<Error, SystemError>);
    static_assert(std::is_base_of_v<Error, InvalidToolArguments>);
    static_assert(std::is_base_of_v<Error, ContextOverflowError>);
    static_assert(std::is_base_of_v<Error, OutputTokenLimitError>);
    static_assert(std::is_base_of_v<Error, LlmApiError>);
    static_assert(std::is_base_of_v<Error, PassbackError>);
    static_assert(std::is_base_of_v<Error, net::HttpTransportError>);
    static_assert(std::is_base_of_v<Error, net::HttpCertificateRefused>);
    static_assert(std::is_base_of_v<Error, net::HttpResponseTooLarge>);
    static_assert(std::is_base_of_v<Error, net::detail::SseEventTooLarge>);
    static_assert(std::is_base_of_v<Error, docker::ApiError>);
    static_assert(std::is_base_of_v<Error, docker::EngineUnavailableError>);
    static_assert(std::is_base_of_v<Error, docker::StreamFailure>);
    static_assert(std::is_base_of_v<Error, detail::PythonExpressionError>);
    static_assert(std::is_base_of_v<Error, detail::WorkLimitError>);
    static_assert(std::is_base_of_v<Error, detail::ImageError>);

    const std::error_code ec = std::make_error_code(std::errc::permission_denied);
    try {
        throw SystemError(ec, "cannot open /x");
    } catch (const Error& e) {
        // Reads as std::system_error did, and keeps its cause.
        CHECK(std::string(e.what()) == "cannot open /x: " + ec.message());
        const auto* system = dynamic_cast<const SystemError*>(&e);
        REQUIRE(system != nullptr);
        CHECK(system->code() == ec);
    }
    try {
        throw net::HttpTransportError(std::make_error_code(std::errc::connection_refused), "connect");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind("connect: ", 0) == 0);
    }
    try {
        net::detail::SseParser parser({.max_event_size = 4});
        (void)parser.feed("data: 0123456789\n");
        FAIL("no exception");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("too") != std::string::npos);
    }
}
