#pragma once
// What the MCP tests share: configurations for the servers under
// tests/fakes/mcp/, a log sink and a tool context that record what they get.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value_from.hpp>

#include "stirrup/tools/mcp/mcp_tool_provider.hpp"

namespace stirrup::test {

// Tool arguments, built by a call rather than a braced list: GCC 12 cannot
// compile a braced list inside a co_await expression.
inline boost::json::object obj()
{
    return {};
}
template <class V>
boost::json::object obj(std::string_view k, const V& v)
{
    boost::json::object o;
    o[k] = boost::json::value_from(v);
    return o;
}
template <class V1, class V2>
boost::json::object obj(std::string_view k1, const V1& v1, std::string_view k2, const V2& v2)
{
    auto o = obj(k1, v1);
    o[k2] = boost::json::value_from(v2);
    return o;
}

inline std::string mcp_script(const std::string& name)
{
    return std::string(STIRRUP_SOURCE_DIR) + "/tests/fakes/mcp/" + name;
}

/// One stdio server running `node tests/fakes/mcp/SCRIPT args...`.
inline McpServerConfig node_stdio(std::string name, const std::string& script, std::vector<std::string> args = {})
{
    McpServerConfig s;
    s.name = std::move(name);
    s.command = "node";
    s.args.push_back(mcp_script(script));
    s.args.insert(s.args.end(), args.begin(), args.end());
    s.stop_grace = std::chrono::milliseconds(500);
    return s;
}

/// bad_server.mjs over stdio, as server "bad".
inline McpConfig bad_stdio(const std::string& mode, std::vector<std::string> extra = {})
{
    std::vector<std::string> args{"--mode", mode};
    args.insert(args.end(), extra.begin(), extra.end());
    McpConfig c;
    c.servers.push_back(node_stdio("bad", "bad_server.mjs", std::move(args)));
    return c;
}

/// A streamable HTTP (or, with a path ending in /sse, legacy SSE) server on localhost.
inline McpConfig http_config(std::string name, int port, const std::string& path = "/mcp")
{
    McpServerConfig s;
    s.name = std::move(name);
    s.url = "http://127.0.0.1:" + std::to_string(port) + path;
    s.transport =
        path.size() >= 4 && path.substr(path.size() - 4) == "/sse" ? McpTransport::sse : McpTransport::streamable_http;
    McpConfig c;
    c.servers.push_back(std::move(s));
    return c;
}

/// The provider's server-wide log, recorded.
class McpLog {
public:
    McpOptions options()
    {
        McpOptions o;
        o.log = [this](LogLevel, std::string_view server, std::string_view text) {
            std::lock_guard lock(mutex_);
            lines_.push_back(std::string(server) + ": " + std::string(text));
        };
        return o;
    }
    bool contains(std::string_view part) const
    {
        std::lock_guard lock(mutex_);
        for (const auto& l : lines_)
            if (l.find(part) != std::string::npos)
                return true;
        return false;
    }
    std::vector<std::string> lines() const
    {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// A session's side of a tool call: records what the tool logged.
class RecordingContext : public ToolContext {
public:
    CodeExecProvider* exec_env() const override { return nullptr; }
    int depth() const override { return 0; }
    void log(LogLevel, std::string_view text) override
    {
        std::lock_guard lock(mutex_);
        lines_.emplace_back(text);
    }
    bool contains(std::string_view part) const
    {
        std::lock_guard lock(mutex_);
        for (const auto& l : lines_)
            if (l.find(part) != std::string::npos)
                return true;
        return false;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// A path for a marker file that does not exist yet, removed afterwards.
struct ScratchFile {
    ScratchFile()
    {
        static std::atomic<int> n{0};
        path = (std::filesystem::temp_directory_path() /
                ("stirrup-mcp-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
                   .string();
        std::filesystem::remove(path);
    }
    ~ScratchFile() { std::filesystem::remove(path); }
    std::string path;
};

} // namespace stirrup::test
