// The streamable HTTP transport (MCP 2025-03-26 and later): every message is
// a POST, answered by 202, a JSON body, or an event stream carrying the
// answer (and whatever the server sends first); a GET stream carries what
// the server sends on its own; DELETE ends the session.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/tools/mcp/detail/http_common.hpp"

namespace stirrup::detail::mcp {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kPostAccept = "application/json, text/event-stream";
constexpr int kGetStreamAttempts = 3;

// A session id is visible ASCII (the spec's rule), so it is safe to send back
// as a header whatever else the server put in it.
bool valid_session_id(std::string_view id)
{
    if (id.empty() || id.size() > 1024)
        return false;
    for (unsigned char c : id)
        if (c < 0x21 || c > 0x7e)
            return false;
    return true;
}

bool answers(const std::vector<Message>& messages, const json::value& id)
{
    for (const auto& m : messages)
        if ((m.kind == MessageKind::result || m.kind == MessageKind::error) && m.id == id)
            return true;
    return false;
}

// State the GET stream's coroutine shares with the transport.
struct Shared {
    explicit Shared(asio::any_io_executor ex) : inbox(ex) {}
    Inbox inbox;
    std::mutex mutex;
    std::optional<std::string> session_id;
    std::string protocol_version;
    bool closed = false;
};

class StreamableHttpTransport final : public Transport {
public:
    StreamableHttpTransport(McpServerConfig config, TransportContext context)
        : config_(std::move(config)), context_(std::move(context)), shared_(std::make_shared<Shared>(context_.executor))
    {
    }

    asio::awaitable<void> open() override { co_return; }

    bool answers_on_send() const override { return true; }

    asio::awaitable<void> send(std::string message, const json::value* request_id) override
    {
        net::HttpRequest req = base_request("POST", kPostAccept);
        req.headers.emplace_back("Content-Type", "application/json");
        req.body = std::move(message);
        net::HttpStream stream = co_await open_stream(std::move(req), "a POST");
        if (auto sid = stream.header("Mcp-Session-Id")) {
            if (!valid_session_id(*sid))
                throw McpError("MCP server '" + config_.name + "' sent an invalid Mcp-Session-Id");
            std::lock_guard lock(shared_->mutex);
            shared_->session_id = std::string(*sid);
        }
        const int status = stream.status();
        if (status == 404 && has_session()) {
            // The server forgot the session: this connection is over, and
            // the next call starts a new one.
            shared_->inbox.fail("MCP server '" + config_.name + "' ended the session (HTTP 404)");
            throw McpError("MCP server '" + config_.name + "' ended the session (HTTP 404)");
        }
        if (status < 200 || status > 299) {
            McpError refusal = co_await refused(stream, config_.name, "a message");
            throw refusal;
        }
        if (status == 202 || !request_id) {
            co_await drain(stream);
            co_return;
        }
        const std::string type = media_type(stream.header("Content-Type"));
        if (type == "application/json") {
            std::string body;
            try {
                body = co_await read_body(stream, config_.max_message_bytes, config_.name);
            } catch (const net::HttpTransportError& e) {
                throw transport_failure(config_.name, "reading an answer", e);
            }
            Inbound in;
            in.messages = parse_messages(body);
            const bool answered = answers(in.messages, *request_id);
            shared_->inbox.push(std::move(in));
            if (!answered)
                throw McpError("MCP server '" + config_.name + "' answered the POST of request " +
                               id_text(*request_id) + " with JSON that is not its response");
            co_return;
        }
        if (type == "text/event-stream") {
            bool answered = false;
            const std::function<bool(net::detail::SseEvent&)> deliver = [&](net::detail::SseEvent& e) {
                // Empty events (2025-11-25 servers open each stream with one)
                // and other types carry no message.
                if (e.type != "message" || e.data.empty())
                    return true;
                Inbound in;
                in.messages = parse_messages(e.data);
                answered = answers(in.messages, *request_id);
                shared_->inbox.push(std::move(in));
                return !answered;
            };
            std::string broke;
            try {
                co_await read_events(stream, config_.max_message_bytes, config_.name, deliver);
            } catch (const McpError& e) {
                broke = e.what();
            }
            if (!answered)
                throw McpError("MCP server '" + config_.name + "' closed the event stream of request " +
                               id_text(*request_id) + " before answering it" +
                               (broke.empty() ? "" : " (" + broke + ")"));
            co_return;
        }
        throw McpError("MCP server '" + config_.name + "' answered with Content-Type '" +
                       std::string(stream.header("Content-Type").value_or("")) +
                       "', which is neither JSON nor an event stream");
    }

    asio::awaitable<std::optional<Inbound>> receive() override { return shared_->inbox.pop(); }

    void initialized(std::string protocol_version) override
    {
        {
            std::lock_guard lock(shared_->mutex);
            shared_->protocol_version = std::move(protocol_version);
        }
        get_cancel_ = std::make_shared<asio::cancellation_signal>();
        asio::co_spawn(context_.executor, get_stream(shared_, config_, context_.http, context_.log, get_cancel_),
                       asio::bind_cancellation_slot(get_cancel_->slot(), asio::detached));
    }

    asio::awaitable<void> close() override
    {
        co_await asio::this_coro::reset_cancellation_state();
        {
            std::lock_guard lock(shared_->mutex);
            if (shared_->closed)
                co_return;
            shared_->closed = true;
        }
        if (get_cancel_)
            get_cancel_->emit(asio::cancellation_type::terminal);
        shared_->inbox.close();
        if (config_.terminate_on_close && has_session()) {
            try {
                net::HttpRequest req = base_request("DELETE", "application/json, text/event-stream");
                req.timeout = config_.http_timeout;
                auto raced = co_await race_for(context_.http->request(std::move(req)), config_.http_timeout);
                (void)raced; // 405: the server keeps sessions itself; anything else changes nothing here
            } catch (...) {
            }
        }
    }

private:
    bool has_session() const
    {
        std::lock_guard lock(shared_->mutex);
        return shared_->session_id.has_value();
    }

    net::HttpRequest base_request(std::string method, std::string_view accept) const
    {
        return make_request(*shared_, config_, std::move(method), accept);
    }

    static net::HttpRequest make_request(Shared& shared, const McpServerConfig& config, std::string method,
                                         std::string_view accept)
    {
        net::HttpRequest req;
        req.method = std::move(method);
        req.url = config.url;
        {
            std::lock_guard lock(shared.mutex);
            req.headers = request_headers(config, accept, shared.session_id, shared.protocol_version);
        }
        // Not retried: a tools/call sent twice may act twice.
        req.max_retries = 0;
        // An answer may take as long as the tool runs: the call's own timeout
        // bounds it; this only bounds the server's silence.
        req.timeout = std::chrono::hours(24 * 365);
        req.idle_timeout = config.sse_read_timeout;
        return req;
    }

    asio::awaitable<net::HttpStream> open_stream(net::HttpRequest req, std::string_view what)
    {
        try {
            co_return co_await context_.http->stream(std::move(req));
        } catch (const net::HttpTransportError& e) {
            throw transport_failure(config_.name, what, e);
        } catch (const net::HttpResponseTooLarge& e) {
            throw transport_failure(config_.name, what, e);
        }
    }

    static asio::awaitable<void> drain(net::HttpStream& stream)
    {
        try {
            while (co_await stream.read_some()) {
            }
        } catch (const net::HttpTransportError&) {
        }
    }

    // The server's own stream. A server without one answers 405; one that
    // breaks is opened again a few times, then given up (requests still work).
    // `keep` holds the signal whose slot the stream's reads are bound to: it
    // must outlive them, and the transport may be gone first.
    static asio::awaitable<void> get_stream(std::shared_ptr<Shared> shared, McpServerConfig config,
                                            std::shared_ptr<net::HttpClient> http, LogFn log,
                                            std::shared_ptr<asio::cancellation_signal> keep)
    {
        (void)keep;
        int failures = 0;
        while (failures < kGetStreamAttempts) {
            try {
                net::HttpRequest req = make_request(*shared, config, "GET", "text/event-stream");
                net::HttpStream stream = co_await http->stream(std::move(req));
                if (stream.status() != 200 || media_type(stream.header("Content-Type")) != "text/event-stream") {
                    if (stream.status() != 405 && log)
                        log(LogLevel::debug, "no server stream: HTTP " + std::to_string(stream.status()));
                    co_return;
                }
                failures = 0;
                const std::function<bool(net::detail::SseEvent&)> deliver = [&](net::detail::SseEvent& e) {
                    if (e.type == "message" && !e.data.empty()) {
                        Inbound in;
                        in.messages = parse_messages(e.data);
                        shared->inbox.push(std::move(in));
                    }
                    return true;
                };
                co_await read_events(stream, config.max_message_bytes, config.name, deliver);
            } catch (const boost::system::system_error& e) {
                if (e.code() == asio::error::operation_aborted)
                    co_return;
            } catch (const std::exception& e) {
                if (log)
                    log(LogLevel::debug, std::string("server stream: ") + e.what());
            }
            {
                std::lock_guard lock(shared->mutex);
                if (shared->closed)
                    co_return;
            }
            ++failures;
            asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::seconds(1));
            co_await pause.async_wait(asio::use_awaitable);
        }
    }

    McpServerConfig config_;
    TransportContext context_;
    std::shared_ptr<Shared> shared_;
    std::shared_ptr<asio::cancellation_signal> get_cancel_;
};

} // namespace

std::unique_ptr<Transport> make_streamable_http_transport(const McpServerConfig& config, TransportContext context)
{
    return std::make_unique<StreamableHttpTransport>(config, std::move(context));
}

} // namespace stirrup::detail::mcp
