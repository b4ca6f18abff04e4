// The WebSocket transport: subprotocol "mcp", one JSON-RPC message per text
// message, both ways.
#include <boost/asio/this_coro.hpp>

#include "stirrup/net/websocket.hpp"
#include "stirrup/tools/mcp/detail/transport.hpp"

namespace stirrup::detail::mcp {
namespace asio = boost::asio;

namespace {

class WebSocketTransport final : public Transport {
public:
    WebSocketTransport(McpServerConfig config, TransportContext context)
        : config_(std::move(config)), context_(std::move(context))
    {
    }

    asio::awaitable<void> open() override
    {
        net::WebSocketOptions o;
        o.headers = config_.headers;
        o.subprotocols = {"mcp"};
        o.connect_timeout = config_.connect_timeout;
        o.handshake_timeout = config_.connect_timeout;
        // Calls may run for minutes without traffic; the client's pings keep
        // a live server from being taken for dead meanwhile.
        o.idle_timeout = config_.sse_read_timeout;
        o.max_message_bytes = config_.max_message_bytes;
        try {
            ws_ = co_await net::WebSocket::connect(context_.executor, config_.url, std::move(o));
            opened_ = true;
        } catch (const SystemError& e) {
            throw McpError("MCP server '" + config_.name + "': " + e.what());
        }
    }

    asio::awaitable<void> send(std::string message, const boost::json::value*) override
    {
        try {
            co_await ws_.send_text(std::move(message));
        } catch (const SystemError& e) {
            throw McpError("MCP server '" + config_.name + "': sending failed: " + e.what());
        }
    }

    asio::awaitable<std::optional<Inbound>> receive() override
    {
        std::optional<std::string> text;
        try {
            text = co_await ws_.receive();
        } catch (const SystemError& e) {
            throw McpError("MCP server '" + config_.name + "': " + e.what());
        }
        if (!text)
            co_return std::nullopt;
        Inbound in;
        in.messages = parse_messages(*text);
        co_return in;
    }

    asio::awaitable<void> close() override
    {
        co_await asio::this_coro::reset_cancellation_state();
        if (closed_ || !opened_)
            co_return;
        closed_ = true;
        co_await ws_.close();
    }

private:
    McpServerConfig config_;
    TransportContext context_;
    net::WebSocket ws_;
    bool opened_ = false;
    bool closed_ = false;
};

} // namespace

std::unique_ptr<Transport> make_websocket_transport(const McpServerConfig& config, TransportContext context)
{
    return std::make_unique<WebSocketTransport>(config, std::move(context));
}

} // namespace stirrup::detail::mcp
