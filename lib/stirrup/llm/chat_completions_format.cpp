#include "stirrup/llm/chat_completions_format.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/base64.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/core/json_text.hpp"
#include "stirrup/core/text.hpp"
#include "stirrup/llm/errors.hpp"

namespace json = boost::json;

namespace stirrup::chat {

namespace {


// Strings reach the wire as valid UTF-8 whatever the caller put in them: a
// server rejects the whole request otherwise.
json::string wire(std::string_view s) {
    const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) return json::string(s);
    return json::string(text::sanitize_utf8(s));
}

// ---- messages ----------------------------------------------------------------

json::value text_part(std::string_view text) {
    json::object o;
    o["type"] = "text";
    o["text"] = wire(text);
    return o;
}

json::value image_part(const ImageBlock& image) {
    json::object url;
    url["url"] = wire("data:" + image.mime_type + ";base64," + base64::encode(image.data));
    json::object o;
    o["type"] = "image_url";
    o["image_url"] = std::move(url);
    return o;
}

// content_to_openai: "" stays "", a non-empty string becomes one text part,
// a list drops its empty strings and becomes "" when nothing is left.
json::value content_to_openai(const Content& content) {
    if (const auto* s = std::get_if<std::string>(&content)) {
        if (s->empty()) return json::string();
        json::array a;
        a.push_back(text_part(*s));
        return a;
    }
    json::array a;
    for (const auto& part : std::get<std::vector<ContentPart>>(content)) {
        if (const auto* s = std::get_if<std::string>(&part)) {
            if (!s->empty()) a.push_back(text_part(*s));
        } else {
            a.push_back(image_part(std::get<ImageBlock>(part)));
        }
    }
    if (a.empty()) return json::string();
    return a;
}

void validate_passback(const std::vector<AssistantBlock>& blocks) {
    for (const auto& block : blocks) {
        if (const auto* t = std::get_if<TextBlock>(&block)) {
            if (t->signature) throw PassbackError("OpenAI-compatible chat cannot pass back signed text blocks");
        } else if (const auto* c = std::get_if<ToolCall>(&block)) {
            if (!c->has_provider_tool_call_id)
                throw PassbackError("OpenAI-compatible chat cannot pass back a tool call without a provider-issued ID");
            if (c->signature)
                throw PassbackError("Direct OpenAI-compatible chat cannot pass back signed tool calls");
        }
    }
}

// Stirrup's _assistant_content: with media blocks, the text and media blocks
// in order; otherwise the joined text.
Content assistant_content(const std::vector<AssistantBlock>& blocks) {
    const bool has_media = std::any_of(blocks.begin(), blocks.end(),
                                       [](const AssistantBlock& b) { return std::holds_alternative<ImageBlock>(b); });
    if (!has_media) return joined_text(blocks).value_or("");
    std::vector<ContentPart> parts;
    for (const auto& block : blocks) {
        if (const auto* t = std::get_if<TextBlock>(&block))
            parts.emplace_back(t->text);
        else if (const auto* i = std::get_if<ImageBlock>(&block))
            parts.emplace_back(*i);
    }
    return parts;
}

json::value assistant_to_openai(const AssistantMessage& m) {
    validate_passback(m.blocks);
    json::object o;
    o["role"] = "assistant";
    o["content"] = content_to_openai(assistant_content(m.blocks));
    std::string reasoning;
    for (const auto& block : m.blocks)
        if (const auto* r = std::get_if<ReasoningBlock>(&block)) reasoning += r->content;
    if (!reasoning.empty()) o["reasoning_content"] = wire(reasoning);
    json::array calls;
    for (const auto& block : m.blocks) {
        const auto* c = std::get_if<ToolCall>(&block);
        if (!c) continue;
        json::object function;
        function["name"] = wire(c->name);
        function["arguments"] = wire(c->arguments);
        json::object call;
        call["id"] = wire(c->tool_call_id);
        call["type"] = "function";
        call["function"] = std::move(function);
        calls.push_back(std::move(call));
    }
    if (!calls.empty()) o["tool_calls"] = std::move(calls);
    return o;
}

json::value message_to_openai(const ChatMessage& message) {
    if (const auto* s = std::get_if<SystemMessage>(&message)) {
        json::object o;
        o["role"] = "system";
        o["content"] = content_to_openai(s->content);
        return o;
    }
    if (const auto* u = std::get_if<UserMessage>(&message)) {
        json::object o;
        o["role"] = "user";
        o["content"] = content_to_openai(u->content);
        return o;
    }
    if (const auto* a = std::get_if<AssistantMessage>(&message)) return assistant_to_openai(*a);
    const auto& t = std::get<ToolMessage>(message);
    json::object o;
    o["role"] = "tool";
    o["content"] = content_to_openai(t.content);
    o["tool_call_id"] = wire(t.tool_call_id);
    if (t.name)
        o["name"] = wire(*t.name);
    else
        o["name"] = nullptr;
    return o;
}

json::array messages_array(const std::vector<ChatMessage>& messages) {
    json::array a;
    a.reserve(messages.size());
    for (const auto& m : messages) a.push_back(message_to_openai(m));
    return a;
}

json::array tools_array(const std::vector<ToolDefinition>& tools) {
    json::array a;
    a.reserve(tools.size());
    for (const auto& t : tools) {
        json::object function;
        function["name"] = wire(t.name);
        function["description"] = wire(t.description);
        if (t.parameters_schema) {
            std::error_code ec;
            json::value schema = json::parse(*t.parameters_schema, ec);
            if (ec || !schema.is_object())
                throw ConfigError("tool '" + t.name + "': parameters schema is not a JSON object" +
                                  (ec ? " (" + ec.message() + ")" : std::string()));
            function["parameters"] = std::move(schema);
        }
        json::object tool;
        tool["type"] = "function";
        tool["function"] = std::move(function);
        a.push_back(std::move(tool));
    }
    return a;
}

json::object parse_extra_fields(std::string_view text) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
    std::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) throw ConfigError("extra request fields are not valid JSON: " + ec.message());
    if (!v.is_object()) throw ConfigError("extra request fields must be a JSON object");
    return std::move(v.get_object());
}

// ---- responses -----------------------------------------------------------------

constexpr std::size_t kMaxQuotedBody = 2000;

std::string quoted_body(std::string_view body) {
    std::string s = text::sanitize_utf8(body.substr(0, std::min(body.size(), kMaxQuotedBody)));
    if (body.size() > kMaxQuotedBody) s += "...";
    return s;
}

[[noreturn]] void invalid_response(const std::string& why, std::string_view body) {
    throw LlmApiError(200, std::string("invalid_response"), "invalid chat completion response: " + why,
                      std::string(body));
}

std::int64_t count_of(const json::value* v) {
    if (!v) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    if (v->is_double()) {
        const double d = v->get_double();
        if (d >= 0 && d < 9.2e18) return static_cast<std::int64_t>(d);
    }
    return 0;
}

const json::value* member(const json::value& v, std::string_view key) {
    if (!v.is_object()) return nullptr;
    const auto* p = v.get_object().if_contains(key);
    return p && !p->is_null() ? p : nullptr;
}

// Some servers send content as a list of parts; the text parts are the answer.
std::optional<std::string> content_string(const json::value* v) {
    if (!v) return std::string();
    if (v->is_string()) return std::string(v->get_string());
    if (!v->is_array()) return std::nullopt;
    std::string out;
    for (const auto& part : v->get_array()) {
        const auto* t = member(part, "text");
        if (t && t->is_string()) out += t->get_string();
    }
    return out;
}

[[noreturn]] void throw_error_value(int status, const json::value& body_value, std::string_view body);

} // namespace

void validate_extra_fields(std::string_view text) { (void)parse_extra_fields(text); }

std::string messages_to_json(const std::vector<ChatMessage>& messages) {
    return to_json_text(messages_array(messages));
}

std::string tools_to_json(const std::vector<ToolDefinition>& tools) { return to_json_text(tools_array(tools)); }

std::string build_request_body(const RequestOptions& options, const std::vector<ChatMessage>& messages,
                               const std::vector<ToolDefinition>& tools) {
    json::object body;
    body["model"] = wire(options.model);
    body["messages"] = messages_array(messages);
    body["max_completion_tokens"] = options.max_completion_tokens;
    // Python's {**base, **kwargs}: a known key keeps its place and takes the new value.
    for (auto& kv : parse_extra_fields(options.extra_fields_json)) body[kv.key()] = std::move(kv.value());
    if (!tools.empty()) {
        body["tools"] = tools_array(tools);
        body["tool_choice"] = "auto";
    }
    if (options.reasoning_effort && !options.reasoning_effort->empty())
        body["reasoning_effort"] = wire(*options.reasoning_effort);
    if (options.stream) {
        body["stream"] = true;
        json::value& so = body["stream_options"];
        if (!so.is_object()) so = json::object();
        so.get_object()["include_usage"] = true;
    }
    return to_json_text(body);
}

AssistantMessage to_assistant_message(RawCompletion raw, const ResponseContext& context) {
    if (raw.finish_reason && (*raw.finish_reason == "max_tokens" || *raw.finish_reason == "length"))
        throw OutputTokenLimitError(context.model_slug, context.max_tokens, *raw.finish_reason);
    AssistantMessage m;
    m.provider_response_id = std::move(raw.response_id);
    if (!raw.reasoning_content.empty()) m.blocks.emplace_back(ReasoningBlock{std::move(raw.reasoning_content)});
    if (!raw.content.empty()) m.blocks.emplace_back(TextBlock{std::move(raw.content), std::nullopt});
    for (auto& call : raw.tool_calls) {
        if (!call.name)
            throw LlmApiError(200, std::string("invalid_response"),
                              "invalid chat completion response: a tool call has no function name", "");
        m.blocks.emplace_back(ToolCall::from_provider(std::move(call.id), std::move(*call.name),
                                                      std::move(call.arguments)));
    }
    m.token_usage.input = raw.prompt_tokens;
    m.token_usage.reasoning = raw.reasoning_tokens;
    m.token_usage.answer = raw.completion_tokens - raw.reasoning_tokens;
    return m;
}

AssistantMessage parse_response(std::string_view body, const ResponseContext& context) {
    std::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec) invalid_response("body is not JSON (" + ec.message() + ")", body);
    if (!v.is_object()) invalid_response("body is not a JSON object", body);
    if (member(v, "error")) throw_error_value(200, v, body);

    const auto* choices = member(v, "choices");
    if (!choices || !choices->is_array() || choices->get_array().empty())
        invalid_response("no choices", body);
    const auto& choice = choices->get_array()[0];
    if (!choice.is_object()) invalid_response("choice is not an object", body);

    RawCompletion raw;
    if (const auto* id = member(v, "id"); id && id->is_string()) raw.response_id = std::string(id->get_string());
    if (const auto* fr = member(choice, "finish_reason"); fr && fr->is_string())
        raw.finish_reason = std::string(fr->get_string());
    // The output limit is reported before anything else, as Stirrup does.
    if (raw.finish_reason && (*raw.finish_reason == "max_tokens" || *raw.finish_reason == "length"))
        throw OutputTokenLimitError(context.model_slug, context.max_tokens, *raw.finish_reason);

    const auto* message = member(choice, "message");
    if (!message || !message->is_object()) invalid_response("choice has no message object", body);

    auto content = content_string(member(*message, "content"));
    if (!content) invalid_response("message content is neither a string nor a list", body);
    raw.content = std::move(*content);
    if (const auto* r = member(*message, "reasoning_content"); r && r->is_string())
        raw.reasoning_content = std::string(r->get_string());

    if (const auto* calls = member(*message, "tool_calls")) {
        if (!calls->is_array()) invalid_response("tool_calls is not a list", body);
        for (const auto& call : calls->get_array()) {
            const auto* function = member(call, "function");
            if (!function || !function->is_object()) invalid_response("a tool call has no function object", body);
            RawToolCall rc;
            if (const auto* id = member(call, "id")) {
                if (!id->is_string()) invalid_response("a tool call id is not a string", body);
                rc.id = std::string(id->get_string());
            }
            const auto* name = member(*function, "name");
            if (!name || !name->is_string()) invalid_response("a tool call has no function name", body);
            rc.name = std::string(name->get_string());
            if (const auto* args = member(*function, "arguments")) {
                // Some servers send the arguments as a JSON object instead of its text.
                rc.arguments = args->is_string() ? std::string(args->get_string()) : to_json_text(*args);
            }
            raw.tool_calls.push_back(std::move(rc));
        }
    }

    if (const auto* usage = member(v, "usage"); usage && usage->is_object()) {
        raw.prompt_tokens = count_of(member(*usage, "prompt_tokens"));
        raw.completion_tokens = count_of(member(*usage, "completion_tokens"));
        if (const auto* details = member(*usage, "completion_tokens_details"))
            raw.reasoning_tokens = count_of(member(*details, "reasoning_tokens"));
    }
    return to_assistant_message(std::move(raw), context);
}

bool is_context_overflow(int http_status, std::string_view code, std::string_view text) {
    // Rate limits speak of tokens too ("tokens per min"), and are retried elsewhere.
    if (http_status == 429 || http_status == 401 || http_status == 403 || http_status == 404) return false;
    if (code == "context_length_exceeded" || code == "exceed_context_size_error") return true;
    std::string lower(text.substr(0, std::min<std::size_t>(text.size(), 64 * 1024)));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    static constexpr std::string_view patterns[] = {
        "context_length_exceeded",          // OpenAI, Azure, Groq (as code or in the body)
        "maximum context length",           // OpenAI, vLLM, DeepSeek, OpenRouter, Mistral
        "exceeds the available context size", // llama.cpp server
        "exceed_context_size_error",        // llama.cpp server
        "prompt is too long",               // Anthropic
        "exceeds the context window",       // OpenAI Responses wording, several proxies
        "model's context length",           // SGLang
        "maximum prompt length",            // xAI
        "max_new_tokens` must be <=",       // TGI / Together
        "input token count",                // Gemini ("The input token count (n) exceeds the maximum...")
    };
    for (const auto p : patterns)
        if (lower.find(p) != std::string::npos) {
            if (p == "input token count" && lower.find("exceeds the maximum") == std::string::npos) continue;
            return true;
        }
    return false;
}

namespace {

[[noreturn]] void throw_error_value(int status, const json::value& v, std::string_view body) {
    const json::value* data = &v;
    if (const auto* e = member(v, "error")) data = e;
    std::optional<std::string> code;
    std::string message;
    if (data->is_string()) {
        message = std::string(data->get_string());
    } else {
        if (const auto* c = member(*data, "code")) {
            if (c->is_string())
                code = std::string(c->get_string());
            else if (c->is_int64() || c->is_uint64())
                code = to_json_text(*c);
        }
        if (const auto* m = member(*data, "message"); m && m->is_string()) message = std::string(m->get_string());
    }
    if (message.empty()) message = quoted_body(body);
    if (is_context_overflow(status, code.value_or(""), body) ||
        is_context_overflow(status, code.value_or(""), message))
        throw ContextOverflowError("Error code: " + std::to_string(status) + " - " + quoted_body(body));
    throw LlmApiError(status, std::move(code), text::sanitize_utf8(message), std::string(body));
}

} // namespace

void throw_http_error(int http_status, std::string_view body) {
    std::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec) {
        if (is_context_overflow(http_status, "", body))
            throw ContextOverflowError("Error code: " + std::to_string(http_status) + " - " + quoted_body(body));
        const std::string quoted = quoted_body(body);
        throw LlmApiError(http_status, std::nullopt, quoted.empty() ? "(empty body)" : quoted, std::string(body));
    }
    throw_error_value(http_status, v, body);
}

} // namespace stirrup::chat
