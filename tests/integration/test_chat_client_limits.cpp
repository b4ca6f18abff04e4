// ChatCompletionsClient against a model endpoint whose answer is larger than
// the HTTP client's body limit: the request fails with an LlmApiError saying
// so (not an exhausted process), streamed or not, and the next request works.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/this_coro.hpp>

#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/net/http_client.hpp"
#include "support/http_test_server.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace std::chrono_literals;
using stirrup::test::Exchange;
using stirrup::test::HttpTestServer;
using stirrup::test::one_header;
using stirrup::test::run_sync;
namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr std::size_t kLimit = 64 * 1024;

std::string completion(const std::string& content)
{
    return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-test",)"
           R"("choices":[{"index":0,"message":{"role":"assistant","content":")" +
           content +
           R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})";
}

// A streamed completion of 2,000 ten-byte deltas (about 300 KB, past the
// 64 KiB limit) when the user asks for
// it, a short one otherwise: no single event is large, the whole is.
awaitable<void> streaming_model(Exchange& x)
{
    const bool huge = x.request.body.find("HUGE") != std::string::npos;
    const auto event = [](const std::string& delta) {
        return R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-test",)"
               R"("choices":[{"index":0,"delta":{"content":")" +
               delta + R"("},"finish_reason":null}]})" + "\n\n";
    };
    std::string body;
    const int deltas = huge ? 2000 : 1;
    for (int i = 0; i < deltas; ++i)
        body += event(huge ? std::string(10, 'z') : std::string("fine"));
    body += R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-test",)"
            R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
            "\n\ndata: [DONE]\n\n";
    co_await x.respond(200, std::move(body), one_header("Content-Type", "text/event-stream"));
}

// A well-formed completion of 1 MiB when the user asks for it, a short one
// otherwise; JSON either way, even to a streamed request.
awaitable<void> model(Exchange& x)
{
    const bool huge = x.request.body.find("HUGE") != std::string::npos;
    std::string body = completion(huge ? std::string(1024 * 1024, 'z') : std::string("fine"));
    co_await x.respond(200, std::move(body), one_header("Content-Type", "application/json"));
}

ChatCompletionsOptions options_for(const HttpTestServer& server, bool stream)
{
    ChatCompletionsOptions o;
    o.model = "gpt-test";
    o.max_tokens = 1000;
    o.context_window_tokens = 128000;
    o.base_url = server.url("/v1");
    o.api_key = "sk-test";
    o.stream = stream;
    return o;
}

std::vector<ChatMessage> user_says(const std::string& text)
{
    return {UserMessage{std::string(text)}};
}

struct Outcome {
    std::string error_code;
    std::string what;
    std::string next_text;
};

awaitable<void> huge_then_small(const HttpTestServer& server, bool stream, Outcome& out)
{
    net::HttpClientOptions http_options;
    http_options.use_env_proxy = false;
    http_options.limits.max_body_bytes = kLimit;
    auto http = std::make_shared<net::HttpClient>(co_await asio::this_coro::executor, http_options);
    ChatCompletionsClient client(http, options_for(server, stream));
    const std::vector<ToolDefinition> no_tools;
    const auto huge = user_says("HUGE please");
    try {
        co_await client.generate(huge, no_tools);
    } catch (const LlmApiError& e) {
        out.error_code = e.code().value_or("");
        out.what = e.what();
    }
    const auto small = user_says("hello");
    const AssistantMessage next = co_await client.generate(small, no_tools);
    out.next_text = joined_text(next.blocks).value_or("");
}

} // namespace

TEST_CASE("chat client limits: a response past the HTTP body limit is an LlmApiError, then the client works")
{
    HttpTestServer server(model);
    for (const bool stream : {false, true}) {
        CAPTURE(stream);
        Outcome out;
        run_sync([&]() -> awaitable<void> { co_await huge_then_small(server, stream, out); });
        CHECK(out.error_code == "response_too_large");
        CHECK(out.what.find(std::to_string(kLimit) + " bytes") != std::string::npos);
        CHECK(out.next_text == "fine");
    }
    CHECK(server.requests() == 4); // neither refusal was retried
}

TEST_CASE(
    "chat client limits: a stream of small deltas past the HTTP body limit is an LlmApiError, then the client works")
{
    HttpTestServer server(streaming_model);
    Outcome out;
    run_sync([&]() -> awaitable<void> { co_await huge_then_small(server, true, out); });
    CHECK(out.error_code == "response_too_large");
    CHECK(out.what.find(std::to_string(kLimit) + " bytes") != std::string::npos);
    CHECK(out.next_text == "fine");
    CHECK(server.requests() == 2);
}
