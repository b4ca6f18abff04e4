// The legacy HTTP+SSE transport (MCP 2024-11-05): one GET event stream
// carries everything the server sends; its first event, "endpoint", names
// the URL the client POSTs its messages to.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "stirrup/tools/mcp/detail/http_common.hpp"

namespace stirrup::detail::mcp {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The endpoint must be on the stream's own origin: a server (or whatever
// injected the event) must not make the client post its messages, with the
// configured headers and their credentials, elsewhere.
std::string resolve_endpoint(const std::string& base_text, const std::string& endpoint, const std::string& server)
{
    auto base = boost::urls::parse_uri(base_text);
    auto ref = boost::urls::parse_uri_reference(endpoint);
    if (!base || !ref)
        throw McpError("MCP server '" + server + "' sent an endpoint that is not a URL: " + endpoint);
    boost::urls::url out;
    if (auto r = boost::urls::resolve(*base, *ref, out); !r)
        throw McpError("MCP server '" + server + "' sent an endpoint that cannot be resolved: " + endpoint);
    const auto port_of = [](const auto& u) {
        if (u.has_port())
            return std::string(u.port());
        return std::string(u.scheme() == "https" ? "443" : "80");
    };
    if (out.scheme() != base->scheme() || out.encoded_host() != base->encoded_host() || port_of(out) != port_of(*base))
        throw McpError("MCP server '" + server + "' sent an endpoint on another origin: " + endpoint);
    return std::string(out.buffer());
}

class SseTransport final : public Transport {
public:
    SseTransport(McpServerConfig config, TransportContext context)
        : config_(std::move(config)), context_(std::move(context)), inbox_(std::make_shared<Inbox>(context_.executor))
    {
    }

    asio::awaitable<void> open() override
    {
        net::HttpRequest req;
        req.method = "GET";
        req.url = config_.url;
        req.headers = request_headers(config_, "text/event-stream", std::nullopt, "");
        req.max_retries = 0;
        req.timeout = config_.http_timeout;
        req.idle_timeout = config_.sse_read_timeout;
        std::optional<net::HttpStream> stream;
        try {
            stream.emplace(co_await context_.http->stream(std::move(req)));
        } catch (const net::HttpTransportError& e) {
            throw transport_failure(config_.name, "opening the event stream", e);
        }
        if (stream->status() != 200) {
            McpError refusal = co_await refused(*stream, config_.name, "the event stream");
            throw refusal;
        }
        if (media_type(stream->header("Content-Type")) != "text/event-stream")
            throw McpError("MCP server '" + config_.name + "' answered the event stream's GET with Content-Type '" +
                           std::string(stream->header("Content-Type").value_or("")) + "'");
        // The parser must survive from the endpoint event to the rest of the
        // stream, so the reading loop owns both from here on.
        auto reader = std::make_shared<Reader>(std::move(*stream), config_.max_message_bytes);
        std::optional<std::string> endpoint;
        auto find_endpoint = [&](net::detail::SseEvent& e) {
            if (e.type != "endpoint")
                return true;
            endpoint = e.data;
            return false;
        };
        co_await reader->next(find_endpoint);
        if (!endpoint)
            throw McpError("MCP server '" + config_.name + "' closed the event stream before naming its endpoint");
        endpoint_ = resolve_endpoint(config_.url, *endpoint, config_.name);
        cancel_ = std::make_shared<asio::cancellation_signal>();
        asio::co_spawn(context_.executor, pump(reader, inbox_, config_.name, cancel_),
                       asio::bind_cancellation_slot(cancel_->slot(), asio::detached));
    }

    asio::awaitable<void> send(std::string message, const json::value*) override
    {
        net::HttpRequest req;
        req.method = "POST";
        req.url = endpoint_;
        req.headers = request_headers(config_, "application/json, text/event-stream", std::nullopt, "");
        req.headers.emplace_back("Content-Type", "application/json");
        req.body = std::move(message);
        req.max_retries = 0;
        req.timeout = config_.http_timeout;
        req.max_body_bytes = 64 * 1024;
        net::HttpResponse res;
        try {
            res = co_await context_.http->request(std::move(req));
        } catch (const net::HttpTransportError& e) {
            throw transport_failure(config_.name, "a POST", e);
        } catch (const net::HttpResponseTooLarge& e) {
            throw transport_failure(config_.name, "a POST", e);
        }
        if (res.status < 200 || res.status > 299) {
            std::string start = res.body.substr(0, 300);
            throw McpError("MCP server '" + config_.name + "' refused a message: HTTP " + std::to_string(res.status) +
                           (start.empty() ? "" : ": " + start));
        }
    }

    asio::awaitable<std::optional<Inbound>> receive() override { return inbox_->pop(); }

    asio::awaitable<void> close() override
    {
        if (closed_)
            co_return;
        closed_ = true;
        if (cancel_)
            cancel_->emit(asio::cancellation_type::terminal);
        inbox_->close();
        co_return;
    }

private:
    struct Reader {
        Reader(net::HttpStream s, std::size_t limit)
            : stream(std::move(s)), parser(net::detail::SseParserOptions{limit})
        {
        }
        net::HttpStream stream;
        net::detail::SseParser parser;
        std::vector<net::detail::SseEvent> events;
        std::size_t next_event = 0;

        // Calls `on_event` for each event until it returns false (the rest
        // stays for the next call); returns at the stream's end.
        template <class F>
        asio::awaitable<bool> next(F on_event)
        {
            for (;;) {
                while (next_event < events.size())
                    if (!on_event(events[next_event++]))
                        co_return true;
                events.clear();
                next_event = 0;
                auto piece = co_await stream.read_some();
                if (!piece)
                    co_return false;
                parser.feed(*piece, events);
            }
        }
    };

    // `keep` holds the signal whose slot the pump's reads are bound to: it
    // must outlive them, and the transport may be gone first.
    static asio::awaitable<void> pump(std::shared_ptr<Reader> reader, std::shared_ptr<Inbox> inbox, std::string server,
                                      std::shared_ptr<asio::cancellation_signal> keep)
    {
        (void)keep;
        try {
            auto deliver = [&](net::detail::SseEvent& e) {
                if (e.type == "message" && !e.data.empty()) {
                    Inbound in;
                    in.messages = parse_messages(e.data);
                    inbox->push(std::move(in));
                }
                return true;
            };
            co_await reader->next(deliver);
            inbox->fail("MCP server '" + server + "' closed its event stream");
        } catch (const boost::system::system_error& e) {
            if (e.code() != asio::error::operation_aborted)
                inbox->fail("MCP server '" + server + "': the event stream failed: " + e.what());
        } catch (const net::detail::SseEventTooLarge&) {
            inbox->fail("MCP server '" + server + "' sent an event larger than the limit");
        } catch (const std::exception& e) {
            inbox->fail("MCP server '" + server + "': the event stream failed: " + e.what());
        }
    }

    McpServerConfig config_;
    TransportContext context_;
    std::shared_ptr<Inbox> inbox_;
    std::string endpoint_;
    std::shared_ptr<asio::cancellation_signal> cancel_;
    bool closed_ = false;
};

} // namespace

std::unique_ptr<Transport> make_sse_transport(const McpServerConfig& config, TransportContext context)
{
    return std::make_unique<SseTransport>(config, std::move(context));
}

} // namespace stirrup::detail::mcp
