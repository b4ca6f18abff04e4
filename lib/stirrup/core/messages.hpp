#pragma once
// The conversation model shared by every layer: what the agent sends to a
// model and what comes back. Mirrors Stirrup's core/models.py message types.
// Header kept free of Boost.JSON: wire formats live in llm/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stirrup {

namespace detail {
/// 32 hex digits as Python's uuid.uuid4().hex: message and tool call IDs
/// (defined in core/detail/random_hex.cpp).
std::string uuid4_hex();
} // namespace detail

/// Seconds on the steady clock (Python's perf_counter): only differences mean anything.
double steady_clock_seconds();

/// An image to show the model. `data` holds the encoded bytes and
/// `mime_type` their type (e.g. "image/png"), both already validated and
/// normalised by whoever made the block (view_image downsizes to PNG).
struct ImageBlock {
    std::string data;
    std::string mime_type;

    friend bool operator==(const ImageBlock&, const ImageBlock&) = default;
};

/// Audio for the model: the encoded bytes and their type ("audio/wav",
/// "audio/mpeg"...). Each model API shows what it can take (Chat
/// Completions: WAV and MP3) and a text note in place of the rest.
struct AudioBlock {
    std::string data;
    std::string mime_type;

    friend bool operator==(const AudioBlock&, const AudioBlock&) = default;
};

using ContentPart = std::variant<std::string, ImageBlock, AudioBlock>;

/// Stirrup's `Content = str | list[str | media]`. The two forms are kept
/// apart because callers (logging, summaries) treat a plain string differently
/// from a list, although the wire format encodes them the same way.
using Content = std::variant<std::string, std::vector<ContentPart>>;

/// Concatenation of the text parts of `content` (images and audio skipped).
std::string content_text(const Content& content);

// ---- assistant blocks ----------------------------------------------------

struct TextBlock {
    std::string text;
    /// Provider signature; chat completions cannot pass a signed block back.
    std::optional<std::string> signature;

    friend bool operator==(const TextBlock&, const TextBlock&) = default;
};

struct ReasoningBlock {
    std::string content;

    friend bool operator==(const ReasoningBlock&, const ReasoningBlock&) = default;
};

struct ToolCall {
    std::string name;
    /// The arguments as the model wrote them: JSON text, not validated here.
    std::string arguments;
    std::string tool_call_id;
    /// False when the provider gave no id and `tool_call_id` was generated.
    bool has_provider_tool_call_id = true;
    std::optional<std::string> signature;

    /// Stirrup's ToolCall.from_provider: a missing or empty id becomes a
    /// fresh uuid4 hex and clears has_provider_tool_call_id.
    static ToolCall from_provider(std::optional<std::string> provider_id, std::string name, std::string arguments);

    friend bool operator==(const ToolCall&, const ToolCall&) = default;
};

using AssistantBlock = std::variant<TextBlock, ReasoningBlock, ToolCall, ImageBlock>;

/// Concatenated text of every TextBlock; nullopt when there is none (an empty
/// TextBlock gives "").
std::optional<std::string> joined_text(const std::vector<AssistantBlock>& blocks);
/// The text of the last TextBlock, nullopt when there is none.
std::optional<std::string> final_text(const std::vector<AssistantBlock>& blocks);
std::vector<ToolCall> tool_call_blocks(const std::vector<AssistantBlock>& blocks);
std::vector<ReasoningBlock> reasoning_blocks(const std::vector<AssistantBlock>& blocks);

// ---- token usage ---------------------------------------------------------

struct TokenUsage {
    std::int64_t input = 0;
    std::int64_t answer = 0;
    std::int64_t reasoning = 0;

    std::int64_t output() const noexcept { return answer + reasoning; }
    std::int64_t total() const noexcept { return input + answer + reasoning; }

    TokenUsage& operator+=(const TokenUsage& o) noexcept
    {
        input += o.input;
        answer += o.answer;
        reasoning += o.reasoning;
        return *this;
    }
    friend TokenUsage operator+(TokenUsage a, const TokenUsage& b) noexcept { return a += b; }
    friend bool operator==(const TokenUsage&, const TokenUsage&) = default;
};

// ---- messages ------------------------------------------------------------

struct SystemMessage {
    Content content;
};

enum class UserKind { user, summary, turn_warning };

struct UserMessage {
    Content content;
    UserKind kind = UserKind::user;
    /// kind == summary: ids of the AssistantMessages the summary replaced.
    std::vector<std::string> replaced_ids;
};

struct AssistantMessage {
    std::string id = detail::uuid4_hex();
    std::optional<std::string> provider_response_id;
    std::vector<AssistantBlock> blocks;
    TokenUsage token_usage;
    /// steady_clock_seconds() around the model call.
    std::optional<double> request_start_time;
    std::optional<double> request_end_time;
};

struct ToolMessage {
    Content content;
    std::string tool_call_id;
    std::optional<std::string> name;
    bool args_was_valid = true;
    bool success = false;
    std::optional<double> tool_start_time;
    std::optional<double> tool_end_time;

    /// end - start, nullopt when either is missing or the difference is negative.
    std::optional<double> tool_duration() const;
};

using ChatMessage = std::variant<SystemMessage, UserMessage, AssistantMessage, ToolMessage>;

/// A tool as the model sees it.
struct ToolDefinition {
    std::string name;
    std::string description;
    /// JSON Schema text of the parameters object. nullopt is Stirrup's
    /// EmptyParams: the "parameters" key is left out of the request.
    std::optional<std::string> parameters_schema;
};

} // namespace stirrup
