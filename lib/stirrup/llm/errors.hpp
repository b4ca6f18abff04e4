#pragma once
// Errors of the LLM layer. The agent recovers from ContextOverflowError (it
// unwinds or summarizes); the others end the run.

#include <cstdint>
#include <optional>
#include <string>

#include "stirrup/core/error.hpp"

namespace stirrup {

/// The request's input does not fit the model's context window.
class ContextOverflowError : public Error {
public:
    using Error::Error;
};

/// The model used up max_tokens before finishing (finish_reason "length" or "max_tokens").
class OutputTokenLimitError : public Error {
public:
    OutputTokenLimitError(std::string model_slug, std::uint64_t max_tokens, std::string provider_reason);

    const std::string& model_slug() const noexcept { return model_slug_; }
    std::uint64_t max_tokens() const noexcept { return max_tokens_; }
    const std::string& provider_reason() const noexcept { return provider_reason_; }

private:
    std::string model_slug_;
    std::uint64_t max_tokens_;
    std::string provider_reason_;
};

/// The provider refused the request or answered something unusable. A
/// successful HTTP status with an unusable body has `code` "invalid_response".
class LlmApiError : public Error {
public:
    LlmApiError(int http_status, std::optional<std::string> code, std::string provider_message, std::string raw_body);

    int http_status() const noexcept { return http_status_; }
    /// The provider's error code ("invalid_api_key", "400"...), if it gave one.
    const std::optional<std::string>& code() const noexcept { return code_; }
    const std::string& provider_message() const noexcept { return provider_message_; }
    const std::string& raw_body() const noexcept { return raw_body_; }

private:
    int http_status_;
    std::optional<std::string> code_;
    std::string provider_message_;
    std::string raw_body_;
};

/// Stirrup refuses to send back a block the chat-completions format cannot
/// carry (its TypeError / NotImplementedError in _validate_chat_assistant_blocks).
class PassbackError : public Error {
public:
    using Error::Error;
};

} // namespace stirrup
