#pragma once
// The OpenAI chat-completions wire format, as Stirrup's ChatCompletionsClient
// and clients/utils.py speak it: request bodies, response bodies and error
// bodies. Pure functions, no I/O, so they are tested byte for byte and fuzzed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/messages.hpp"

namespace stirrup::detail::chat {

struct RequestOptions {
    std::string model;
    std::uint64_t max_completion_tokens = 64000;
    /// Sent as "reasoning_effort" when set and non-empty.
    std::optional<std::string> reasoning_effort;
    /// A JSON object whose members are merged after max_completion_tokens, as
    /// Stirrup merges its `kwargs`: they may override model, messages and
    /// max_completion_tokens (keeping those keys' positions) but not tools,
    /// tool_choice or reasoning_effort. Empty means none.
    std::string extra_fields_json;
    /// Adds "stream": true and "stream_options": {"include_usage": true}.
    bool stream = false;
};

/// Throws ConfigError unless `json` is empty or a JSON object.
void validate_extra_fields(std::string_view json);

/// Stirrup's to_openai_messages, as a JSON array. Throws PassbackError for
/// assistant blocks the format cannot carry, with Stirrup's messages.
std::string messages_to_json(const std::vector<ChatMessage>& messages);

/// Stirrup's to_openai_tools, as a JSON array. Throws ConfigError naming the
/// tool when its parameters schema is not a JSON object.
std::string tools_to_json(const std::vector<ToolDefinition>& tools);

/// The whole request body: model, messages, max_completion_tokens, extra
/// fields, then tools and tool_choice "auto" (only with tools),
/// reasoning_effort, and the streaming fields. Strings that are not valid
/// UTF-8 are sent with U+FFFD replacements.
std::string build_request_body(const RequestOptions& options, const std::vector<ChatMessage>& messages,
                               const std::vector<ToolDefinition>& tools);

/// The same with the tools already written by tools_to_json (empty: no
/// tools), so a client can write them once for many requests.
std::string build_request_body_with_tools_json(const RequestOptions& options, const std::vector<ChatMessage>& messages,
                                               std::string_view tools_json);

/// What the response parser needs to know about the request.
struct ResponseContext {
    std::string model_slug;
    std::uint64_t max_tokens = 0;
};

/// One choice's content, independent of how it arrived (whole or streamed).
struct RawToolCall {
    std::optional<std::string> id;
    std::optional<std::string> name;
    std::string arguments;
};

struct RawCompletion {
    std::optional<std::string> response_id;
    std::string reasoning_content;
    std::string content;
    std::vector<RawToolCall> tool_calls;
    std::optional<std::string> finish_reason;
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t reasoning_tokens = 0;
};

/// Blocks in channel order (reasoning, text, tool calls) and the usage split.
/// Throws OutputTokenLimitError for finish_reason "length" or "max_tokens",
/// LlmApiError ("invalid_response") for a tool call without a name.
AssistantMessage to_assistant_message(RawCompletion raw, const ResponseContext& context);

/// Parses a non-streaming response body (HTTP 2xx). Throws
/// OutputTokenLimitError, ContextOverflowError / LlmApiError when the body is
/// an error object, and LlmApiError with code "invalid_response" when the body
/// is not a usable completion (malformed JSON, no choices, wrong types).
AssistantMessage parse_response(std::string_view body, const ResponseContext& context);

/// True when an error (HTTP status, provider code, message or whole body)
/// says the input did not fit the context window: OpenAI's
/// context_length_exceeded and the wordings of OpenRouter, vLLM, SGLang,
/// llama.cpp, TGI, Anthropic, Gemini, Mistral and xAI endpoints.
bool is_context_overflow(int http_status, std::string_view code, std::string_view text);

/// Throws the error an HTTP error response stands for: ContextOverflowError
/// (message "Error code: {status} - {body}", as the OpenAI SDK words it) or
/// LlmApiError with the provider's code and message.
[[noreturn]] void throw_http_error(int http_status, std::string_view body);

} // namespace stirrup::detail::chat
