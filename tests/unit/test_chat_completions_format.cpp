// The chat-completions wire format: request bodies byte for byte against
// Stirrup's clients/utils.py conversion serialised as httpx sends it
// (json.dumps(ensure_ascii=False, separators=(",", ":"))), response parsing,
// and error mapping. Expected literals were produced with CPython 3.11 and
// pydantic 2.13 (for the tool schemas); the tests never run Python.

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/core/messages.hpp"
#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/llm/errors.hpp"

using namespace stirrup;
using namespace stirrup::detail::chat;

namespace {

// simple
constexpr std::string_view k_simple =
    R"J({"model":"gpt-4o","messages":[{"role":"system","content":[{"type":"text","text":"You are helpful."}]},{"role":"user","content":[{"type":"text","text":"Hi é \"q\"\n\ttab \u0001   / \\"}]}],"max_completion_tokens":64000})J";

// finish_schema
constexpr std::string_view k_finish_schema =
    R"J({"description":"Explanation for why the task is complete or cannot proceed.","properties":{"reason":{"description":"Reason for finishing.","title":"Reason","type":"string"},"paths":{"description":"List of file paths created or modified. Do not include directories, only files.","items":{"type":"string"},"title":"Paths","type":"array"}},"required":["reason","paths"],"title":"FinishParams","type":"object"})J";

// calc_schema
constexpr std::string_view k_calc_schema =
    R"J({"properties":{"expression":{"description":"Math expression","title":"Expression","type":"string"},"precision":{"default":0.5,"maximum":1e+20,"minimum":0.0001,"title":"Precision","type":"number"}},"required":["expression"],"title":"CalcParams","type":"object"})J";

// tools
constexpr std::string_view k_tools =
    R"J({"model":"override","messages":[{"role":"user","content":[{"type":"text","text":"go"}]}],"max_completion_tokens":1000,"temperature":0.7,"top_p":1.0,"tools":[{"type":"function","function":{"name":"finish","description":"Finish the task","parameters":{"description":"Explanation for why the task is complete or cannot proceed.","properties":{"reason":{"description":"Reason for finishing.","title":"Reason","type":"string"},"paths":{"description":"List of file paths created or modified. Do not include directories, only files.","items":{"type":"string"},"title":"Paths","type":"array"}},"required":["reason","paths"],"title":"FinishParams","type":"object"}}},{"type":"function","function":{"name":"calc","description":"Calculate","parameters":{"properties":{"expression":{"description":"Math expression","title":"Expression","type":"string"},"precision":{"default":0.5,"maximum":1e+20,"minimum":0.0001,"title":"Precision","type":"number"}},"required":["expression"],"title":"CalcParams","type":"object"}}},{"type":"function","function":{"name":"ping","description":"No args"}}],"seed":12345678901234,"big":1e+100,"small":1e-05,"tool_choice":"auto","reasoning_effort":"high"})J";

// conversation
constexpr std::string_view k_conversation =
    R"J({"model":"m","messages":[{"role":"system","content":""},{"role":"user","content":[{"type":"text","text":"look:"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUv/+"}}]},{"role":"user","content":""},{"role":"assistant","content":[{"type":"text","text":"Hello world"}],"reasoning_content":"think more","tool_calls":[{"id":"call_1","type":"function","function":{"name":"code_exec","arguments":"{\"cmd\": \"ls\"}"}},{"id":"call_2","type":"function","function":{"name":"finish","arguments":"{bad json"}}]},{"role":"tool","content":[{"type":"text","text":"file.txt"}],"tool_call_id":"call_1","name":"code_exec"},{"role":"tool","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}],"tool_call_id":"call_2","name":null},{"role":"assistant","content":"","tool_calls":[{"id":"call_3","type":"function","function":{"name":"finish","arguments":"{}"}}]},{"role":"assistant","content":""},{"role":"assistant","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGODlh"}}],"reasoning_content":"r"}],"max_completion_tokens":5})J";

const std::string kPng("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", 18);

ToolCall call(std::string id, std::string name, std::string args)
{
    return ToolCall::from_provider(std::move(id), std::move(name), std::move(args));
}

AssistantMessage assistant(std::vector<AssistantBlock> blocks)
{
    AssistantMessage m;
    m.blocks = std::move(blocks);
    return m;
}

ToolMessage tool_message(Content content, std::string id, std::optional<std::string> name)
{
    ToolMessage t;
    t.content = std::move(content);
    t.tool_call_id = std::move(id);
    t.name = std::move(name);
    return t;
}

UserMessage user(Content c)
{
    UserMessage u;
    u.content = std::move(c);
    return u;
}

const ResponseContext kContext{"gpt-4o", 1000};

} // namespace

TEST_CASE("request: text messages, no tools")
{
    RequestOptions o;
    o.model = "gpt-4o";
    const std::vector<ChatMessage> messages{SystemMessage{"You are helpful."},
                                            user("Hi \xC3\xA9 \"q\"\n\ttab \x01 \xE2\x80\xA8 / \\")};
    CHECK(build_request_body(o, messages, {}) == k_simple);
}

TEST_CASE("request: tools, schemas, reasoning effort and extra fields merged as kwargs")
{
    RequestOptions o;
    o.model = "m";
    o.max_completion_tokens = 1000;
    o.reasoning_effort = "high";
    o.extra_fields_json =
        R"({"temperature":0.7,"model":"override","top_p":1.0,"tools":"x","seed":12345678901234,"big":1e100,"small":1e-05})";
    const std::vector<ToolDefinition> tools{{"finish", "Finish the task", std::string(k_finish_schema)},
                                            {"calc", "Calculate", std::string(k_calc_schema)},
                                            {"ping", "No args", std::nullopt}};
    const std::vector<ChatMessage> messages{user("go")};
    CHECK(build_request_body(o, messages, tools) == k_tools);
}

TEST_CASE("request: tools written ahead give the same body")
{
    RequestOptions o;
    o.model = "m";
    o.max_completion_tokens = 3;
    o.reasoning_effort = "low";
    o.extra_fields_json = R"({"tools":"extra loses","temperature":0.5})";
    const std::vector<ChatMessage> messages{user("hi")};
    const std::vector<ToolDefinition> tools{{"ping", "No args", std::nullopt}};
    const std::string body = build_request_body(o, messages, tools);
    CHECK(build_request_body_with_tools_json(o, messages, tools_to_json(tools)) == body);
    CHECK(
        body ==
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_completion_tokens":3,"tools":[{"type":"function","function":{"name":"ping","description":"No args"}}],"temperature":0.5,"tool_choice":"auto","reasoning_effort":"low"})");
    // No tools: no tools key and no tool_choice.
    CHECK(build_request_body_with_tools_json(o, messages, "") == build_request_body(o, messages, {}));
}

TEST_CASE("request: a conversation with images, reasoning, tool calls and tool results")
{
    RequestOptions o;
    o.model = "m";
    o.max_completion_tokens = 5;
    std::vector<ChatMessage> messages;
    messages.push_back(SystemMessage{""});
    messages.push_back(user(std::vector<ContentPart>{"", "look:", ImageBlock{kPng, "image/png"}, ""}));
    messages.push_back(user(std::vector<ContentPart>{"", ""}));
    messages.push_back(
        assistant({ReasoningBlock{"think "}, TextBlock{"Hello", {}}, ReasoningBlock{"more"}, TextBlock{" world", {}},
                   call("call_1", "code_exec", R"({"cmd": "ls"})"), call("call_2", "finish", "{bad json")}));
    messages.push_back(tool_message("file.txt", "call_1", "code_exec"));
    messages.push_back(
        tool_message(std::vector<ContentPart>{"", ImageBlock{"\xff\xd8\xff", "image/jpeg"}}, "call_2", std::nullopt));
    messages.push_back(assistant({call("call_3", "finish", "{}")}));
    messages.push_back(assistant({TextBlock{"", {}}}));
    messages.push_back(assistant({TextBlock{"see", {}}, ImageBlock{"GIF89a", "image/gif"}, ReasoningBlock{"r"}}));
    CHECK(build_request_body(o, messages, {}) == k_conversation);
}

TEST_CASE("request: streaming fields come last, and merge into a given stream_options")
{
    RequestOptions o;
    o.model = "m";
    o.max_completion_tokens = 7;
    o.stream = true;
    const std::vector<ChatMessage> messages{user("hi")};
    CHECK(
        build_request_body(o, messages, {}) ==
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_completion_tokens":7,"stream":true,"stream_options":{"include_usage":true}})");
    o.extra_fields_json = R"({"stream_options":{"x":1}})";
    CHECK(
        build_request_body(o, messages, {}) ==
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_completion_tokens":7,"stream_options":{"x":1,"include_usage":true},"stream":true})");
}

TEST_CASE("request: empty reasoning effort is not sent; invalid UTF-8 is replaced")
{
    RequestOptions o;
    o.model = "m";
    o.max_completion_tokens = 1;
    o.reasoning_effort = "";
    const std::vector<ChatMessage> messages{user("a\xff"
                                                 "b")};
    CHECK(build_request_body(o, messages, {}) ==
          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\xEF\xBF\xBD"
          "b\"}]}],\"max_completion_tokens\":1}");
}

TEST_CASE("request: passback errors with Stirrup's messages")
{
    auto fails = [](AssistantBlock block) {
        const std::vector<ChatMessage> messages{assistant({TextBlock{"ok", {}}, std::move(block)})};
        std::string what;
        try {
            (void)messages_to_json(messages);
        } catch (const PassbackError& e) {
            what = e.what();
        }
        return what;
    };
    CHECK(fails(ToolCall::from_provider(std::nullopt, "t", "{}")) ==
          "OpenAI-compatible chat cannot pass back a tool call without a provider-issued ID");
    CHECK(fails(TextBlock{"x", std::string("sig")}) == "OpenAI-compatible chat cannot pass back signed text blocks");
    ToolCall signed_call = call("id", "t", "{}");
    signed_call.signature = "sig";
    CHECK(fails(signed_call) == "Direct OpenAI-compatible chat cannot pass back signed tool calls");
    ToolCall both = ToolCall::from_provider(std::nullopt, "t", "{}");
    both.signature = "sig";
    CHECK(fails(both) == "OpenAI-compatible chat cannot pass back a tool call without a provider-issued ID");
}

TEST_CASE("request: invalid schema or extra fields are configuration errors")
{
    const std::vector<ToolDefinition> bad{{"t", "d", std::string("{not json")}};
    CHECK_THROWS_AS(tools_to_json(bad), ConfigError);
    const std::vector<ToolDefinition> array{{"t", "d", std::string("[]")}};
    CHECK_THROWS_WITH_AS(tools_to_json(array), "tool 't': parameters schema is not a JSON object", ConfigError);
    CHECK_THROWS_AS(validate_extra_fields("[1]"), ConfigError);
    CHECK_THROWS_AS(validate_extra_fields("{"), ConfigError);
    CHECK_NOTHROW(validate_extra_fields(""));
    CHECK_NOTHROW(validate_extra_fields(" {} "));
    CHECK(tools_to_json({}) == "[]");
}

TEST_CASE("response: text only, no usage")
{
    const auto m = parse_response(
        R"({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]})",
        kContext);
    REQUIRE(m.blocks.size() == 1);
    CHECK(std::get<TextBlock>(m.blocks[0]).text == "Hello");
    CHECK(m.token_usage == TokenUsage{});
    CHECK(m.provider_response_id == "chatcmpl-1");
}

TEST_CASE("response: reasoning, text and tool calls in channel order, usage split")
{
    const auto m = parse_response(R"({"id":"x","choices":[{"index":0,"finish_reason":"tool_calls","message":{
        "role":"assistant","content":"Let me look.","reasoning_content":"I should list files.",
        "tool_calls":[{"id":"call_a","type":"function","function":{"name":"code_exec","arguments":"{\"cmd\":\"ls\"}"}},
                      {"id":null,"type":"function","function":{"name":"finish","arguments":null}},
                      {"id":"","type":"function","function":{"name":"calc","arguments":{"expression":"1+1"}}}]}}],
        "usage":{"prompt_tokens":120,"completion_tokens":50,"total_tokens":170,"completion_tokens_details":{"reasoning_tokens":30}}})",
                                  kContext);
    REQUIRE(m.blocks.size() == 5);
    CHECK(std::get<ReasoningBlock>(m.blocks[0]).content == "I should list files.");
    CHECK(std::get<TextBlock>(m.blocks[1]).text == "Let me look.");
    const auto& a = std::get<ToolCall>(m.blocks[2]);
    CHECK(a.tool_call_id == "call_a");
    CHECK(a.has_provider_tool_call_id);
    CHECK(a.name == "code_exec");
    CHECK(a.arguments == R"({"cmd":"ls"})");
    const auto& b = std::get<ToolCall>(m.blocks[3]);
    CHECK_FALSE(b.has_provider_tool_call_id);
    CHECK(b.tool_call_id.size() == 32);
    CHECK(b.arguments == "");
    const auto& c = std::get<ToolCall>(m.blocks[4]);
    CHECK_FALSE(c.has_provider_tool_call_id);
    CHECK(c.arguments == R"({"expression":"1+1"})");
    CHECK(m.token_usage == TokenUsage{120, 20, 30});
}

TEST_CASE("response: empty content and reasoning give no blocks; null details count zero")
{
    const auto m = parse_response(
        R"({"choices":[{"message":{"content":"","reasoning_content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":null}}})",
        kContext);
    CHECK(m.blocks.empty());
    CHECK(m.token_usage == TokenUsage{3, 4, 0});
    CHECK_FALSE(m.provider_response_id.has_value());
}

TEST_CASE("response: content as a list of parts is joined")
{
    const auto m = parse_response(
        R"({"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]})", kContext);
    CHECK(std::get<TextBlock>(m.blocks.at(0)).text == "ab");
}

TEST_CASE("response: finish_reason length or max_tokens is an output-limit error")
{
    for (const char* reason : {"length", "max_tokens"}) {
        const std::string body =
            std::string(R"({"choices":[{"message":{"content":"partial"},"finish_reason":")") + reason + "\"}]}";
        try {
            (void)parse_response(body, kContext);
            FAIL("no throw");
        } catch (const OutputTokenLimitError& e) {
            CHECK(e.model_slug() == "gpt-4o");
            CHECK(e.max_tokens() == 1000);
            CHECK(e.provider_reason() == reason);
            if (std::string_view(reason) == "length")
                CHECK(std::string(e.what()) ==
                      "Model 'gpt-4o' exhausted its configured output budget (max_tokens=1000; provider reason: "
                      "length). Increase max_tokens or ask the model for a shorter response.");
        }
    }
}

TEST_CASE("response: a content_filter finish is returned as is (Stirrup does not handle it)")
{
    const auto m =
        parse_response(R"({"choices":[{"message":{"content":null},"finish_reason":"content_filter"}]})", kContext);
    CHECK(m.blocks.empty());
}

TEST_CASE("response: malformed bodies are LlmApiError invalid_response, never a crash")
{
    const std::vector<std::string> bodies{
        "",
        "not json",
        "[]",
        "{\"choices\":[]}",
        "{}",
        "{\"choices\":{}}",
        "{\"choices\":[1]}",
        "{\"choices\":[{}]}",
        "{\"choices\":[{\"message\":5}]}",
        "{\"choices\":[{\"message\":{\"content\":5}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":{}}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\"}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":5,\"function\":{\"name\":\"x\"}}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}}]}",
        "{\"choices\":[{\"message\":{\"content\":\"x\"}}]",
        std::string(100, '[') + std::string(100, ']')};
    for (const auto& body : bodies) {
        try {
            (void)parse_response(body, kContext);
            FAIL_CHECK("accepted: " << body);
        } catch (const LlmApiError& e) {
            CHECK_MESSAGE(e.code() == std::optional<std::string>("invalid_response"), body);
            CHECK(e.http_status() == 200);
            CHECK(e.raw_body() == body);
        }
    }
    CHECK_THROWS_WITH_AS(parse_response("{\"choices\":[]}", kContext),
                         "Error code: 200 - invalid chat completion response: no choices (code: invalid_response)",
                         LlmApiError);
}

TEST_CASE("response: an error object in a 200 body is mapped like an HTTP error")
{
    CHECK_THROWS_AS(parse_response(R"({"error":{"message":"boom","code":"server_error"}})", kContext), LlmApiError);
    CHECK_THROWS_AS(
        parse_response(R"({"error":{"message":"This model's maximum context length is 8192 tokens.","code":null}})",
                       kContext),
        ContextOverflowError);
}

TEST_CASE("errors: OpenAI context_length_exceeded is a context overflow")
{
    const std::string body =
        R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})";
    CHECK_THROWS_WITH_AS(throw_http_error(400, body), ("Error code: 400 - " + body).c_str(), ContextOverflowError);
    CHECK_THROWS_AS(throw_http_error(400, R"({"error":{"message":"x","code":"context_length_exceeded"}})"),
                    ContextOverflowError);
}

TEST_CASE("errors: other providers' overflow wordings are context overflows")
{
    const std::vector<std::pair<int, std::string>> overflows{
        // vLLM
        {400,
         R"({"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400})"},
        // OpenRouter, with the provider's own error in metadata.raw
        {400,
         R"({"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"error\":{\"message\":\"This endpoint's maximum context length is 200000 tokens.\"}}","provider_name":"X"}}})"},
        // llama.cpp server
        {400,
         R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}})"},
        // Anthropic's OpenAI-compatible endpoint
        {400,
         R"({"error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})"},
        // SGLang
        {400,
         R"({"object":"error","message":"The input (9000 tokens) is longer than the model's context length (8192 tokens).","code":400})"},
        // Gemini
        {400,
         R"([{"error":{"code":400,"message":"The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}])"},
        // TGI / Together
        {422,
         R"({"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4097. Given: 4000 `inputs` tokens and 500 `max_new_tokens`","error_type":"validation"})"},
        // not JSON at all
        {400, "maximum context length exceeded"},
    };
    for (const auto& [status, body] : overflows)
        CHECK_THROWS_AS_MESSAGE(throw_http_error(status, body), ContextOverflowError, body);
}

TEST_CASE("errors: everything else is an LlmApiError with status, code, message and body")
{
    const std::string body =
        R"({"error":{"message":"Incorrect API key provided: sk-***.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})";
    try {
        throw_http_error(401, body);
        FAIL("no throw");
    } catch (const LlmApiError& e) {
        CHECK(e.http_status() == 401);
        CHECK(e.code() == std::optional<std::string>("invalid_api_key"));
        CHECK(e.provider_message() == "Incorrect API key provided: sk-***.");
        CHECK(e.raw_body() == body);
        CHECK(std::string(e.what()) == "Error code: 401 - Incorrect API key provided: sk-***. (code: invalid_api_key)");
    }
    try {
        throw_http_error(502, "<html>Bad Gateway</html>");
        FAIL("no throw");
    } catch (const LlmApiError& e) {
        CHECK(e.http_status() == 502);
        CHECK_FALSE(e.code().has_value());
        CHECK(e.provider_message() == "<html>Bad Gateway</html>");
    }
    try {
        throw_http_error(400, R"({"object":"error","message":"bad","code":400})");
        FAIL("no throw");
    } catch (const LlmApiError& e) {
        CHECK(e.code() == std::optional<std::string>("400"));
        CHECK(e.provider_message() == "bad");
    }
    CHECK_THROWS_WITH_AS(throw_http_error(500, ""), "Error code: 500 - (empty body)", LlmApiError);
    // A rate limit that talks about tokens is not an overflow.
    CHECK_THROWS_AS(
        throw_http_error(
            429,
            R"({"error":{"message":"Request too large: maximum context length per min exceeded","code":"rate_limit_exceeded"}})"),
        LlmApiError);
}

TEST_CASE("is_context_overflow")
{
    CHECK(is_context_overflow(400, "context_length_exceeded", ""));
    CHECK(is_context_overflow(400, "", "This model's Maximum Context Length is 10"));
    CHECK_FALSE(is_context_overflow(400, "", "The input token count is 5"));
    CHECK_FALSE(is_context_overflow(400, "invalid_value", "bad temperature"));
    CHECK_FALSE(is_context_overflow(429, "context_length_exceeded", ""));
}

TEST_CASE("request: WAV and MP3 audio go as input_audio; other audio as a text note")
{
    RequestOptions o;
    o.model = "m";
    o.max_completion_tokens = 5;
    std::vector<ChatMessage> messages;
    messages.push_back(user(std::vector<ContentPart>{AudioBlock{"RIFF", "audio/wav"}, AudioBlock{"ID3", "audio/mpeg"},
                                                     AudioBlock{"OggS", "audio/ogg"}}));
    CHECK(
        build_request_body(o, messages, {}) ==
        R"({"model":"m","messages":[{"role":"user","content":[)"
        R"({"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},)"
        R"({"type":"input_audio","input_audio":{"data":"SUQz","format":"mp3"}},)"
        R"({"type":"text","text":"[audio/ogg audio of 4 bytes not shown: this model API takes WAV or MP3 audio only]"}]}],)"
        R"("max_completion_tokens":5})");
}
