#pragma once
// Which MCP servers to use and how to reach them: Stirrup's mcp.json
// (`{"mcpServers": {"NAME": {...}}}`) and the same thing built in code.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/net/http_options.hpp"

namespace stirrup {

/// How the client reaches a server, inferred from its entry as Stirrup does:
/// `command` is stdio; a `ws://`/`wss://` url is WebSocket; a url whose path
/// ends in `/sse` is the legacy HTTP+SSE transport; any other url is
/// streamable HTTP.
enum class McpTransport { stdio, sse, streamable_http, websocket };

std::string_view to_string(McpTransport t) noexcept;

struct McpServerConfig {
    /// The key in mcpServers; the prefix of its tools' names (`NAME__TOOL`).
    std::string name;
    McpTransport transport = McpTransport::stdio;

    // stdio
    std::string command;
    std::vector<std::string> args;
    /// Added to the few variables a server inherits (HOME, LOGNAME, PATH,
    /// SHELL, TERM, USER, as the official SDKs do): the service's own secrets
    /// are not passed to a server unless listed here.
    std::map<std::string, std::string> env;
    std::optional<std::filesystem::path> cwd;

    // sse, streamable_http, websocket
    std::string url;
    net::Headers headers;

    /// HTTP transports: one request (Stirrup's `timeout`: 5 s for SSE, 30 s
    /// for streamable HTTP), and the longest silence on an event stream
    /// (`sse_read_timeout`, 300 s).
    std::chrono::milliseconds http_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds sse_read_timeout{std::chrono::seconds(300)};
    /// Streamable HTTP: DELETE the session when the connection is closed.
    bool terminate_on_close = true;

    /// One tools/call, from sending it to its answer. Past it the call fails
    /// (a tool error the model sees) and the server is sent
    /// notifications/cancelled.
    std::chrono::milliseconds call_timeout{std::chrono::seconds(60)};
    /// Connecting: spawning or opening the connection, initialize, tools/list.
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    /// stdio: after stdin is closed, how long the server has to exit before
    /// SIGTERM, and again before SIGKILL of its process group.
    std::chrono::milliseconds stop_grace{std::chrono::seconds(2)};
    /// The largest message accepted from the server (a stdio line, an SSE
    /// event, an HTTP body, a WebSocket message). A larger one is an error
    /// and the connection is dropped.
    std::size_t max_message_bytes = 32 * 1024 * 1024;
};

struct McpConfig {
    std::vector<McpServerConfig> servers;

    /// Parses mcp.json text. `${VAR}` anywhere in a string is replaced by
    /// `lookup(VAR)`; a variable it does not know is an error naming it.
    /// `server_names` selects servers (in that order); empty: all of them,
    /// in the file's order. Throws ConfigError.
    static McpConfig parse(std::string_view json_text, const std::vector<std::string>& server_names = {},
                           const std::function<std::optional<std::string>(std::string_view)>& lookup = {});
    /// Reads and parses a file; variables come from the process environment.
    static McpConfig load(const std::filesystem::path& path, const std::vector<std::string>& server_names = {});
};

} // namespace stirrup
