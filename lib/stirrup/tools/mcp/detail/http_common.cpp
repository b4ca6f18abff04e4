#include "stirrup/tools/mcp/detail/http_common.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/detail/ascii.hpp"

namespace stirrup::detail::mcp {
namespace asio = boost::asio;

Inbox::Inbox(asio::any_io_executor ex) : channel_(std::make_shared<Channel>(std::move(ex), 1 << 20)) {}

void Inbox::push(Inbound in)
{
    channel_->try_send(boost::system::error_code{}, std::move(in));
}

void Inbox::fail(std::string why)
{
    Inbound in;
    in.failure = std::move(why);
    push(std::move(in));
}

asio::awaitable<std::optional<Inbound>> Inbox::pop()
{
    auto channel = channel_;
    auto [ec, in] = co_await channel->async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted)
        throw boost::system::system_error(ec);
    if (ec)
        co_return std::nullopt;
    if (!in.failure.empty() && !in.failed_request)
        throw McpError(in.failure);
    co_return std::move(in);
}

void Inbox::close()
{
    channel_->close();
}

net::Headers request_headers(const McpServerConfig& config, std::string_view accept,
                             const std::optional<std::string>& session_id, std::string_view protocol_version)
{
    net::Headers h = config.headers;
    h.emplace_back("Accept", std::string(accept));
    if (session_id)
        h.emplace_back("Mcp-Session-Id", *session_id);
    if (!protocol_version.empty())
        h.emplace_back("MCP-Protocol-Version", std::string(protocol_version));
    return h;
}

std::string media_type(std::optional<std::string_view> content_type)
{
    if (!content_type)
        return {};
    std::string_view v = *content_type;
    v = v.substr(0, v.find(';'));
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    return ascii::to_lower(v);
}

asio::awaitable<std::string> read_body(net::HttpStream& stream, std::size_t limit, std::string_view server)
{
    std::string body;
    while (auto piece = co_await stream.read_some()) {
        if (body.size() + piece->size() > limit)
            throw McpError("MCP server '" + std::string(server) + "' sent a message larger than " +
                           std::to_string(limit) + " bytes");
        body += *piece;
    }
    co_return body;
}

asio::awaitable<McpError> refused(net::HttpStream& stream, std::string_view server, std::string_view what)
{
    std::string start;
    try {
        while (start.size() < 300) {
            auto piece = co_await stream.read_some();
            if (!piece)
                break;
            start += *piece;
        }
    } catch (const std::exception&) {
        // The status says enough.
    }
    if (start.size() > 300)
        start.resize(300);
    std::string text = "MCP server '" + std::string(server) + "' refused " + std::string(what) + ": HTTP " +
                       std::to_string(stream.status());
    if (!start.empty())
        text += ": " + start;
    co_return McpError(text);
}

asio::awaitable<void> read_events(net::HttpStream& stream, std::size_t limit, std::string_view server,
                                  const std::function<bool(net::detail::SseEvent&)>& on_event)
{
    net::detail::SseParser parser(net::detail::SseParserOptions{limit});
    std::vector<net::detail::SseEvent> events;
    for (;;) {
        std::optional<std::string> piece;
        try {
            piece = co_await stream.read_some();
        } catch (const net::HttpTransportError& e) {
            throw transport_failure(server, "its event stream", e);
        }
        if (!piece)
            co_return;
        events.clear();
        try {
            parser.feed(*piece, events);
        } catch (const net::detail::SseEventTooLarge&) {
            throw McpError("MCP server '" + std::string(server) + "' sent an event larger than " +
                           std::to_string(limit) + " bytes");
        }
        for (auto& e : events)
            if (!on_event(e))
                co_return;
    }
}

McpError transport_failure(std::string_view server, std::string_view what, const std::exception& e)
{
    return McpError("MCP server '" + std::string(server) + "': " + std::string(what) + " failed: " + e.what());
}

} // namespace stirrup::detail::mcp
