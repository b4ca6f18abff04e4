// ChatCompletionsClient against the fake OpenAI-compatible server over real
// TLS: what the client sends (recorded and validated by the fake, which
// rejects malformed requests with OpenAI's 400), what it makes of the answers,
// retries, error mapping, pooling and cancellation.

#include <doctest/doctest.h>

#include <chrono>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/net/http_client.hpp"
#include "support/fake_openai.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace std::chrono_literals;
using boost::asio::awaitable;
using stirrup::test::FakeOpenAi;
using stirrup::test::run_sync;
using stirrup::test::test_certs;
namespace json = boost::json;

namespace {

ChatCompletionsOptions options_for(const FakeOpenAi& fake)
{
    ChatCompletionsOptions o;
    o.model = "gpt-test";
    o.max_tokens = 1000;
    o.context_window_tokens = 128000;
    o.base_url = fake.base_url();
    o.api_key = "sk-test";
    return o;
}

net::HttpClientOptions trusting_test_ca()
{
    net::HttpClientOptions o;
    o.tls.ca_file = test_certs().ca_cert.string();
    o.retry.initial_backoff = 10ms; // keep retry tests quick; Retry-After still rules
    return o;
}

// Runs `body` with a client (its options already point at the fake server,
// which the first parameter names at each call) on a fresh io_context.
template <class Body>
void with_client(const FakeOpenAi& /*fake*/, ChatCompletionsOptions options, Body body)
{
    run_sync([&]() -> awaitable<void> {
        auto http = std::make_shared<net::HttpClient>(co_await boost::asio::this_coro::executor, trusting_test_ca());
        ChatCompletionsClient client(http, options);
        co_await body(client, *http);
    });
}

std::vector<ChatMessage> user_says(const std::string& text)
{
    return {SystemMessage{std::string("You are terse.")}, UserMessage{std::string(text)}};
}

std::vector<ToolDefinition> code_exec_tool()
{
    return {
        ToolDefinition{"code_exec", "Execute a shell command.",
                       std::string(R"({"properties":{"cmd":{"type":"string"}},"required":["cmd"],"type":"object"})")}};
}

} // namespace

TEST_CASE("chat client: a plain completion, and exactly what was sent")
{
    FakeOpenAi fake(R"([{"completion": {"content": "Hello!", "usage": {"prompt_tokens": 12, "completion_tokens": 5,
                        "completion_tokens_details": {"reasoning_tokens": 2}}}}])");
    with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
        const auto messages = user_says("Hi");
        const std::vector<ToolDefinition> no_tools;
        AssistantMessage reply = co_await client.generate(messages, no_tools);
        CHECK(joined_text(reply.blocks) == "Hello!");
        CHECK(reply.token_usage.input == 12);
        CHECK(reply.token_usage.reasoning == 2);
        CHECK(reply.token_usage.answer == 3);
        CHECK(reply.request_start_time.has_value());
        CHECK(*reply.request_end_time >= *reply.request_start_time);
    });
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 1);
    const auto& r = requests[0];
    CHECK(r.at("path").as_string() == "/v1/chat/completions");
    CHECK(r.at("headers").at("authorization").as_string() == "Bearer sk-test");
    CHECK(r.at("body") == json::parse(R"({"model":"gpt-test","messages":[
        {"role":"system","content":[{"type":"text","text":"You are terse."}]},
        {"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_completion_tokens":1000})"));
}

TEST_CASE("chat client: tool calls, then a turn carrying the results that the fake validates")
{
    FakeOpenAi fake(R"([
        {"completion": {"reasoning_content": "need ls", "content": "Let me look.",
                        "tool_calls": [{"id": "call_1", "name": "code_exec", "arguments": {"cmd": "ls"}},
                                       {"id": null, "name": "code_exec", "arguments": "{\"cmd\":\"pwd\"}"}]}},
        {"completion": {"content": "Done."}}])");
    with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
        auto messages = user_says("List files");
        const auto tools = code_exec_tool();
        AssistantMessage reply = co_await client.generate(messages, tools);
        REQUIRE(reply.blocks.size() == 4);
        CHECK(std::get<ReasoningBlock>(reply.blocks[0]).content == "need ls");
        CHECK(std::get<TextBlock>(reply.blocks[1]).text == "Let me look.");
        const auto calls = tool_call_blocks(reply.blocks);
        CHECK(calls[0].tool_call_id == "call_1");
        CHECK(calls[0].arguments == R"({"cmd":"ls"})");
        CHECK_FALSE(calls[1].has_provider_tool_call_id); // the provider sent none: an id was generated
        CHECK(calls[1].tool_call_id.size() == 32);

        // Only calls with provider ids can be passed back (Stirrup's rule), so answer the first.
        reply.blocks.pop_back();
        messages.push_back(reply);
        messages.push_back(ToolMessage{std::string("a.txt\n"), "call_1", std::string("code_exec")});
        AssistantMessage done = co_await client.generate(messages, tools);
        CHECK(joined_text(done.blocks) == "Done.");
    });
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    const auto& first = requests[0].at("body");
    CHECK(first.at("tool_choice").as_string() == "auto");
    CHECK(first.at("tools").at(0) == json::parse(R"({"type":"function","function":{"name":"code_exec",
        "description":"Execute a shell command.",
        "parameters":{"properties":{"cmd":{"type":"string"}},"required":["cmd"],"type":"object"}}})"));
    const auto& sent = requests[1].at("body").at("messages");
    CHECK(sent.at(2) == json::parse(R"({"role":"assistant","content":[{"type":"text","text":"Let me look."}],
        "reasoning_content":"need ls",
        "tool_calls":[{"id":"call_1","type":"function","function":{"name":"code_exec","arguments":"{\"cmd\":\"ls\"}"}}]})"));
    CHECK(sent.at(3) == json::parse(R"({"role":"tool","content":[{"type":"text","text":"a.txt\n"}],
        "tool_call_id":"call_1","name":"code_exec"})"));
}

TEST_CASE("chat client: images go as base64 data URLs the fake accepts")
{
    FakeOpenAi fake(R"([{"completion": {"content": "A red dot."}}])");
    with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
        std::vector<ContentPart> parts{std::string("What is this?"),
                                       ImageBlock{std::string("\x89PNG\r\n\x1a\n", 8), "image/png"}};
        std::vector<ChatMessage> messages{UserMessage{parts}};
        const std::vector<ToolDefinition> no_tools;
        AssistantMessage reply = co_await client.generate(messages, no_tools);
        CHECK(joined_text(reply.blocks) == "A red dot.");
    });
    const auto content = fake.requests().at(0).at("body").at("messages").at(0).at("content");
    CHECK(content.at(1) ==
          json::parse(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}})"));
}

TEST_CASE("chat client: streaming assembles the same message")
{
    FakeOpenAi fake(R"([{"completion": {"content": "Streaming works.", "chunk_size": 3,
                        "tool_calls": [{"id": "call_9", "name": "code_exec", "arguments": {"cmd": "echo hi"}}],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 4}}}])");
    auto options = options_for(fake);
    options.stream = true;
    with_client(fake, options, [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
        const auto messages = user_says("go");
        const auto tools = code_exec_tool();
        AssistantMessage reply = co_await client.generate(messages, tools);
        CHECK(joined_text(reply.blocks) == "Streaming works.");
        const auto calls = tool_call_blocks(reply.blocks);
        REQUIRE(calls.size() == 1);
        CHECK(calls[0].tool_call_id == "call_9");
        CHECK(calls[0].arguments == R"({"cmd":"echo hi"})");
        CHECK(reply.token_usage.input == 7);
        CHECK(reply.token_usage.answer == 4);
    });
    const auto body = fake.requests().at(0).at("body");
    CHECK(body.at("stream").as_bool());
    CHECK(body.at("stream_options") == json::parse(R"({"include_usage":true})"));
}

TEST_CASE("chat client: retries 429 with Retry-After, 500 and dropped connections, with exact attempt counts")
{
    SUBCASE("429 then success")
    {
        FakeOpenAi fake(
            R"([{"error": {"status": 429}, "headers": {"retry-after": "1"}}, {"completion": {"content": "ok"}}])");
        with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
            const auto messages = user_says("x");
            const std::vector<ToolDefinition> no_tools;
            CHECK(joined_text((co_await client.generate(messages, no_tools)).blocks) == "ok");
        });
        CHECK(fake.requests().size() == 2);
    }
    SUBCASE("500 three times exhausts the budget of 2 retries")
    {
        FakeOpenAi fake(R"([{"error": {"status": 500}, "repeat": 3}, {"completion": {"content": "too late"}}])");
        with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
            const auto messages = user_says("x");
            const std::vector<ToolDefinition> no_tools;
            int status = 0;
            try {
                co_await client.generate(messages, no_tools);
            } catch (const LlmApiError& e) {
                status = e.http_status();
            }
            CHECK(status == 500);
        });
        CHECK(fake.requests().size() == 3);
    }
    SUBCASE("a connection dropped mid-body is retried")
    {
        FakeOpenAi fake(R"([{"drop": {"when": "mid_body", "after_bytes": 40}, "completion": {"content": "abc"}},
                            {"completion": {"content": "second try"}}])");
        with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
            const auto messages = user_says("x");
            const std::vector<ToolDefinition> no_tools;
            CHECK(joined_text((co_await client.generate(messages, no_tools)).blocks) == "second try");
        });
        CHECK(fake.requests().size() == 2);
    }
    SUBCASE("400 and 401 are not retried")
    {
        FakeOpenAi fake(R"([{"error": {"status": 400, "message": "bad"}}, {"error": {"status": 401}}])");
        with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
            const auto messages = user_says("x");
            const std::vector<ToolDefinition> no_tools;
            for (int expected : {400, 401}) {
                int status = 0;
                try {
                    co_await client.generate(messages, no_tools);
                } catch (const LlmApiError& e) {
                    status = e.http_status();
                }
                CHECK(status == expected);
            }
        });
        CHECK(fake.requests().size() == 2);
    }
}

TEST_CASE("chat client: context overflow and output limit map to Stirrup's errors")
{
    FakeOpenAi fake(R"([
        {"error": {"status": 400, "code": "context_length_exceeded", "param": "messages",
                   "message": "This model's maximum context length is 128000 tokens."}},
        {"completion": {"content": "cut", "finish_reason": "length"}}])");
    with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
        const auto messages = user_says("x");
        const std::vector<ToolDefinition> no_tools;
        bool overflow = false;
        try {
            co_await client.generate(messages, no_tools);
        } catch (const ContextOverflowError&) {
            overflow = true;
        }
        CHECK(overflow);
        std::string limit;
        try {
            co_await client.generate(messages, no_tools);
        } catch (const OutputTokenLimitError& e) {
            limit = e.what();
        }
        CHECK(limit == "Model 'gpt-test' exhausted its configured output budget (max_tokens=1000; provider reason: "
                       "length). Increase max_tokens or ask the model for a shorter response.");
    });
}

TEST_CASE("chat client: one TLS connection serves many sequential requests")
{
    FakeOpenAi fake(R"({"steps": [{"completion": {"content": "ok"}, "repeat": 5}]})");
    with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient& http) -> awaitable<void> {
        const auto messages = user_says("x");
        const std::vector<ToolDefinition> no_tools;
        for (int i = 0; i < 5; ++i)
            co_await client.generate(messages, no_tools);
        CHECK(http.stats().tls_handshakes == 1);
    });
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 5);
    for (const auto& r : requests)
        CHECK(r.at("connection") == requests[0].at("connection"));
}

TEST_CASE("chat client: untrusted or wrong-host certificates are refused")
{
    for (const char* cert : {"untrusted", "wronghost"}) {
        CAPTURE(cert);
        FakeOpenAi fake(R"([{"completion": {"content": "must not be read"}}])", {.certificate = cert});
        bool refused = false;
        with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
            const auto messages = user_says("x");
            const std::vector<ToolDefinition> no_tools;
            try {
                co_await client.generate(messages, no_tools);
            } catch (const net::HttpTransportError&) {
                refused = true;
            }
        });
        CHECK(refused);
        CHECK(fake.requests().empty());
    }
}

TEST_CASE("chat client: cancelling a request mid-flight, then the client still works")
{
    using namespace boost::asio::experimental::awaitable_operators;
    FakeOpenAi fake(R"([{"hang": true}, {"completion": {"content": "after"}}])");
    with_client(fake, options_for(fake), [&](ChatCompletionsClient& client, net::HttpClient&) -> awaitable<void> {
        const auto messages = user_says("x");
        const std::vector<ToolDefinition> no_tools;
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 300ms);
        auto which = co_await (client.generate(messages, no_tools) || timer.async_wait(boost::asio::use_awaitable));
        CHECK(which.index() == 1);
        CHECK(joined_text((co_await client.generate(messages, no_tools)).blocks) == "after");
    });
}

TEST_CASE("chat client: idle_timeout fails an answer that never comes, streamed or not, and is retried")
{
    FakeOpenAi fake(R"([{"hang": true}, {"hang": true}, {"hang": true}, {"completion": {"content": "at last"}}])");
    ChatCompletionsOptions options = options_for(fake);
    options.idle_timeout = 300ms;
    options.max_retries = 1;
    with_client(fake, options, [&](ChatCompletionsClient& client, net::HttpClient& http) -> awaitable<void> {
        const auto messages = user_says("x");
        const std::vector<ToolDefinition> no_tools;
        std::string what;
        try {
            co_await client.generate(messages, no_tools);
        } catch (const net::HttpTransportError& e) {
            CHECK(e.code() == std::errc::timed_out);
            what = e.what();
        }
        CHECK(what.find("no data from the server for 0.3 s (the idle timeout)") != std::string::npos);
        CHECK(http.stats().retries == 1);
    });
    // The same bound while a streamed answer's headers are awaited.
    options.stream = true;
    with_client(fake, options, [&](ChatCompletionsClient& client, net::HttpClient& http) -> awaitable<void> {
        const auto messages = user_says("x");
        const std::vector<ToolDefinition> no_tools;
        CHECK(joined_text((co_await client.generate(messages, no_tools)).blocks) == "at last");
        CHECK(http.stats().retries == 1);
    });
    CHECK(fake.stats().at("steps_used") == 4);
}

TEST_CASE("chat client: a timeout that is not positive is a ConfigError naming it")
{
    ChatCompletionsOptions o;
    o.model = "m";
    o.context_window_tokens = 128000;
    o.max_tokens = 1000;
    o.api_key = "sk-test";
    boost::asio::io_context io;
    o.idle_timeout = 0ms;
    CHECK_THROWS_WITH_AS(ChatCompletionsClient(io.get_executor(), o), "idle_timeout must be positive, got 0 ms",
                         ConfigError);
    o.idle_timeout.reset();
    o.timeout = -1ms;
    CHECK_THROWS_WITH_AS(ChatCompletionsClient(io.get_executor(), o), "timeout must be positive, got -1 ms",
                         ConfigError);
    o.timeout = 1ms;
    CHECK_NOTHROW(ChatCompletionsClient(io.get_executor(), o));
}
