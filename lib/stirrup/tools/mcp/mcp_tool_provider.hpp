#pragma once
// The tools of Model Context Protocol servers as agent tools: Stirrup's
// MCPToolProvider. Each server's tool `T` becomes a tool named `SERVER__T`.
//
// One provider may serve many concurrent sessions: each server is started
// (or connected to) once, when the first session starts, and its requests
// are multiplexed by JSON-RPC id; it is closed when the last session ends.
//
//   auto mcp = stirrup::McpToolProvider::from_config(ex, "mcp.json");
//   stirrup::Agent agent{client, "assistant", {.tools = {mcp}}};

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/core/log_level.hpp"
#include "stirrup/core/tool.hpp"
#include "stirrup/net/http_options.hpp"
#include "stirrup/tools/mcp/mcp_config.hpp"
#include "stirrup/tools/mcp/mcp_error.hpp"

namespace stirrup {

namespace net {
class HttpClient;
}

struct McpOptions {
    /// Sent in initialize's clientInfo.
    std::string client_name = "stirrup-cpp";
    std::string client_version = "0.1.0";
    /// Server-wide lines (a server's notifications/message, its stderr, a
    /// message it sent that could not be read). Progress of a tool call goes
    /// to the calling session's logger instead. Unset: dropped.
    std::function<void(LogLevel, std::string_view server, std::string_view text)> log;
    /// The HTTP client of the HTTP transports; unset: one made for the
    /// provider with `http`.
    std::shared_ptr<net::HttpClient> http_client;
    net::HttpClientOptions http;
};

/// What the provider knows of one server's tool (for services that list them).
struct McpToolInfo {
    std::string server;
    std::string name;
    std::optional<std::string> description;
    boost::json::value input_schema;
};

class McpToolProvider : public ToolProvider, public std::enable_shared_from_this<McpToolProvider> {
public:
    struct Impl;

    static std::shared_ptr<McpToolProvider> make(boost::asio::any_io_executor ex, McpConfig config,
                                                 McpOptions options = {});
    /// Stirrup's MCPToolProvider.from_config(path, server_names).
    static std::shared_ptr<McpToolProvider> from_config(boost::asio::any_io_executor ex,
                                                        const std::filesystem::path& path,
                                                        const std::vector<std::string>& server_names = {},
                                                        McpOptions options = {});
    ~McpToolProvider() override;

    std::string name() const override { return "MCPToolProvider"; }
    boost::asio::awaitable<std::unique_ptr<StartedTools>> start(CodeExecProvider* exec_env) const override;

    // Standalone use, without an agent: connect() ... tools() / call_tool() ... close().

    /// Connects to every server (at once), or joins the connection that is
    /// there. Counted: each connect() needs its close(). Throws McpError,
    /// naming the server, when any fails (the others are closed again).
    boost::asio::awaitable<void> connect();
    /// Drops one connect(); the last one closes every server (stdio: stdin
    /// closed, then SIGTERM, then SIGKILL of its process group; HTTP: the
    /// session deleted). Never throws.
    boost::asio::awaitable<void> close();
    /// The agent tools (`SERVER__TOOL`) of the connected servers.
    std::vector<Tool> tools() const;
    std::vector<McpToolInfo> tool_infos() const;
    /// Calls a server's tool, arguments checked against its schema first.
    /// Returns the content as a session would show it; `is_error` results
    /// and failures throw McpError.
    boost::asio::awaitable<Content> call_tool(std::string_view server, std::string_view tool,
                                              boost::json::object arguments);

    explicit McpToolProvider(std::shared_ptr<Impl> impl);

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace stirrup
