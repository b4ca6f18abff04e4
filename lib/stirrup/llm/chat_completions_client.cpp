#include "stirrup/llm/chat_completions_client.hpp"

#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "stirrup/core/error.hpp"
#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/llm/detail/chat_stream_assembler.hpp"
#include "stirrup/llm/detail/tools_json_cache.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/net/detail/sse_parser.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup {

namespace {

constexpr const char* kDefaultBaseUrl = "https://api.openai.com/v1";
// An error body is only quoted in the exception; more than this is noise.
constexpr std::size_t kMaxErrorBody = 1024 * 1024;

std::optional<std::string> env(const char* name)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        return std::nullopt;
    return std::string(v);
}

ChatCompletionsOptions validated(ChatCompletionsOptions o)
{
    // Stirrup's validate_token_budgets, word for word.
    if (o.context_window_tokens <= 0)
        throw ConfigError("context_window_tokens must be positive, got " + std::to_string(o.context_window_tokens));
    if (o.max_tokens > o.context_window_tokens)
        throw ConfigError("max_tokens (" + std::to_string(o.max_tokens) + ") must not exceed context_window_tokens (" +
                          std::to_string(o.context_window_tokens) + ")");
    // Stirrup lets the provider reject these; failing here names the option.
    if (o.max_tokens <= 0)
        throw ConfigError("max_tokens must be positive, got " + std::to_string(o.max_tokens));
    if (o.max_retries < 0)
        throw ConfigError("max_retries must not be negative, got " + std::to_string(o.max_retries));
    if (o.timeout && o.timeout->count() <= 0)
        throw ConfigError("timeout must be positive, got " + std::to_string(o.timeout->count()) + " ms");
    if (o.idle_timeout && o.idle_timeout->count() <= 0)
        throw ConfigError("idle_timeout must be positive, got " + std::to_string(o.idle_timeout->count()) + " ms");
    if (o.model.empty())
        throw ConfigError("model is required");
    if (!o.limiter)
        o.limiter = ModelRequestLimiter::process_default();
    detail::chat::validate_extra_fields(o.extra_request_fields);
    return o;
}

std::string resolve_api_key(const std::optional<std::string>& given)
{
    if (given && !given->empty())
        return *given;
    if (auto k = env("OPENROUTER_API_KEY"))
        return *k;
    if (auto k = env("OPENAI_API_KEY"))
        return *k;
    // The OpenAI SDK's own message: Stirrup fails the same way at construction.
    throw ConfigError("The api_key client option must be set either by passing api_key to the client or by "
                      "setting the OPENAI_API_KEY environment variable");
}

std::string endpoint(const std::optional<std::string>& given)
{
    std::string base = given && !given->empty() ? *given : env("OPENAI_BASE_URL").value_or(kDefaultBaseUrl);
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base + "/chat/completions";
}

bool is_success(int status)
{
    return status >= 200 && status < 300;
}

// The HTTP client's body limit guards the process; to the agent, a response
// past it is an unusable answer from the provider, like a malformed one.
[[noreturn]] void throw_too_large(int status, std::size_t limit)
{
    throw LlmApiError(status, std::string("response_too_large"),
                      "the model's response exceeds the HTTP client's limit of " + std::to_string(limit) +
                          " bytes (HttpClientOptions::limits.max_body_bytes)",
                      "");
}

} // namespace

ChatCompletionsClient::ChatCompletionsClient(std::shared_ptr<net::HttpClient> http, ChatCompletionsOptions options)
    : http_(std::move(http)), options_(validated(std::move(options))),
      tools_json_(std::make_unique<detail::ToolsJsonCache>())
{
    if (!http_)
        throw ConfigError("ChatCompletionsClient needs an HTTP client");
    api_key_ = resolve_api_key(options_.api_key);
    url_ = endpoint(options_.base_url);
}

ChatCompletionsClient::ChatCompletionsClient(boost::asio::any_io_executor ex, ChatCompletionsOptions options)
    : ChatCompletionsClient(std::make_shared<net::HttpClient>(std::move(ex)), std::move(options))
{
}

ChatCompletionsClient::~ChatCompletionsClient() = default;

boost::asio::awaitable<AssistantMessage> ChatCompletionsClient::generate(const std::vector<ChatMessage>& messages,
                                                                         const std::vector<ToolDefinition>& tools)
{
    // Held until the response is read (streamed or not). request_start_time
    // is taken after the wait, so model_speed does not count queueing and the
    // run loop can tell the wait apart (RunMetadata::model_queue_wait).
    ModelRequestLimiter::Admission admission = co_await options_.limiter->admit(url_);
    const double start = steady_clock_seconds();

    detail::chat::RequestOptions request_options;
    request_options.model = options_.model;
    request_options.max_completion_tokens = static_cast<std::uint64_t>(options_.max_tokens);
    request_options.reasoning_effort = options_.reasoning_effort;
    request_options.extra_fields_json = options_.extra_request_fields;
    request_options.stream = options_.stream;
    std::shared_ptr<const std::string> tools_json;
    if (!tools.empty())
        tools_json = tools_json_->get(tools);
    std::string body = detail::chat::build_request_body_with_tools_json(
        request_options, messages, tools_json ? std::string_view(*tools_json) : std::string_view());

    if (options_.stream) {
        AssistantMessage streamed = co_await generate_streamed(std::move(body), start);
        co_return streamed;
    }

    net::HttpRequest req = make_request(std::move(body), "application/json");

    net::HttpResponse response;
    try {
        response = co_await http_->request(std::move(req));
    } catch (const net::HttpResponseTooLarge& e) {
        if (e.code() != net::HttpErrc::body_too_large)
            throw;
        throw_too_large(e.status(), e.limit());
    }
    const double end = steady_clock_seconds();
    if (!is_success(response.status))
        detail::chat::throw_http_error(response.status, response.body);

    detail::chat::ResponseContext context{options_.model, static_cast<std::uint64_t>(options_.max_tokens)};
    AssistantMessage message = detail::chat::parse_response(response.body, context);
    message.request_start_time = start;
    message.request_end_time = end;
    co_return message;
}

net::HttpRequest ChatCompletionsClient::make_request(std::string body, std::string_view accept) const
{
    net::HttpRequest req;
    req.method = "POST";
    req.url = url_;
    req.headers = {
        {"Authorization", "Bearer " + api_key_}, {"Content-Type", "application/json"}, {"Accept", std::string(accept)}};
    req.body = std::move(body);
    req.timeout = options_.timeout;
    req.idle_timeout = options_.idle_timeout;
    req.max_retries = options_.max_retries;
    return req;
}

boost::asio::awaitable<AssistantMessage> ChatCompletionsClient::generate_streamed(std::string body, double start)
{
    net::HttpRequest req = make_request(std::move(body), "text/event-stream");

    detail::chat::ResponseContext context{options_.model, static_cast<std::uint64_t>(options_.max_tokens)};
    net::HttpStream stream = co_await http_->stream(std::move(req));

    const auto content_type = stream.header("Content-Type");
    const bool event_stream = content_type && content_type->substr(0, 17) == "text/event-stream";
    if (!is_success(stream.status()) || !event_stream) {
        // An error, or a server that ignored "stream": read the whole body.
        // Bounded like request()'s bodies: the stream has no limit of its own.
        const std::size_t limit = http_->options().limits.max_body_bytes;
        std::string whole;
        for (;;) {
            std::optional<std::string> piece = co_await stream.read_some();
            if (!piece)
                break;
            if (is_success(stream.status()) && piece->size() > limit - whole.size())
                throw_too_large(stream.status(), limit);
            whole += *piece;
            if (whole.size() > kMaxErrorBody && !is_success(stream.status()))
                break;
        }
        const double end = steady_clock_seconds();
        if (!is_success(stream.status()))
            detail::chat::throw_http_error(stream.status(), whole);
        AssistantMessage message = detail::chat::parse_response(whole, context);
        message.request_start_time = start;
        message.request_end_time = end;
        co_return message;
    }

    net::detail::SseParser parser;
    detail::chat::ChatStreamAssembler assembler(context);
    std::vector<net::detail::SseEvent> events;
    // The assembled answer grows with every delta: a server that streams
    // without end is cut off at the same limit as a whole body.
    const std::size_t limit = http_->options().limits.max_body_bytes;
    std::size_t received = 0;
    // Read to the end even after "[DONE]" (the assembler ignores the rest):
    // a body read to its end lets the connection go back to the pool.
    for (;;) {
        std::optional<std::string> piece = co_await stream.read_some();
        if (!piece)
            break;
        if (piece->size() > limit - received)
            throw_too_large(stream.status(), limit);
        received += piece->size();
        if (assembler.done())
            continue;
        events.clear();
        try {
            parser.feed(*piece, events);
        } catch (const net::detail::SseEventTooLarge&) {
            throw LlmApiError(stream.status(), std::string("invalid_response"),
                              "invalid chat completion stream: an event exceeds the size limit", "");
        }
        for (const auto& event : events)
            assembler.feed(event.data, event.type);
    }
    const double end = steady_clock_seconds();
    AssistantMessage message = assembler.finish();
    message.request_start_time = start;
    message.request_end_time = end;
    co_return message;
}

} // namespace stirrup
