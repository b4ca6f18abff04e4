#pragma once
// What the agent needs from a model: one call that turns a conversation and
// the available tools into the next assistant message.

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/core/messages.hpp"

namespace stirrup {

class LlmClient {
public:
    virtual ~LlmClient() = default;

    /// Throws ContextOverflowError when the input does not fit (the agent
    /// recovers), OutputTokenLimitError when max_tokens ran out, LlmApiError
    /// or net errors otherwise.
    virtual boost::asio::awaitable<AssistantMessage> generate(const std::vector<ChatMessage>& messages,
                                                              const std::vector<ToolDefinition>& tools) = 0;
    virtual std::string model_slug() const = 0;
    virtual std::uint64_t context_window_tokens() const = 0;
    virtual std::uint64_t max_tokens() const = 0;
};

} // namespace stirrup
