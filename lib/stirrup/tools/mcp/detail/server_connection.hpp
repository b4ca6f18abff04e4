#pragma once
// One MCP server as every session sees it: connected once, its requests
// multiplexed by JSON-RPC id, each bounded by a timeout that cancels it on
// the server too, and reconnected once by the next call after it was lost.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/limiter.hpp"
#include "stirrup/tools/mcp/detail/protocol.hpp"
#include "stirrup/tools/mcp/detail/transport.hpp"
#include "stirrup/tools/mcp/mcp_config.hpp"

namespace stirrup::detail::mcp {

/// Reports a request's progress notifications (progress, total, message).
using ProgressFn = std::function<void(std::string_view)>;

struct ConnectionOptions {
    std::string client_name;
    std::string client_version;
    std::shared_ptr<net::HttpClient> http;
    /// Server-wide log lines, already prefixed with nothing: the server's
    /// name is given separately.
    std::function<void(LogLevel, std::string_view server, std::string_view text)> log;
};

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
public:
    struct Pending;

    ServerConnection(McpServerConfig config, boost::asio::any_io_executor ex, ConnectionOptions options);
    ~ServerConnection();

    const McpServerConfig& config() const noexcept { return config_; }
    bool connected() const;
    /// The server's tools, as listed when it was last connected.
    std::vector<ToolInfo> tools() const;
    const ServerInfo& server_info() const { return info_; }

    /// Connects when not connected (one attempt, shared by concurrent
    /// callers). Throws McpError naming the server.
    boost::asio::awaitable<void> connect();
    /// One request and its answer's result. Throws McpRpcError for an error
    /// answer, McpError when the connection is lost or `timeout` passes
    /// (the server is then sent notifications/cancelled, as it is when the
    /// caller cancels).
    boost::asio::awaitable<boost::json::value> request(std::string method, boost::json::value params,
                                                       std::chrono::milliseconds timeout, ProgressFn progress = {});
    /// Closes the connection; never throws.
    boost::asio::awaitable<void> close();

    /// Requests in flight (for tests and stats).
    std::size_t in_flight() const;

private:
    using TransportPtr = std::shared_ptr<Transport>;

    boost::asio::awaitable<void> open_on_strand();
    boost::asio::awaitable<void> close_on_strand();
    boost::asio::awaitable<void> read_loop(TransportPtr t, std::uint64_t generation);
    boost::asio::awaitable<boost::json::value> request_on(TransportPtr t, std::string method, boost::json::value params,
                                                          std::chrono::milliseconds timeout, ProgressFn progress);
    boost::asio::awaitable<void> sweep(std::shared_ptr<boost::asio::steady_timer> timer, std::uint64_t generation);
    /// The request waiting for this id, taken out of the table; null if none.
    std::shared_ptr<Pending> take_pending(const boost::json::value& id);
    void handle(const Inbound& in, const TransportPtr& t);
    void handle_notification(const Message& m);
    void lost(std::uint64_t generation, const std::string& reason);
    void send_detached(TransportPtr t, std::string message);
    void log(LogLevel level, std::string_view text) const;
    std::unique_ptr<Transport> make_transport();

    McpServerConfig config_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    ConnectionOptions options_;
    AsyncSemaphore gate_{1};

    mutable std::mutex mutex_;
    TransportPtr transport_;
    bool connected_ = false;
    std::uint64_t generation_ = 0;
    std::int64_t next_id_ = 1;
    std::map<std::int64_t, std::shared_ptr<Pending>> pending_;
    std::vector<ToolInfo> tools_;
    /// The current connection's sweeper (fails requests past their deadline).
    std::shared_ptr<boost::asio::steady_timer> sweep_timer_;
    ServerInfo info_;
};

} // namespace stirrup::detail::mcp
