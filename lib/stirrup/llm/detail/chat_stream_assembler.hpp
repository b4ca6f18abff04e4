#pragma once
// Assembles a streamed chat completion (stream: true) from its
// chat.completion.chunk objects into the AssistantMessage the non-streaming
// path would have produced. Pure: the client feeds it the data of each SSE
// event.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "stirrup/core/messages.hpp"
#include "stirrup/llm/detail/chat_completions_format.hpp"

namespace stirrup::detail::chat {

class ChatStreamAssembler {
public:
    explicit ChatStreamAssembler(ResponseContext context);

    /// One SSE event: its data (a chunk, or "[DONE]") and its event name.
    /// Throws what the error maps to when the event is an error ({"error":
    /// ...} data, or event "error"), LlmApiError ("invalid_response") when the
    /// data is not a JSON object. Data after "[DONE]" is ignored.
    void feed(std::string_view data, std::string_view event = {});

    /// "[DONE]" was seen.
    bool done() const noexcept { return done_; }

    /// The assembled message. Throws OutputTokenLimitError as parse_response
    /// does, and LlmApiError when the stream ended before the model finished
    /// (neither a finish_reason nor "[DONE]" arrived).
    AssistantMessage finish();

private:
    struct PartialCall {
        RawToolCall call;
    };

    void feed_chunk(std::string_view data);

    ResponseContext context_;
    RawCompletion raw_;
    // Keyed by the delta's "index": the order the model emitted them in.
    std::map<std::int64_t, PartialCall> calls_;
    std::int64_t last_index_ = -1;
    std::size_t chunks_ = 0;
    bool saw_choice_ = false;
    bool done_ = false;
};

} // namespace stirrup::detail::chat
