#include "stirrup/net/http_client.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <random>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include "stirrup/net/detail/connection.hpp"
#include "stirrup/net/detail/connection_pool.hpp"
#include "stirrup/net/detail/proxy.hpp"
#include "stirrup/net/detail/retry_rules.hpp"
#include "stirrup/net/detail/tls_context.hpp"
#include "stirrup/net/detail/url.hpp"

#include "stirrup/core/detail/ascii.hpp"

namespace stirrup::net {
using stirrup::detail::ascii::iequals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

class HttpCategory : public std::error_category {
public:
    const char* name() const noexcept override { return "stirrup.http"; }
    std::string message(int ev) const override
    {
        switch (static_cast<HttpErrc>(ev)) {
        case HttpErrc::proxy_refused:
            return "the proxy refused the tunnel";
        case HttpErrc::bad_response:
            return "invalid HTTP response";
        case HttpErrc::body_too_large:
            return "response body too large";
        case HttpErrc::header_too_large:
            return "response header too large";
        }
        return "unknown HTTP error";
    }
};

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name)
{
    for (const auto& [k, v] : headers)
        if (iequals(k, name))
            return std::string_view(v);
    return std::nullopt;
}

Headers copy_headers(const http::response_header<>& h)
{
    Headers out;
    for (const auto& f : h)
        out.emplace_back(std::string(f.name_string()), std::string(f.value()));
    return out;
}

[[noreturn]] void throw_aborted()
{
    throw boost::system::system_error(asio::error::operation_aborted);
}

bool cancelled(const asio::cancellation_state& cs)
{
    return cs.cancelled() != asio::cancellation_type::none;
}

constexpr std::size_t piece_size = 16 * 1024;

} // namespace

const std::error_category& http_category() noexcept
{
    static const HttpCategory category;
    return category;
}

std::error_code make_error_code(HttpErrc e) noexcept
{
    return {static_cast<int>(e), http_category()};
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const
{
    return find_header(headers, name);
}

HttpResponseTooLarge::HttpResponseTooLarge(HttpErrc which, int status, std::size_t limit, const std::string& what)
    : SystemError(make_error_code(which), what), status_(status), limit_(limit)
{
}

// A request ready to send: parsed once, written again on each attempt.
struct Prepared {
    detail::Url url;
    std::optional<detail::ProxyEndpoint> proxy;
    std::string pool_key;
    detail::RequestMessage message;
    bool head = false;
    Milliseconds timeout{};
    Milliseconds idle{};
    int max_retries = 0;
    std::size_t max_body = 0;
};

struct HttpClient::Impl {
    Impl(asio::any_io_executor ex, HttpClientOptions o)
        : executor(std::move(ex)), options(std::move(o)),
          pool(std::make_shared<detail::ConnectionPool>(executor, options.pool))
    {
        if (options.use_env_proxy)
            proxies = detail::ProxySettings::from_env(detail::process_env());
        tls = detail::make_tls_context(options.tls);
    }

    Prepared prepare(HttpRequest& req);
    asio::awaitable<void> send(Prepared& p, detail::ConnectionPool::Lease& lease,
                               std::unique_ptr<detail::ResponseParser>& parser, detail::SteadyTime deadline);
    asio::awaitable<void> sleep(Milliseconds d);
    /// After an attempt that failed (`failure`) or asked to be retried
    /// (`decision`): rethrows what must not be retried, else counts the retry
    /// and waits out its delay.
    asio::awaitable<void> before_retry(std::exception_ptr failure, detail::RetryDecision decision, int retries,
                                       int max_retries, const asio::cancellation_state& cs);
    double random01();

    asio::any_io_executor executor;
    HttpClientOptions options;
    detail::ProxySettings proxies;
    std::shared_ptr<asio::ssl::context> tls;
    std::shared_ptr<detail::ConnectionPool> pool;
    detail::ClientCounters counters;
    std::mutex rng_mutex;
    std::minstd_rand rng{std::random_device{}()};
};

struct HttpStream::Impl {
    detail::ConnectionPool::Lease lease;
    std::unique_ptr<detail::ResponseParser> parser;
    int status = 0;
    Headers headers;
    Milliseconds idle{};
    bool done = false;
    std::array<char, piece_size> buffer;
};

double HttpClient::Impl::random01()
{
    std::lock_guard lock(rng_mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Prepared HttpClient::Impl::prepare(HttpRequest& req)
{
    Prepared p;
    p.url = detail::parse_url(req.url);
    p.proxy = proxies.select(p.url);
    p.pool_key = std::string(to_string(p.url.scheme)) + "://" + p.url.authority() + p.url.socket_path;
    if (p.proxy)
        p.pool_key += " via " + p.proxy->host + ":" + std::to_string(p.proxy->port);
    p.timeout = req.timeout.value_or(options.timeouts.request);
    p.idle = req.idle_timeout.value_or(options.timeouts.idle);
    p.max_retries = std::max(0, req.max_retries.value_or(options.retry.max_retries));
    p.max_body = req.max_body_bytes.value_or(options.limits.max_body_bytes);

    auto& m = p.message;
    m.version(11);
    const auto verb = http::string_to_verb(req.method);
    if (verb == http::verb::unknown)
        m.method_string(req.method);
    else
        m.method(verb);
    p.head = verb == http::verb::head;
    // A plain-HTTP proxy forwards absolute-form targets (RFC 9112 3.2.2).
    m.target(p.proxy && p.url.scheme == detail::Scheme::http ? p.url.absolute_target() : p.url.target);
    const bool default_port = (p.url.scheme == detail::Scheme::https && p.url.port == 443) ||
                              (p.url.scheme == detail::Scheme::http && p.url.port == 80);
    if (p.url.scheme == detail::Scheme::unix_socket)
        m.set(http::field::host, "localhost");
    else if (default_port)
        m.set(http::field::host, p.url.host.find(':') != std::string::npos ? "[" + p.url.host + "]" : p.url.host);
    else
        m.set(http::field::host, p.url.authority());
    if (p.proxy && p.url.scheme == detail::Scheme::http && !p.proxy->authorization.empty())
        m.set(http::field::proxy_authorization, p.proxy->authorization);
    bool has_user_agent = false;
    for (auto& [name, value] : req.headers) {
        if (iequals(name, "host"))
            m.set(http::field::host, value);
        else
            m.insert(name, value);
        has_user_agent = has_user_agent || iequals(name, "user-agent");
    }
    if (!has_user_agent && !options.user_agent.empty())
        m.set(http::field::user_agent, options.user_agent);
    m.body() = std::move(req.body);
    m.prepare_payload();
    m.keep_alive(true);
    return p;
}

asio::awaitable<void> HttpClient::Impl::send(Prepared& p, detail::ConnectionPool::Lease& lease,
                                             std::unique_ptr<detail::ResponseParser>& parser,
                                             detail::SteadyTime deadline)
{
    lease = co_await pool->acquire(p.pool_key, deadline);
    const detail::ConnectSettings settings{&p.url,   &p.proxy, tls.get(), options.tls.verify, &options.timeouts,
                                           &counters};
    // Only a reused connection is resent, and only once: a server may close
    // an idle keep-alive connection just as we write to it.
    for (bool may_resend = true;; may_resend = false) {
        const bool reused = lease.connection != nullptr;
        if (!reused) {
            // Held until the connection is open (or failed to open).
            const auto opening = co_await pool->admit_opening(p.pool_key, deadline);
            lease.connection = co_await detail::Connection::open(executor, settings, deadline);
        }
        parser = std::make_unique<detail::ResponseParser>();
        parser->body_limit(boost::none);
        parser->header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(options.limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
        if (p.head)
            parser->skip(true);
        std::optional<HttpTransportError> failure;
        try {
            counters.requests_sent.fetch_add(1, std::memory_order_relaxed);
            co_await lease.connection->write(p.message, deadline);
            co_await lease.connection->read_header(*parser, deadline, p.idle);
            co_return;
        } catch (const HttpTransportError& e) {
            failure = e;
        }
        if (failure->code() == HttpErrc::header_too_large) {
            lease.connection.reset(); // the rest of that answer is still on the wire
            throw HttpResponseTooLarge(HttpErrc::header_too_large, 0, options.limits.max_header_bytes,
                                       failure->what() +
                                           std::string(" (HttpClientOptions::limits.max_header_bytes is ") +
                                           std::to_string(options.limits.max_header_bytes) + ")");
        }
        const bool answered = parser->got_some() || lease.connection->buffer.size() != 0;
        lease.connection.reset();
        const auto ec = failure->code();
        const bool stale = ec != std::errc::timed_out && ec != std::errc::operation_canceled;
        if (!(reused && may_resend && !answered && stale))
            throw *failure;
    }
}

asio::awaitable<void> HttpClient::Impl::sleep(Milliseconds d)
{
    if (d.count() <= 0)
        co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(detail::deadline_after(d));
    co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> HttpClient::Impl::before_retry(std::exception_ptr failure, detail::RetryDecision decision,
                                                     int retries, int max_retries, const asio::cancellation_state& cs)
{
    if (cancelled(cs))
        throw_aborted();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const HttpCertificateRefused&) {
            throw; // the next handshake would meet the same certificate
        } catch (...) {
        }
        decision = detail::decide_retry_after_error(options.retry, retries, max_retries, random01());
        if (!decision.retry)
            std::rethrow_exception(failure);
    }
    counters.retries.fetch_add(1, std::memory_order_relaxed);
    co_await sleep(decision.delay);
}

namespace {

detail::ResponseRetryInfo retry_info(const http::response_header<>& h)
{
    auto get = [&](std::string_view name) -> std::optional<std::string_view> {
        auto it = h.find(name);
        if (it == h.end())
            return std::nullopt;
        return std::string_view(it->value());
    };
    return {static_cast<int>(h.result_int()), get("x-should-retry"), get("retry-after"), get("retry-after-ms")};
}

[[noreturn]] void throw_body_too_large(const detail::Connection& c, const detail::ResponseParser& parser,
                                       std::size_t limit)
{
    throw HttpResponseTooLarge(HttpErrc::body_too_large, static_cast<int>(parser.get().result_int()), limit,
                               c.origin + ": the response body exceeds the limit of " + std::to_string(limit) +
                                   " bytes (HttpClientOptions::limits.max_body_bytes)");
}

// Reads the rest of the body into `out` (or discards it when out is null),
// refusing to collect more than `limit` bytes: a declared length past it
// fails before a byte is read, a chunked or close-delimited body as soon as
// it grows past it.
asio::awaitable<void> read_body(detail::Connection& c, detail::ResponseParser& parser, std::string* out,
                                detail::SteadyTime deadline, Milliseconds idle, std::size_t limit)
{
    std::optional<std::uint64_t> length;
    if (!parser.is_done())
        if (const auto declared = parser.content_length())
            length = *declared;
    if (out && length && *length > limit)
        throw_body_too_large(c, parser, limit);
    // Read straight into the caller's string, a declared length in one
    // piece: no bounce buffer (it made every request's coroutine frame
    // 16 KiB larger) and no copy. A discarded body reuses one scratch piece.
    std::string scratch;
    std::string& dst = out ? *out : scratch;
    std::uint64_t got = 0;
    while (!parser.is_done()) {
        std::size_t want = piece_size;
        if (out && length && *length > got)
            want = static_cast<std::size_t>(*length - got);
        const std::size_t have = dst.size();
        dst.resize(have + want);
        parser.get().body().data = dst.data() + have;
        parser.get().body().size = want;
        co_await c.read_some(parser, deadline, idle);
        const std::size_t n = want - parser.get().body().size;
        dst.resize(have + n);
        got += n;
        if (!out)
            scratch.clear();
        else if (dst.size() > limit)
            throw_body_too_large(c, parser, limit);
    }
}

} // namespace

HttpClient::HttpClient(asio::any_io_executor ex, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options)))
{
}

HttpClient::~HttpClient() = default;

const HttpClientOptions& HttpClient::options() const noexcept
{
    return impl_->options;
}

HttpClientStats HttpClient::stats() const
{
    const auto& c = impl_->counters;
    const auto opening = impl_->pool->opening_stats();
    return {
        c.connections_opened.load(), c.tls_handshakes.load(), c.requests_sent.load(), c.retries.load(), opening.queued,
        opening.peak_waiting};
}

asio::awaitable<HttpResponse> HttpClient::request(HttpRequest req)
{
    const std::shared_ptr<Impl> impl = impl_; // the client may be destroyed while this runs
    const auto cs = co_await asio::this_coro::cancellation_state;
    Prepared p = impl->prepare(req);
    for (int retries = 0;; ++retries) {
        detail::RetryDecision decision;
        std::exception_ptr failure;
        {
            detail::ConnectionPool::Lease lease;
            std::unique_ptr<detail::ResponseParser> parser;
            try {
                const detail::SteadyTime deadline = detail::deadline_after(p.timeout);
                co_await impl->send(p, lease, parser, deadline);
                HttpResponse resp;
                // Too large throws past the retry below; the lease, without
                // keep_alive, closes the connection half-way through that body.
                co_await read_body(*lease.connection, *parser, &resp.body, deadline, p.idle, p.max_body);
                lease.keep_alive = parser->keep_alive();
                const auto& h = parser->get();
                resp.status = static_cast<int>(h.result_int());
                resp.headers = copy_headers(h);
                resp.attempts = retries + 1;
                decision = detail::decide_retry(impl->options.retry, retries, p.max_retries, retry_info(h),
                                                std::chrono::system_clock::now(), impl->random01());
                if (!decision.retry)
                    co_return resp;
            } catch (const HttpTransportError&) {
                failure = std::current_exception();
            }
        }
        co_await impl->before_retry(failure, decision, retries, p.max_retries, cs);
    }
}

asio::awaitable<HttpStream> HttpClient::stream(HttpRequest req)
{
    const std::shared_ptr<Impl> impl = impl_;
    const auto cs = co_await asio::this_coro::cancellation_state;
    Prepared p = impl->prepare(req);
    for (int retries = 0;; ++retries) {
        detail::RetryDecision decision;
        std::exception_ptr failure;
        {
            auto s = std::make_unique<HttpStream::Impl>();
            try {
                const detail::SteadyTime deadline = detail::deadline_after(p.timeout);
                co_await impl->send(p, s->lease, s->parser, deadline);
                const auto& h = s->parser->get();
                decision = detail::decide_retry(impl->options.retry, retries, p.max_retries, retry_info(h),
                                                std::chrono::system_clock::now(), impl->random01());
                if (!decision.retry) {
                    s->status = static_cast<int>(h.result_int());
                    s->headers = copy_headers(h);
                    s->idle = p.idle;
                    co_return HttpStream(std::move(s));
                }
                // An error body is short: read it so the connection stays usable.
                co_await read_body(*s->lease.connection, *s->parser, nullptr, deadline, p.idle, 0);
                s->lease.keep_alive = s->parser->keep_alive();
            } catch (const HttpTransportError&) {
                failure = std::current_exception();
            }
        }
        co_await impl->before_retry(failure, decision, retries, p.max_retries, cs);
    }
}

HttpStream::HttpStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpStream::HttpStream(HttpStream&&) noexcept = default;
HttpStream& HttpStream::operator=(HttpStream&&) noexcept = default;
HttpStream::~HttpStream() = default;

int HttpStream::status() const noexcept
{
    return impl_ ? impl_->status : 0;
}

const Headers& HttpStream::headers() const noexcept
{
    static const Headers none;
    return impl_ ? impl_->headers : none;
}

std::optional<std::string_view> HttpStream::header(std::string_view name) const
{
    return find_header(headers(), name);
}

asio::awaitable<std::optional<std::string>> HttpStream::read_some()
{
    if (!impl_ || impl_->done)
        co_return std::nullopt;
    const auto cs = co_await asio::this_coro::cancellation_state;
    auto& s = *impl_;
    if (!s.lease.connection) // a previous read failed
        throw HttpTransportError(make_error_code(std::errc::not_connected), "the stream's connection was closed");
    auto& parser = *s.parser;
    while (!parser.is_done()) {
        parser.get().body().data = s.buffer.data();
        parser.get().body().size = s.buffer.size();
        bool failed = false;
        try {
            co_await s.lease.connection->read_some(parser, detail::SteadyTime::max(), s.idle);
        } catch (const HttpTransportError&) {
            failed = true;
            s.lease.connection.reset();
            if (!cancelled(cs))
                throw;
        }
        if (failed)
            throw_aborted();
        const std::size_t n = s.buffer.size() - parser.get().body().size;
        if (n > 0)
            co_return std::string(s.buffer.data(), n);
    }
    s.done = true;
    s.lease.keep_alive = parser.keep_alive();
    s.lease = {}; // back to the pool now, not when the stream object dies
    co_return std::nullopt;
}

} // namespace stirrup::net
