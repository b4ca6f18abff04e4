#include "stirrup/llm/errors.hpp"

namespace stirrup {

OutputTokenLimitError::OutputTokenLimitError(std::string model_slug, std::uint64_t max_tokens,
                                             std::string provider_reason)
    : Error("Model '" + model_slug + "' exhausted its configured output budget (max_tokens=" +
            std::to_string(max_tokens) + "; provider reason: " + provider_reason +
            "). Increase max_tokens or ask the model for a shorter response."),
      model_slug_(std::move(model_slug)), max_tokens_(max_tokens), provider_reason_(std::move(provider_reason))
{
}

namespace {

std::string api_error_what(int status, const std::optional<std::string>& code, const std::string& message)
{
    std::string out = status > 0 ? "Error code: " + std::to_string(status) + " - " : std::string("Error - ");
    out += message;
    if (code)
        out += " (code: " + *code + ")";
    return out;
}

} // namespace

LlmApiError::LlmApiError(int http_status, std::optional<std::string> code, std::string provider_message,
                         std::string raw_body)
    : Error(api_error_what(http_status, code, provider_message)), http_status_(http_status), code_(std::move(code)),
      provider_message_(std::move(provider_message)), raw_body_(std::move(raw_body))
{
}

} // namespace stirrup
