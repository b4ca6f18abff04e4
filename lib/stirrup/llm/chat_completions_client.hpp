#pragma once
// LlmClient for OpenAI-compatible chat-completions endpoints: Stirrup's
// ChatCompletionsClient, with its options, defaults and validation.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "stirrup/llm/llm_client.hpp"
#include "stirrup/llm/request_limiter.hpp"

namespace stirrup::net {
class HttpClient;
struct HttpRequest;
} // namespace stirrup::net

namespace stirrup {

namespace detail {
class ToolsJsonCache;
}

struct ChatCompletionsOptions {
    std::string model;
    /// Most tokens the model may generate per call (max_completion_tokens).
    std::int64_t max_tokens = 64000;
    /// Required: the model's context window, used by the agent to summarize.
    std::int64_t context_window_tokens = 0;
    /// nullopt: OPENAI_BASE_URL, else https://api.openai.com/v1 (the OpenAI SDK's default).
    std::optional<std::string> base_url;
    /// nullopt or empty: OPENROUTER_API_KEY, then OPENAI_API_KEY.
    std::optional<std::string> api_key;
    std::optional<std::string> reasoning_effort;
    /// Whole-request timeout per attempt; nullopt keeps the HTTP client's (600 s, the SDK's).
    std::optional<std::chrono::milliseconds> timeout;
    /// Longest silence from the server while its answer is awaited or read,
    /// streamed or not: a server that accepts a request and never answers
    /// fails the attempt after this (retried as a connection error), not after
    /// `timeout`. nullopt keeps the HTTP client's (net::Timeouts::idle, 120 s).
    /// A model that thinks long before answering a non-streamed request needs
    /// more (or `stream`).
    std::optional<std::chrono::milliseconds> idle_timeout;
    /// Retries of transient failures (connection errors, 408, 409, 429, 5xx).
    int max_retries = 2;
    /// A JSON object merged into every request body as Stirrup merges its
    /// kwargs (e.g. R"({"temperature":0.2})").
    std::string extra_request_fields;
    /// Stream the response (stream: true, stream_options.include_usage).
    bool stream = false;
    /// Caps on requests in flight and per minute, shared with whoever holds
    /// the same limiter; nullptr: ModelRequestLimiter::process_default().
    std::shared_ptr<ModelRequestLimiter> limiter;
};

class ChatCompletionsClient : public LlmClient {
public:
    /// Validates the options (Stirrup's ValueError texts, as ConfigError) and
    /// sends through `http`, which may be shared with other clients.
    ChatCompletionsClient(std::shared_ptr<net::HttpClient> http, ChatCompletionsOptions options);
    /// Same, with an HTTP client of its own on `ex`.
    ChatCompletionsClient(boost::asio::any_io_executor ex, ChatCompletionsOptions options);
    ~ChatCompletionsClient() override;

    boost::asio::awaitable<AssistantMessage> generate(const std::vector<ChatMessage>& messages,
                                                      const std::vector<ToolDefinition>& tools) override;
    std::string model_slug() const override { return options_.model; }
    std::uint64_t context_window_tokens() const override
    {
        return static_cast<std::uint64_t>(options_.context_window_tokens);
    }
    std::uint64_t max_tokens() const override { return static_cast<std::uint64_t>(options_.max_tokens); }

    /// The endpoint requests go to: {base_url}/chat/completions.
    const std::string& url() const noexcept { return url_; }
    /// The limiter this client's requests pass through.
    const std::shared_ptr<ModelRequestLimiter>& limiter() const noexcept { return options_.limiter; }

private:
    boost::asio::awaitable<AssistantMessage> generate_streamed(std::string body, double start);
    net::HttpRequest make_request(std::string body, std::string_view accept) const;

    std::shared_ptr<net::HttpClient> http_;
    ChatCompletionsOptions options_;
    std::string url_;
    std::string api_key_;
    /// Held by pointer to keep the header free of internals; one per client.
    std::unique_ptr<detail::ToolsJsonCache> tools_json_;
};

} // namespace stirrup
