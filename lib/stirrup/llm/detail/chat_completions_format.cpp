#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/llm/detail/json_fields.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <system_error>
#include <variant>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/detail/base64.hpp"
#include "stirrup/core/detail/text.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/pycompat/detail/json_dumps.hpp"

namespace json = boost::json;

namespace stirrup::detail::chat {

namespace {

// The request is written straight into its text, without a JSON DOM: it is
// rebuilt from the whole history on every turn, and the DOM's allocations
// were most of a turn's CPU. The text is what json.dumps(ensure_ascii=False,
// separators=(",", ":")) makes of Stirrup's dicts, key order included.

// Strings reach the wire as valid UTF-8 whatever the caller put in them: a
// server rejects the whole request otherwise.
void put_wire(std::string& out, std::string_view s)
{
    const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii)
        detail::append_json_string(out, s);
    else
        detail::append_json_string(out, detail::text::sanitize_utf8(s));
}

// ---- messages ----------------------------------------------------------------

void put_text_part(std::string& out, std::string_view text)
{
    out += R"({"type":"text","text":)";
    put_wire(out, text);
    out += '}';
}

void put_image_part(std::string& out, const ImageBlock& image)
{
    out += R"({"type":"image_url","image_url":{"url":)";
    put_wire(out, "data:" + image.mime_type + ";base64," + detail::base64::encode(image.data));
    out += "}}";
}

// Chat Completions takes WAV and MP3 audio ("input_audio"); other audio is
// described in a text part instead (Stirrup transcodes to MP3 with ffmpeg,
// which this library does not carry).
std::optional<std::string_view> audio_format(std::string_view mime)
{
    if (mime == "audio/wav" || mime == "audio/x-wav" || mime == "audio/wave" || mime == "audio/vnd.wave")
        return "wav";
    if (mime == "audio/mpeg" || mime == "audio/mp3" || mime == "audio/mpga")
        return "mp3";
    return std::nullopt;
}

void put_audio_part(std::string& out, const AudioBlock& audio)
{
    const auto format = audio_format(audio.mime_type);
    if (!format) {
        put_text_part(out, "[" + audio.mime_type + " audio of " + std::to_string(audio.data.size()) +
                               " bytes not shown: this model API takes WAV or MP3 audio only]");
        return;
    }
    out += R"({"type":"input_audio","input_audio":{"data":)";
    put_wire(out, detail::base64::encode(audio.data));
    out += R"(,"format":)";
    put_wire(out, *format);
    out += "}}";
}

// content_to_openai: "" stays "", a non-empty string becomes one text part,
// a list drops its empty strings and becomes "" when nothing is left.
void put_content(std::string& out, const Content& content)
{
    if (const auto* s = std::get_if<std::string>(&content)) {
        if (s->empty()) {
            out += R"("")";
            return;
        }
        out += '[';
        put_text_part(out, *s);
        out += ']';
        return;
    }
    const auto& parts = std::get<std::vector<ContentPart>>(content);
    const auto kept = [](const ContentPart& part) {
        const auto* s = std::get_if<std::string>(&part);
        return !s || !s->empty();
    };
    if (std::none_of(parts.begin(), parts.end(), kept)) {
        out += R"("")";
        return;
    }
    out += '[';
    bool first = true;
    for (const auto& part : parts) {
        if (!kept(part))
            continue;
        if (!first)
            out += ',';
        first = false;
        if (const auto* s = std::get_if<std::string>(&part))
            put_text_part(out, *s);
        else if (const auto* i = std::get_if<ImageBlock>(&part))
            put_image_part(out, *i);
        else
            put_audio_part(out, std::get<AudioBlock>(part));
    }
    out += ']';
}

void validate_passback(const std::vector<AssistantBlock>& blocks)
{
    for (const auto& block : blocks) {
        if (const auto* t = std::get_if<TextBlock>(&block)) {
            if (t->signature)
                throw PassbackError("OpenAI-compatible chat cannot pass back signed text blocks");
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
Content assistant_content(const std::vector<AssistantBlock>& blocks)
{
    const bool has_media = std::any_of(blocks.begin(), blocks.end(),
                                       [](const AssistantBlock& b) { return std::holds_alternative<ImageBlock>(b); });
    if (!has_media)
        return joined_text(blocks).value_or("");
    std::vector<ContentPart> parts;
    for (const auto& block : blocks) {
        if (const auto* t = std::get_if<TextBlock>(&block))
            parts.emplace_back(t->text);
        else if (const auto* i = std::get_if<ImageBlock>(&block))
            parts.emplace_back(*i);
    }
    return parts;
}

void put_assistant(std::string& out, const AssistantMessage& m)
{
    validate_passback(m.blocks);
    out += R"({"role":"assistant","content":)";
    put_content(out, assistant_content(m.blocks));
    std::string reasoning;
    for (const auto& block : m.blocks)
        if (const auto* r = std::get_if<ReasoningBlock>(&block))
            reasoning += r->content;
    if (!reasoning.empty()) {
        out += R"(,"reasoning_content":)";
        put_wire(out, reasoning);
    }
    bool first = true;
    for (const auto& block : m.blocks) {
        const auto* c = std::get_if<ToolCall>(&block);
        if (!c)
            continue;
        out += first ? R"(,"tool_calls":[{"id":)" : R"(,{"id":)";
        first = false;
        put_wire(out, c->tool_call_id);
        out += R"(,"type":"function","function":{"name":)";
        put_wire(out, c->name);
        out += R"(,"arguments":)";
        put_wire(out, c->arguments);
        out += "}}";
    }
    if (!first)
        out += ']';
    out += '}';
}

void put_message(std::string& out, const ChatMessage& message)
{
    if (const auto* s = std::get_if<SystemMessage>(&message)) {
        out += R"({"role":"system","content":)";
        put_content(out, s->content);
        out += '}';
    } else if (const auto* u = std::get_if<UserMessage>(&message)) {
        out += R"({"role":"user","content":)";
        put_content(out, u->content);
        out += '}';
    } else if (const auto* a = std::get_if<AssistantMessage>(&message)) {
        put_assistant(out, *a);
    } else {
        const auto& t = std::get<ToolMessage>(message);
        out += R"({"role":"tool","content":)";
        put_content(out, t.content);
        out += R"(,"tool_call_id":)";
        put_wire(out, t.tool_call_id);
        out += R"(,"name":)";
        if (t.name)
            put_wire(out, *t.name);
        else
            out += "null";
        out += '}';
    }
}

void put_messages(std::string& out, const std::vector<ChatMessage>& messages)
{
    out += '[';
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i)
            out += ',';
        put_message(out, messages[i]);
    }
    out += ']';
}

void put_tools(std::string& out, const std::vector<ToolDefinition>& tools)
{
    out += '[';
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const auto& t = tools[i];
        if (i)
            out += ',';
        out += R"({"type":"function","function":{"name":)";
        put_wire(out, t.name);
        out += R"(,"description":)";
        put_wire(out, t.description);
        if (t.parameters_schema) {
            // Parsed and written again: the schema is the caller's text, and
            // the body must be Python's compact form of it.
            std::error_code ec;
            json::value schema = json::parse(*t.parameters_schema, ec);
            if (ec || !schema.is_object())
                throw ConfigError("tool '" + t.name + "': parameters schema is not a JSON object" +
                                  (ec ? " (" + ec.message() + ")" : std::string()));
            out += R"(,"parameters":)";
            detail::append_json_text(out, schema);
        }
        out += "}}";
    }
    out += ']';
}

json::object parse_extra_fields(std::string_view text)
{
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return {};
    std::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec)
        throw ConfigError("extra request fields are not valid JSON: " + ec.message());
    if (!v.is_object())
        throw ConfigError("extra request fields must be a JSON object");
    return std::move(v.get_object());
}

// ---- responses -----------------------------------------------------------------

constexpr std::size_t kMaxQuotedBody = 2000;

std::string quoted_body(std::string_view body)
{
    std::string s = detail::text::sanitize_utf8(body.substr(0, std::min(body.size(), kMaxQuotedBody)));
    if (body.size() > kMaxQuotedBody)
        s += "...";
    return s;
}

[[noreturn]] void invalid_response(const std::string& why, std::string_view body)
{
    throw LlmApiError(200, std::string("invalid_response"), "invalid chat completion response: " + why,
                      std::string(body));
}

// Some servers send content as a list of parts; the text parts are the answer.
std::optional<std::string> content_string(const json::value* v)
{
    if (!v)
        return std::string();
    if (v->is_string())
        return std::string(v->get_string());
    if (!v->is_array())
        return std::nullopt;
    std::string out;
    for (const auto& part : v->get_array()) {
        const auto* t = member(part, "text");
        if (t && t->is_string())
            out += t->get_string();
    }
    return out;
}

[[noreturn]] void throw_error_value(int status, const json::value& body_value, std::string_view body);

} // namespace

void validate_extra_fields(std::string_view text)
{
    (void)parse_extra_fields(text);
}

std::string messages_to_json(const std::vector<ChatMessage>& messages)
{
    std::string out;
    put_messages(out, messages);
    return out;
}

std::string tools_to_json(const std::vector<ToolDefinition>& tools)
{
    std::string out;
    put_tools(out, tools);
    return out;
}

namespace {

// One top-level member of the body: text already written, or a value from
// the extra fields.
struct BodyField {
    std::string_view key;
    std::variant<std::string, json::value> value;
};

// Python's dict assignment: a known key keeps its place and takes the new value.
void assign(std::vector<BodyField>& fields, std::string_view key, std::variant<std::string, json::value> value)
{
    for (auto& f : fields) {
        if (f.key == key) {
            f.value = std::move(value);
            return;
        }
    }
    fields.push_back({key, std::move(value)});
}

std::string wire_text(std::string_view s)
{
    std::string out;
    put_wire(out, s);
    return out;
}

} // namespace

std::string build_request_body(const RequestOptions& options, const std::vector<ChatMessage>& messages,
                               const std::vector<ToolDefinition>& tools)
{
    return build_request_body_with_tools_json(options, messages,
                                              tools.empty() ? std::string_view() : tools_to_json(tools));
}

std::string build_request_body_with_tools_json(const RequestOptions& options, const std::vector<ChatMessage>& messages,
                                               std::string_view tools_json)
{
    std::string messages_json;
    messages_json.reserve(4096);
    put_messages(messages_json, messages);

    // The extra fields' keys point into `extra`, which outlives `fields`.
    json::object extra = parse_extra_fields(options.extra_fields_json);
    std::vector<BodyField> fields;
    fields.reserve(8 + extra.size());
    fields.push_back({"model", wire_text(options.model)});
    fields.push_back({"messages", std::move(messages_json)});
    fields.push_back({"max_completion_tokens", std::to_string(options.max_completion_tokens)});
    for (auto& kv : extra)
        assign(fields, kv.key(), std::move(kv.value()));
    if (!tools_json.empty()) {
        assign(fields, "tools", std::string(tools_json));
        assign(fields, "tool_choice", std::string(R"("auto")"));
    }
    if (options.reasoning_effort && !options.reasoning_effort->empty())
        assign(fields, "reasoning_effort", wire_text(*options.reasoning_effort));
    if (options.stream) {
        assign(fields, "stream", std::string("true"));
        // An object given in the extra fields keeps its members.
        json::object so;
        for (auto& f : fields)
            if (f.key == "stream_options")
                if (auto* v = std::get_if<json::value>(&f.value); v && v->is_object())
                    so = std::move(v->get_object());
        so["include_usage"] = true;
        assign(fields, "stream_options", json::value(std::move(so)));
    }

    std::size_t size = 2;
    for (const auto& f : fields)
        if (const auto* text = std::get_if<std::string>(&f.value))
            size += f.key.size() + text->size() + 4;
    std::string out;
    out.reserve(size + 64);
    out += '{';
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i)
            out += ',';
        detail::append_json_string(out, fields[i].key);
        out += ':';
        if (const auto* text = std::get_if<std::string>(&fields[i].value))
            out += *text;
        else
            detail::append_json_text(out, std::get<json::value>(fields[i].value));
    }
    out += '}';
    return out;
}

AssistantMessage to_assistant_message(RawCompletion raw, const ResponseContext& context)
{
    if (raw.finish_reason && (*raw.finish_reason == "max_tokens" || *raw.finish_reason == "length"))
        throw OutputTokenLimitError(context.model_slug, context.max_tokens, *raw.finish_reason);
    AssistantMessage m;
    m.provider_response_id = std::move(raw.response_id);
    if (!raw.reasoning_content.empty())
        m.blocks.emplace_back(ReasoningBlock{std::move(raw.reasoning_content)});
    if (!raw.content.empty())
        m.blocks.emplace_back(TextBlock{std::move(raw.content), std::nullopt});
    for (auto& call : raw.tool_calls) {
        if (!call.name)
            throw LlmApiError(200, std::string("invalid_response"),
                              "invalid chat completion response: a tool call has no function name", "");
        m.blocks.emplace_back(
            ToolCall::from_provider(std::move(call.id), std::move(*call.name), std::move(call.arguments)));
    }
    m.token_usage.input = raw.prompt_tokens;
    m.token_usage.reasoning = raw.reasoning_tokens;
    m.token_usage.answer = raw.completion_tokens - raw.reasoning_tokens;
    return m;
}

AssistantMessage parse_response(std::string_view body, const ResponseContext& context)
{
    // The DOM lives only while it is copied into the message: one arena,
    // mostly on the stack, instead of an allocation per key and string.
    unsigned char arena[4096];
    json::monotonic_resource resource(arena, sizeof arena);
    std::error_code ec;
    const json::value v = json::parse(body, ec, &resource);
    if (ec)
        invalid_response("body is not JSON (" + ec.message() + ")", body);
    if (!v.is_object())
        invalid_response("body is not a JSON object", body);
    if (member(v, "error"))
        throw_error_value(200, v, body);

    const auto* choices = member(v, "choices");
    if (!choices || !choices->is_array() || choices->get_array().empty())
        invalid_response("no choices", body);
    const auto& choice = choices->get_array()[0];
    if (!choice.is_object())
        invalid_response("choice is not an object", body);

    RawCompletion raw;
    if (const auto* id = member(v, "id"); id && id->is_string())
        raw.response_id = std::string(id->get_string());
    if (const auto* fr = member(choice, "finish_reason"); fr && fr->is_string())
        raw.finish_reason = std::string(fr->get_string());
    // The output limit is reported before anything else, as Stirrup does.
    if (raw.finish_reason && (*raw.finish_reason == "max_tokens" || *raw.finish_reason == "length"))
        throw OutputTokenLimitError(context.model_slug, context.max_tokens, *raw.finish_reason);

    const auto* message = member(choice, "message");
    if (!message || !message->is_object())
        invalid_response("choice has no message object", body);

    auto content = content_string(member(*message, "content"));
    if (!content)
        invalid_response("message content is neither a string nor a list", body);
    raw.content = std::move(*content);
    if (const auto* r = member(*message, "reasoning_content"); r && r->is_string())
        raw.reasoning_content = std::string(r->get_string());

    if (const auto* calls = member(*message, "tool_calls")) {
        if (!calls->is_array())
            invalid_response("tool_calls is not a list", body);
        for (const auto& call : calls->get_array()) {
            const auto* function = member(call, "function");
            if (!function || !function->is_object())
                invalid_response("a tool call has no function object", body);
            RawToolCall rc;
            if (const auto* id = member(call, "id")) {
                if (!id->is_string())
                    invalid_response("a tool call id is not a string", body);
                rc.id = std::string(id->get_string());
            }
            const auto* name = member(*function, "name");
            if (!name || !name->is_string())
                invalid_response("a tool call has no function name", body);
            rc.name = std::string(name->get_string());
            if (const auto* args = member(*function, "arguments")) {
                // Some servers send the arguments as a JSON object instead of its text.
                rc.arguments = args->is_string() ? std::string(args->get_string()) : detail::to_json_text(*args);
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

bool is_context_overflow(int http_status, std::string_view code, std::string_view text)
{
    // Rate limits speak of tokens too ("tokens per min"), and are retried elsewhere.
    if (http_status == 429 || http_status == 401 || http_status == 403 || http_status == 404)
        return false;
    if (code == "context_length_exceeded" || code == "exceed_context_size_error")
        return true;
    std::string lower(text.substr(0, std::min<std::size_t>(text.size(), 64 * 1024)));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    static constexpr std::string_view patterns[] = {
        "context_length_exceeded",            // OpenAI, Azure, Groq (as code or in the body)
        "maximum context length",             // OpenAI, vLLM, DeepSeek, OpenRouter, Mistral
        "exceeds the available context size", // llama.cpp server
        "exceed_context_size_error",          // llama.cpp server
        "prompt is too long",                 // Anthropic
        "exceeds the context window",         // OpenAI Responses wording, several proxies
        "model's context length",             // SGLang
        "maximum prompt length",              // xAI
        "max_new_tokens` must be <=",         // TGI / Together
        "input token count",                  // Gemini ("The input token count (n) exceeds the maximum...")
    };
    for (const auto p : patterns)
        if (lower.find(p) != std::string::npos) {
            if (p == "input token count" && lower.find("exceeds the maximum") == std::string::npos)
                continue;
            return true;
        }
    return false;
}

namespace {

[[noreturn]] void throw_error_value(int status, const json::value& v, std::string_view body)
{
    const json::value* data = &v;
    if (const auto* e = member(v, "error"))
        data = e;
    std::optional<std::string> code;
    std::string message;
    if (data->is_string()) {
        message = std::string(data->get_string());
    } else {
        if (const auto* c = member(*data, "code")) {
            if (c->is_string())
                code = std::string(c->get_string());
            else if (c->is_int64() || c->is_uint64())
                code = detail::to_json_text(*c);
        }
        if (const auto* m = member(*data, "message"); m && m->is_string())
            message = std::string(m->get_string());
    }
    if (message.empty())
        message = quoted_body(body);
    if (is_context_overflow(status, code.value_or(""), body) || is_context_overflow(status, code.value_or(""), message))
        throw ContextOverflowError("Error code: " + std::to_string(status) + " - " + quoted_body(body));
    throw LlmApiError(status, std::move(code), detail::text::sanitize_utf8(message), std::string(body));
}

} // namespace

void throw_http_error(int http_status, std::string_view body)
{
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

} // namespace stirrup::detail::chat
