// Streamed chat completions: a recorded stream (OpenAI's chunk shapes,
// stream_options.include_usage) assembled into the message the non-streaming
// parser gives for the same completion, whatever the byte or delta boundaries.

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/llm/detail/chat_stream_assembler.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/net/detail/sse_parser.hpp"

using namespace stirrup;
using namespace stirrup::detail::chat;

namespace {

const ResponseContext kContext{"gpt-4o", 1000};

// The data lines of a recorded stream: reasoning, text, two tool calls (the
// second interleaved with the first), finish, then the usage chunk.
const std::vector<std::string> kRecorded{
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"I should "},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"list files."},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"look \u00e9."},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"code_exec","arguments":""}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"cmd\":"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"finish","arguments":"{\"reason\":"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"ls\"}"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"done\",\"paths\":[]}"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})",
    R"({"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":50,"total_tokens":170,"completion_tokens_details":{"reasoning_tokens":30}}})",
    "[DONE]",
};

// The same completion, not streamed.
const std::string kWhole =
    R"({"id":"chatcmpl-9","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Let me look \u00e9.","reasoning_content":"I should list files.","tool_calls":[{"id":"call_a","type":"function","function":{"name":"code_exec","arguments":"{\"cmd\": \"ls\"}"}},{"id":"call_b","type":"function","function":{"name":"finish","arguments":"{\"reason\":\"done\",\"paths\":[]}"}}]}}],"usage":{"prompt_tokens":120,"completion_tokens":50,"total_tokens":170,"completion_tokens_details":{"reasoning_tokens":30}}})";

std::string sse_bytes(const std::vector<std::string>& data)
{
    std::string out = ": keep-alive comment\n\n";
    for (const auto& d : data)
        out += "data: " + d + "\n\n";
    return out;
}

void check_same(const AssistantMessage& a, const AssistantMessage& b)
{
    CHECK(a.blocks == b.blocks);
    CHECK(a.token_usage == b.token_usage);
    CHECK(a.provider_response_id == b.provider_response_id);
}

AssistantMessage assemble(const std::vector<std::string>& data)
{
    ChatStreamAssembler a(kContext);
    for (const auto& d : data)
        a.feed(d);
    return a.finish();
}

AssistantMessage assemble_bytes(const std::vector<std::string_view>& pieces)
{
    net::detail::SseParser parser;
    ChatStreamAssembler a(kContext);
    for (const auto piece : pieces)
        for (const auto& event : parser.feed(piece))
            a.feed(event.data, event.type);
    CHECK(a.done());
    return a.finish();
}

// One chunk carrying one delta for choice 0.
std::string delta_chunk(const std::string& delta_json)
{
    return R"({"id":"chatcmpl-9","choices":[{"index":0,"delta":)" + delta_json + R"(,"finish_reason":null}]})";
}

std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

} // namespace

TEST_CASE("stream: the recorded stream assembles to the non-streaming message")
{
    const auto streamed = assemble(kRecorded);
    const auto whole = parse_response(kWhole, kContext);
    check_same(streamed, whole);
    REQUIRE(streamed.blocks.size() == 4);
    CHECK(std::get<ReasoningBlock>(streamed.blocks[0]).content == "I should list files.");
    CHECK(std::get<TextBlock>(streamed.blocks[1]).text == "Let me look \xC3\xA9.");
    CHECK(std::get<ToolCall>(streamed.blocks[2]).arguments == R"({"cmd": "ls"})");
    CHECK(std::get<ToolCall>(streamed.blocks[3]).tool_call_id == "call_b");
    CHECK(streamed.token_usage == TokenUsage{120, 20, 30});
}

TEST_CASE("stream: the SSE bytes split at every point give the same message")
{
    const std::string bytes = sse_bytes(kRecorded);
    const auto expected = assemble(kRecorded);
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
        const std::string_view b(bytes);
        check_same(assemble_bytes({b.substr(0, i), b.substr(i)}), expected);
    }
    // Byte by byte, and with CRLF line ends.
    std::vector<std::string_view> single;
    for (std::size_t i = 0; i < bytes.size(); ++i)
        single.push_back(std::string_view(bytes).substr(i, 1));
    check_same(assemble_bytes(single), expected);
    std::string crlf;
    for (char c : bytes)
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    check_same(assemble_bytes({crlf}), expected);
}

TEST_CASE("stream: content, reasoning, name and arguments split into deltas at every point")
{
    const std::string content = "Hello, \"world\"!";
    const std::string reasoning = "Think \\ twice";
    const std::string name = "code_exec";
    const std::string args = R"({"cmd": "echo hi"})";
    std::vector<std::string> whole_chunks{
        delta_chunk(R"({"reasoning_content":)" + json_string(reasoning) + "}"),
        delta_chunk(R"({"content":)" + json_string(content) + "}"),
        delta_chunk(R"({"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":)" + json_string(name) +
                    R"(,"arguments":)" + json_string(args) + "}}]}"),
        R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})", "[DONE]"};
    const auto expected = assemble(whole_chunks);
    REQUIRE(expected.blocks.size() == 3);
    CHECK(std::get<ToolCall>(expected.blocks[2]).name == name);
    CHECK(std::get<ToolCall>(expected.blocks[2]).arguments == args);

    auto split = [](const std::string& s, std::size_t i) { return std::pair{s.substr(0, i), s.substr(i)}; };
    for (std::size_t i = 0; i <= args.size(); ++i) {
        const auto [c1, c2] = split(content, std::min(i, content.size()));
        const auto [r1, r2] = split(reasoning, std::min(i, reasoning.size()));
        const auto [n1, n2] = split(name, std::min(i, name.size()));
        const auto [a1, a2] = split(args, i);
        const std::vector<std::string> chunks{
            delta_chunk(R"({"reasoning_content":)" + json_string(r1) + "}"),
            delta_chunk(R"({"reasoning_content":)" + json_string(r2) + "}"),
            delta_chunk(R"({"content":)" + json_string(c1) + "}"),
            delta_chunk(R"({"content":)" + json_string(c2) + "}"),
            delta_chunk(R"({"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":)" +
                        json_string(n1) + R"(,"arguments":)" + json_string(a1) + "}}]}"),
            delta_chunk(R"({"tool_calls":[{"index":0,"function":{"name":)" + json_string(n2) + R"(,"arguments":)" +
                        json_string(a2) + "}}]}"),
            R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
            "[DONE]"};
        check_same(assemble(chunks), expected);
    }
}

TEST_CASE("stream: a missing tool-call id is generated; a repeated id is kept once")
{
    const auto m =
        assemble({delta_chunk(R"({"tool_calls":[{"index":0,"function":{"name":"a","arguments":"{}"}}]})"),
                  delta_chunk(R"({"tool_calls":[{"index":1,"id":"x","function":{"name":"b"}}]})"),
                  delta_chunk(R"({"tool_calls":[{"index":1,"id":"x","function":{"arguments":"[]"}}]})"), "[DONE]"});
    REQUIRE(m.blocks.size() == 2);
    CHECK_FALSE(std::get<ToolCall>(m.blocks[0]).has_provider_tool_call_id);
    CHECK(std::get<ToolCall>(m.blocks[1]).tool_call_id == "x");
    CHECK(std::get<ToolCall>(m.blocks[1]).arguments == "[]");
}

TEST_CASE("stream: tool calls without an index are told apart by their ids")
{
    const auto m =
        assemble({delta_chunk(R"({"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]})"),
                  delta_chunk(R"({"tool_calls":[{"function":{"arguments":"1}"}}]})"),
                  delta_chunk(R"({"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]})"),
                  R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"});
    REQUIRE(m.blocks.size() == 2);
    CHECK(std::get<ToolCall>(m.blocks[0]).arguments == R"({"x":1})");
    CHECK(std::get<ToolCall>(m.blocks[1]).name == "g");
}

TEST_CASE("stream: finish_reason length is an output-limit error")
{
    CHECK_THROWS_AS(assemble({delta_chunk(R"({"content":"par"})"),
                              R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})", "[DONE]"}),
                    OutputTokenLimitError);
}

TEST_CASE("stream: a stream cut before the end is an error; a finish without [DONE] is accepted")
{
    CHECK_THROWS_AS(assemble({delta_chunk(R"({"content":"par"})")}), LlmApiError);
    CHECK_THROWS_WITH_AS(assemble({}),
                         "Error code: 200 - invalid chat completion stream: the stream ended without any chunk (code: "
                         "invalid_response)",
                         LlmApiError);
    CHECK_THROWS_AS(assemble({"[DONE]"}), LlmApiError);
    const auto m = assemble(
        {delta_chunk(R"({"content":"ok"})"), R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"});
    CHECK(std::get<TextBlock>(m.blocks.at(0)).text == "ok");
}

TEST_CASE("stream: error events and malformed chunks")
{
    CHECK_THROWS_AS(assemble({R"({"error":{"message":"This model's maximum context length is 10 tokens"}})"}),
                    ContextOverflowError);
    ChatStreamAssembler a(kContext);
    CHECK_THROWS_AS(a.feed(R"({"message":"overloaded"})", "error"), LlmApiError);
    for (const char* bad :
         {"not json", "[1]", R"({"choices":5})", R"({"choices":[5]})", R"({"choices":[{"delta":5}]})",
          R"({"choices":[{"delta":{"tool_calls":{}}}]})", R"({"choices":[{"delta":{"tool_calls":[5]}}]})"}) {
        ChatStreamAssembler b(kContext);
        CHECK_THROWS_AS_MESSAGE(b.feed(bad), LlmApiError, bad);
    }
}

TEST_CASE("stream: other choices are ignored; data after [DONE] is ignored")
{
    ChatStreamAssembler a(kContext);
    a.feed(R"({"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]})");
    a.feed(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
    a.feed("[DONE]");
    a.feed("garbage after done");
    const auto m = a.finish();
    CHECK(std::get<TextBlock>(m.blocks.at(0)).text == "mine");
}
