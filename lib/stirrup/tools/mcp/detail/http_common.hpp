#pragma once
// What the two HTTP transports (streamable HTTP, legacy HTTP+SSE) share: the
// queue of what the server sent, the reading of an event stream into it,
// and the checks of an answer's status and type.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include "stirrup/net/detail/sse_parser.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/tools/mcp/detail/transport.hpp"

namespace stirrup::detail::mcp {

/// What the server sent, in order, from any number of streams; closed when
/// the transport closes. A `failure` without `failed_request` ends the
/// connection.
class Inbox {
public:
    explicit Inbox(boost::asio::any_io_executor ex);
    /// Never blocks: the queue is unbounded (each message is bounded, and
    /// the reader loop drains it without waiting on anything else).
    void push(Inbound in);
    void fail(std::string why);
    /// nullopt once closed; throws McpError on a connection failure.
    boost::asio::awaitable<std::optional<Inbound>> pop();
    void close();

private:
    using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, Inbound)>;
    std::shared_ptr<Channel> channel_;
};

/// The headers of every request: the configured ones and the session's.
net::Headers request_headers(const McpServerConfig& config, std::string_view accept,
                             const std::optional<std::string>& session_id, std::string_view protocol_version);

/// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::optional<std::string_view> content_type);

/// Reads a body to its end, at most `limit` bytes. Throws McpError past it.
boost::asio::awaitable<std::string> read_body(net::HttpStream& stream, std::size_t limit, std::string_view server);

/// A refused answer's error: the status and the start of its body.
boost::asio::awaitable<McpError> refused(net::HttpStream& stream, std::string_view server, std::string_view what);

/// Reads an event stream to its end, calling `on_event` for each event;
/// `on_event` returns false to stop early. Throws McpError when the stream
/// breaks or an event is larger than `limit`.
boost::asio::awaitable<void> read_events(net::HttpStream& stream, std::size_t limit, std::string_view server,
                                         const std::function<bool(net::detail::SseEvent&)>& on_event);

/// McpError for a transport failure of an HTTP request.
McpError transport_failure(std::string_view server, std::string_view what, const std::exception& e);

} // namespace stirrup::detail::mcp
