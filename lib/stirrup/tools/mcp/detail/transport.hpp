#pragma once
// One connection to an MCP server, whatever carries it (a child process's
// pipes, HTTP requests and event streams, a WebSocket). The client above
// speaks JSON-RPC through it and never learns which it is.
//
// Threading: send() may be called from any thread; receive() is called by one
// reader at a time, and open(), initialized() and close() by the connection's
// owner, on the executor given at construction (a strand on a multi-threaded
// io_context).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/log_level.hpp"
#include "stirrup/tools/mcp/detail/jsonrpc.hpp"
#include "stirrup/tools/mcp/mcp_config.hpp"
#include "stirrup/tools/mcp/mcp_error.hpp"

namespace stirrup::net {
class HttpClient;
}

namespace stirrup::detail::mcp {

/// What the server sent: messages, or news that a request's answer cannot
/// come (its response stream broke).
struct Inbound {
    std::vector<Message> messages;
    std::optional<boost::json::value> failed_request;
    std::string failure;
};

class Transport {
public:
    virtual ~Transport() = default;

    /// Starts the process or opens the connection. Throws McpError.
    virtual boost::asio::awaitable<void> open() = 0;
    /// Whether send() of a request returns only with its answer (streamable
    /// HTTP reads the POST's answer inline): then the client bounds send()
    /// itself by the request's timeout.
    virtual bool answers_on_send() const { return false; }
    /// Sends one message. `request_id` is set for a request (streamable HTTP
    /// may answer it on the POST's own stream). Throws McpError when the
    /// message could not be delivered.
    virtual boost::asio::awaitable<void> send(std::string message, const boost::json::value* request_id) = 0;
    /// The next thing the server sent; nullopt when the connection ended.
    /// Throws McpError when it broke (the reason in what()).
    virtual boost::asio::awaitable<std::optional<Inbound>> receive() = 0;
    /// After initialize: the negotiated version, which HTTP sends back on
    /// every request, and the moment to open a server-to-client stream.
    virtual void initialized(std::string /*protocol_version*/) {}
    /// Ends the connection; bounded in time, never throws. Pending receive()
    /// and send() fail.
    virtual boost::asio::awaitable<void> close() = 0;
};

using LogFn = std::function<void(LogLevel, std::string_view)>;

struct TransportContext {
    boost::asio::any_io_executor executor;
    std::shared_ptr<net::HttpClient> http;
    LogFn log;
};

std::unique_ptr<Transport> make_stdio_transport(const McpServerConfig& config, TransportContext context);
std::unique_ptr<Transport> make_streamable_http_transport(const McpServerConfig& config, TransportContext context);
std::unique_ptr<Transport> make_sse_transport(const McpServerConfig& config, TransportContext context);
std::unique_ptr<Transport> make_websocket_transport(const McpServerConfig& config, TransportContext context);

} // namespace stirrup::detail::mcp
