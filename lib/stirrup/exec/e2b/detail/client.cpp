#include "stirrup/exec/e2b/detail/client.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/exec/e2b/detail/connect.hpp"
#include "stirrup/net/detail/retry_rules.hpp"
#include "stirrup/net/detail/url.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup::detail::e2b {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The control plane's answer to `call` as an E2BError.
E2BError api_error(int status, std::string_view body, const std::string& call)
{
    const auto e = parse_api_error(status, body);
    std::string message = "E2B " + call + " failed (HTTP " + std::to_string(status) + "): " + e.message;
    if (e.error_code)
        message += " [" + *e.error_code + "]";
    ErrorCategory category = ErrorCategory::bad_request;
    if (status == 401) {
        category = ErrorCategory::authentication;
        message += " - check E2B_API_KEY";
    } else if (status == 404) {
        category = ErrorCategory::not_found;
    } else if (status == 429) {
        category = ErrorCategory::rate_limited;
    } else if (status >= 500) {
        category = ErrorCategory::server;
    }
    return E2BError(category, status, message);
}

// A transport failure of `call` (the HTTP client's error) as an E2BError.
E2BError transport_error(const net::HttpTransportError& e, const std::string& call)
{
    const bool timed_out = e.code() == std::errc::timed_out;
    return E2BError(timed_out ? ErrorCategory::timeout : ErrorCategory::transport, 0,
                    "E2B " + call + (timed_out ? " timed out: " : " failed: ") + e.what());
}

// Awaits a request (or a stream's opening): a transport failure (the HTTP
// client's error) comes out as an E2BError naming `call`.
template <class Result>
awaitable<Result> sent(awaitable<Result> request, std::string call)
{
    std::optional<Result> result;
    std::optional<E2BError> failure;
    try {
        result.emplace(co_await std::move(request));
    } catch (const net::HttpTransportError& e) {
        failure = transport_error(e, call);
    }
    if (failure)
        throw *failure;
    co_return std::move(*result);
}

net::HttpRequest make_request(std::string method, std::string url, const HeaderList& headers, Milliseconds timeout)
{
    net::HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.headers = headers;
    r.timeout = timeout;
    r.max_retries = 0;
    return r;
}

double random01()
{
    static thread_local std::minstd_rand rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

} // namespace

E2BError envd_error(int status, std::string_view body, std::string_view what)
{
    const ConnectError e = parse_unary_error(status, body);
    std::string message =
        "E2B envd " + std::string(what) + " failed (HTTP " + std::to_string(status) + ", " + e.code + "): " + e.message;
    ErrorCategory category = ErrorCategory::bad_request;
    if (status == 502 || e.code == "unavailable") {
        category = ErrorCategory::sandbox_gone;
        message = "E2B sandbox is not running any more (killed, or past its lifetime): " + std::string(what) +
                  " answered HTTP " + std::to_string(status) + ": " + e.message;
    } else if (status == 401 || e.code == "unauthenticated") {
        category = ErrorCategory::authentication;
    } else if (status == 429 || e.code == "resource_exhausted") {
        category = ErrorCategory::rate_limited;
    } else if (e.code == "deadline_exceeded" || e.code == "canceled") {
        category = ErrorCategory::timeout;
    } else if (status >= 500) {
        category = ErrorCategory::server;
    }
    return E2BError(category, status, message);
}

ControlPlane::ControlPlane(std::shared_ptr<net::HttpClient> http, Endpoints endpoints, ClientOptions options)
    : http_(std::move(http)), endpoints_(std::move(endpoints)), options_(options)
{
}

awaitable<SandboxInfo> ControlPlane::create(CreateRequest request)
{
    const std::string body = create_request_json(request);
    HeaderList headers{{"X-API-Key", endpoints_.api_key}, {"Content-Type", "application/json"}};
    for (int attempt = 0;; ++attempt) {
        auto req = make_request("POST", endpoints_.api_url + "/sandboxes", headers, options_.request_timeout);
        req.body = body;
        // A transport failure is not retried: the request may have reached
        // E2B and made a sandbox.
        const std::string call = "sandbox create";
        awaitable<net::HttpResponse> sending = http_->request(std::move(req));
        net::HttpResponse resp = co_await sent(std::move(sending), call);
        if (resp.status == 201 || resp.status == 200)
            co_return parse_sandbox(resp.body);
        const bool busy = resp.status == 502 || resp.status == 503 || resp.status == 504;
        if ((resp.status != 429 && !busy) || attempt >= options_.max_create_retries)
            throw api_error(resp.status, resp.body, "sandbox create");
        Milliseconds delay =
            net::detail::backoff_delay(net::RetryPolicy{options_.max_create_retries, options_.initial_backoff,
                                                        std::chrono::seconds(8), options_.max_retry_after},
                                       attempt, random01());
        if (resp.status == 429) {
            if (auto h = resp.header("retry-after")) {
                const auto after = net::detail::parse_retry_after(*h, std::chrono::system_clock::now());
                if (after && *after > options_.max_retry_after)
                    throw api_error(resp.status, resp.body, "sandbox create");
                if (after)
                    delay = *after;
            }
        }
        asio::steady_timer timer(co_await asio::this_coro::executor, delay);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

awaitable<bool> ControlPlane::kill(std::string sandbox_id)
{
    HeaderList headers{{"X-API-Key", endpoints_.api_key}};
    auto req =
        make_request("DELETE", endpoints_.api_url + "/sandboxes/" + sandbox_id, headers, options_.request_timeout);
    // Killing twice is harmless: let the client retry 5xx and lost connections.
    req.max_retries = 2;
    const std::string call = "kill of sandbox " + sandbox_id;
    awaitable<net::HttpResponse> request = http_->request(std::move(req));
    net::HttpResponse resp = co_await sent(std::move(request), call);
    if (resp.status == 204 || resp.status == 200)
        co_return true;
    if (resp.status == 404)
        co_return false;
    throw api_error(resp.status, resp.body, "kill of sandbox " + sandbox_id);
}

awaitable<void> ControlPlane::set_timeout(std::string sandbox_id, std::int64_t seconds)
{
    HeaderList headers{{"X-API-Key", endpoints_.api_key}, {"Content-Type", "application/json"}};
    auto req = make_request("POST", endpoints_.api_url + "/sandboxes/" + sandbox_id + "/timeout", headers,
                            options_.request_timeout);
    req.max_retries = 2;
    json::object o;
    o["timeout"] = seconds;
    req.body = json::serialize(o);
    const std::string call = "lifetime update of sandbox " + sandbox_id;
    awaitable<net::HttpResponse> request = http_->request(std::move(req));
    net::HttpResponse resp = co_await sent(std::move(request), call);
    if (resp.status != 204 && resp.status != 200)
        throw api_error(resp.status, resp.body, "lifetime update of sandbox " + sandbox_id);
}

Envd::Envd(std::shared_ptr<net::HttpClient> http, std::string base_url, HeaderList headers, std::string envd_version,
           Milliseconds request_timeout)
    : http_(std::move(http)), base_url_(std::move(base_url)), headers_(std::move(headers)),
      envd_version_(std::move(envd_version)), request_timeout_(request_timeout)
{
}

awaitable<net::HttpStream> Envd::start_process(std::string request_json, Milliseconds command_timeout)
{
    auto req = make_request("POST", base_url_ + "/process.Process/Start", headers_, request_timeout_);
    req.headers.emplace_back("Content-Type", "application/connect+json");
    req.headers.emplace_back("Connect-Protocol-Version", "1");
    if (command_timeout.count() > 0)
        req.headers.emplace_back("Connect-Timeout-Ms", std::to_string(command_timeout.count()));
    // envd sends a keepalive event after this many idle seconds, which keeps
    // a quiet command's stream inside the HTTP client's idle bound.
    req.headers.emplace_back("Keepalive-Ping-Interval", "50");
    req.body = encode_envelope(request_json);
    const std::string call = "command start";
    awaitable<net::HttpStream> opening = http_->stream(std::move(req));
    std::optional<net::HttpStream> stream;
    stream.emplace(co_await sent(std::move(opening), call));
    if (stream->status() != 200) {
        // An error answer is short; read it for its message.
        std::string body;
        try {
            for (;;) {
                std::optional<std::string> piece = co_await stream->read_some();
                if (!piece || body.size() > 64 * 1024)
                    break;
                body += *piece;
            }
        } catch (const net::HttpTransportError&) {
        }
        throw envd_error(stream->status(), body, "command start");
    }
    const auto ct = stream->header("content-type");
    if (!ct || !is_connect_stream_content_type(*ct))
        throw E2BError(ErrorCategory::protocol, 200,
                       "E2B envd answered a command start with content type '" + std::string(ct.value_or("")) +
                           "', not application/connect+json");
    co_return std::move(*stream);
}

awaitable<std::string> Envd::unary(std::string method, std::string body, bool* not_found)
{
    auto req = make_request("POST", base_url_ + method, headers_, request_timeout_);
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Connect-Protocol-Version", "1");
    req.headers.emplace_back("Connect-Timeout-Ms", std::to_string(request_timeout_.count()));
    req.body = std::move(body);
    const std::string call = method;
    awaitable<net::HttpResponse> request = http_->request(std::move(req));
    net::HttpResponse resp = co_await sent(std::move(request), call);
    if (resp.status == 200)
        co_return std::move(resp.body);
    if (not_found && resp.status != 502) {
        const auto e = parse_unary_error(resp.status, resp.body);
        if (e.code == "not_found" || (method == "/filesystem.Filesystem/ListDir" && e.code == "invalid_argument")) {
            *not_found = true;
            co_return std::string();
        }
    }
    throw envd_error(resp.status, resp.body, method);
}

awaitable<bool> Envd::send_signal(std::string request_json)
{
    bool missing = false;
    co_await unary("/process.Process/SendSignal", std::move(request_json), &missing);
    co_return !missing;
}

awaitable<std::optional<EntryInfo>> Envd::stat(std::string path)
{
    json::object o;
    o["path"] = path;
    bool missing = false;
    std::string body = co_await unary("/filesystem.Filesystem/Stat", json::serialize(o), &missing);
    if (missing)
        co_return std::nullopt;
    co_return parse_stat_response(body);
}

awaitable<std::optional<std::vector<EntryInfo>>> Envd::list_dir(std::string path, std::uint32_t depth)
{
    json::object o;
    o["path"] = path;
    o["depth"] = depth;
    bool missing = false;
    std::string body = co_await unary("/filesystem.Filesystem/ListDir", json::serialize(o), &missing);
    if (missing)
        co_return std::nullopt;
    co_return parse_list_dir_response(body);
}

awaitable<std::string> Envd::read_file(std::string path, std::uint64_t max_bytes)
{
    auto req =
        make_request("GET", base_url_ + "/files?path=" + net::detail::percent_encode(path), headers_, request_timeout_);
    req.max_body_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes, SIZE_MAX));
    const std::string call = "read of " + path;
    awaitable<net::HttpResponse> request = http_->request(std::move(req));
    net::HttpResponse resp;
    try {
        resp = co_await sent(std::move(request), call);
    } catch (const net::HttpResponseTooLarge& e) {
        if (e.status() != 200)
            throw;
        throw FileTooLargeError("File is too large: " + path + " has more than " + std::to_string(max_bytes) +
                                " bytes (the limit per file)");
    }
    if (resp.status == 200)
        co_return std::move(resp.body);
    if (resp.status == 404)
        throw FileNotFoundError("File not found: " + path);
    if (resp.status == 400)
        throw PathError("Cannot read " + path + ": " + parse_api_error(resp.status, resp.body).message);
    throw envd_error(resp.status, resp.body, "read of " + path);
}

awaitable<std::uint64_t> Envd::read_file_to(std::string path, std::uint64_t max_bytes,
                                            std::function<void(std::string_view)> data)
{
    auto req =
        make_request("GET", base_url_ + "/files?path=" + net::detail::percent_encode(path), headers_, request_timeout_);
    std::uint64_t got = 0;
    std::optional<E2BError> failure;
    try {
        net::HttpStream s = co_await http_->stream(std::move(req));
        if (s.status() != 200) {
            std::string body;
            // An error body is short; bound it anyway.
            while (body.size() < 64 * 1024) {
                auto piece = co_await s.read_some();
                if (!piece)
                    break;
                body += *piece;
            }
            if (s.status() == 404)
                throw FileNotFoundError("File not found: " + path);
            if (s.status() == 400)
                throw PathError("Cannot read " + path + ": " + parse_api_error(s.status(), body).message);
            throw envd_error(s.status(), body, "read of " + path);
        }
        for (;;) {
            auto piece = co_await s.read_some();
            if (!piece)
                break;
            if (piece->size() > max_bytes - got)
                throw FileTooLargeError("File grew past the limit of " + std::to_string(max_bytes) +
                                        " bytes while it was copied");
            got += piece->size();
            data(*piece);
        }
    } catch (const net::HttpTransportError& e) {
        failure = transport_error(e, "read of " + path);
    }
    if (failure)
        throw *failure;
    co_return got;
}

awaitable<void> Envd::write_file(std::string path, std::string data)
{
    auto req = make_request("POST", base_url_ + "/files?path=" + net::detail::percent_encode(path), headers_,
                            request_timeout_);
    if (supports_octet_stream_upload(envd_version_)) {
        req.headers.emplace_back("Content-Type", "application/octet-stream");
        req.body = std::move(data);
    } else {
        const std::string boundary = "stirrup" + detail::random_hex(32);
        auto [content_type, body] = multipart_upload(path, data, boundary);
        req.headers.emplace_back("Content-Type", std::move(content_type));
        req.body = std::move(body);
    }
    const std::string call = "write of " + path;
    awaitable<net::HttpResponse> request = http_->request(std::move(req));
    net::HttpResponse resp = co_await sent(std::move(request), call);
    if (resp.status == 200 || resp.status == 201 || resp.status == 204)
        co_return;
    if (resp.status == 400)
        throw PathError("Cannot write " + path + ": " + parse_api_error(resp.status, resp.body).message);
    if (resp.status == 507)
        throw E2BError(ErrorCategory::bad_request, 507, "E2B sandbox has no space left for " + path);
    throw envd_error(resp.status, resp.body, "write of " + path);
}

} // namespace stirrup::detail::e2b

namespace stirrup::e2b {

std::string_view to_string(ErrorCategory c) noexcept
{
    switch (c) {
    case ErrorCategory::authentication:
        return "authentication";
    case ErrorCategory::not_found:
        return "not_found";
    case ErrorCategory::rate_limited:
        return "rate_limited";
    case ErrorCategory::bad_request:
        return "bad_request";
    case ErrorCategory::server:
        return "server";
    case ErrorCategory::sandbox_gone:
        return "sandbox_gone";
    case ErrorCategory::timeout:
        return "timeout";
    case ErrorCategory::protocol:
        return "protocol";
    case ErrorCategory::transport:
        return "transport";
    }
    return "unknown";
}

} // namespace stirrup::e2b
