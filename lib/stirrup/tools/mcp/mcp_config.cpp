#include "stirrup/tools/mcp/mcp_config.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace stirrup {
namespace json = boost::json;

std::string_view to_string(McpTransport t) noexcept
{
    switch (t) {
    case McpTransport::stdio:
        return "stdio";
    case McpTransport::sse:
        return "sse";
    case McpTransport::streamable_http:
        return "streamable_http";
    case McpTransport::websocket:
        return "websocket";
    }
    return "unknown";
}

namespace {

using Lookup = std::function<std::optional<std::string>(std::string_view)>;

// ${VAR} -> its value; "$" not followed by "{" stays as written, as does an
// unterminated "${".
std::string expand(std::string_view s, const Lookup& lookup, std::string_view where)
{
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto start = s.find("${", i);
        if (start == std::string_view::npos)
            break;
        const auto end = s.find('}', start + 2);
        if (end == std::string_view::npos)
            break;
        out.append(s.substr(i, start - i));
        const std::string_view name = s.substr(start + 2, end - start - 2);
        auto value = lookup(name);
        if (!value)
            throw ConfigError("MCP config: environment variable '" + std::string(name) + "' (used in " +
                              std::string(where) + ") is not set");
        out += *value;
        i = end + 1;
    }
    out.append(s.substr(i));
    return out;
}

void expand_all(json::value& v, const Lookup& lookup, const std::string& where)
{
    if (v.is_string()) {
        v = expand(v.get_string(), lookup, where);
    } else if (v.is_array()) {
        for (auto& e : v.get_array())
            expand_all(e, lookup, where);
    } else if (v.is_object()) {
        for (auto& kv : v.get_object())
            expand_all(kv.value(), lookup, where);
    }
}

std::string string_field(const json::object& o, std::string_view key, const std::string& server)
{
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string())
        throw ConfigError("MCP config: server '" + server + "': '" + std::string(key) + "' must be a string");
    return std::string(v->get_string());
}

std::chrono::milliseconds seconds_field(const json::object& o, std::string_view key, const std::string& server,
                                        std::chrono::milliseconds fallback)
{
    const auto* v = o.if_contains(key);
    if (!v || v->is_null())
        return fallback;
    double s = -1;
    if (v->is_number())
        s = v->to_number<double>();
    if (!(s > 0) || !std::isfinite(s) || s > 1e9)
        throw ConfigError("MCP config: server '" + server + "': '" + std::string(key) +
                          "' must be a positive number of seconds");
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(s * 1000)));
}

std::map<std::string, std::string> string_map(const json::object& o, std::string_view key, const std::string& server)
{
    std::map<std::string, std::string> out;
    const auto* v = o.if_contains(key);
    if (!v || v->is_null())
        return out;
    if (!v->is_object())
        throw ConfigError("MCP config: server '" + server + "': '" + std::string(key) + "' must be an object");
    for (const auto& kv : v->get_object()) {
        if (!kv.value().is_string())
            throw ConfigError("MCP config: server '" + server + "': " + std::string(key) + "." + std::string(kv.key()) +
                              " must be a string");
        out[std::string(kv.key())] = std::string(kv.value().get_string());
    }
    return out;
}

bool ends_with_sse(std::string_view url)
{
    // Stirrup tests the url's end as written (a query after /sse is not SSE).
    return url.size() >= 4 && url.substr(url.size() - 4) == "/sse";
}

McpServerConfig server_config(const std::string& name, const json::value& entry)
{
    if (!entry.is_object())
        throw ConfigError("MCP config: server '" + name + "' must be an object");
    const auto& o = entry.get_object();
    McpServerConfig c;
    c.name = name;
    if (name.empty() || name.find("__") != std::string::npos)
        throw ConfigError("MCP config: server name '" + name +
                          "' must be non-empty and must not contain '__' (it prefixes its tools' names)");
    if (o.contains("command")) {
        c.transport = McpTransport::stdio;
        c.command = string_field(o, "command", name);
        if (const auto* a = o.if_contains("args"); a && !a->is_null()) {
            if (!a->is_array())
                throw ConfigError("MCP config: server '" + name + "': 'args' must be a list of strings");
            for (const auto& e : a->get_array()) {
                if (!e.is_string())
                    throw ConfigError("MCP config: server '" + name + "': 'args' must be a list of strings");
                c.args.emplace_back(e.get_string());
            }
        }
        c.env = string_map(o, "env", name);
        if (const auto* cwd = o.if_contains("cwd"); cwd && !cwd->is_null())
            c.cwd = string_field(o, "cwd", name);
        if (const auto* enc = o.if_contains("encoding"); enc && !enc->is_null()) {
            const std::string e = string_field(o, "encoding", name);
            if (e != "utf-8" && e != "utf8" && e != "UTF-8")
                throw ConfigError("MCP config: server '" + name + "': only the utf-8 encoding is supported");
        }
    } else if (o.contains("url")) {
        c.url = string_field(o, "url", name);
        if (c.url.starts_with("ws://") || c.url.starts_with("wss://")) {
            c.transport = McpTransport::websocket;
        } else if (ends_with_sse(c.url)) {
            c.transport = McpTransport::sse;
            c.http_timeout = std::chrono::seconds(5);
        } else {
            c.transport = McpTransport::streamable_http;
        }
        for (auto& [k, v] : string_map(o, "headers", name))
            c.headers.emplace_back(k, v);
        c.http_timeout = seconds_field(o, "timeout", name, c.http_timeout);
        c.sse_read_timeout = seconds_field(o, "sse_read_timeout", name, c.sse_read_timeout);
        if (const auto* t = o.if_contains("terminate_on_close"); t && !t->is_null()) {
            if (!t->is_bool())
                throw ConfigError("MCP config: server '" + name + "': 'terminate_on_close' must be a boolean");
            c.terminate_on_close = t->get_bool();
        }
    } else {
        throw ConfigError("MCP config: server '" + name +
                          "': Config must have 'command' (stdio) or 'url' (SSE/HTTP/WebSocket)");
    }
    // Beyond Stirrup: the client's own bounds, per server.
    c.call_timeout = seconds_field(o, "call_timeout", name, c.call_timeout);
    c.connect_timeout = seconds_field(o, "connect_timeout", name, c.connect_timeout);
    return c;
}

std::optional<std::string> from_environment(std::string_view name)
{
    const char* v = std::getenv(std::string(name).c_str());
    if (!v)
        return std::nullopt;
    return std::string(v);
}

} // namespace

McpConfig McpConfig::parse(std::string_view json_text, const std::vector<std::string>& server_names,
                           const Lookup& lookup)
{
    json::value root;
    try {
        root = json::parse(json_text);
    } catch (const std::exception& e) {
        throw ConfigError(std::string("MCP config is not valid JSON: ") + e.what());
    }
    const auto* servers = root.is_object() ? root.get_object().if_contains("mcpServers") : nullptr;
    if (!servers || !servers->is_object())
        throw ConfigError("MCP config: expected an object with \"mcpServers\": {NAME: {...}}");
    const auto& all = servers->get_object();

    std::vector<std::string> names = server_names;
    if (names.empty())
        for (const auto& kv : all)
            names.emplace_back(kv.key());
    const Lookup& env = lookup ? lookup : Lookup(from_environment);

    McpConfig out;
    for (const auto& name : names) {
        const auto* entry = all.if_contains(name);
        if (!entry) {
            std::string available = "[";
            for (const auto& kv : all) {
                if (available.size() > 1)
                    available += ", ";
                available += "'" + std::string(kv.key()) + "'";
            }
            throw ConfigError("Server '" + name + "' not found in config. Available: " + available + "]");
        }
        json::value copy = *entry;
        expand_all(copy, env, "server '" + name + "'");
        out.servers.push_back(server_config(name, copy));
    }
    return out;
}

McpConfig McpConfig::load(const std::filesystem::path& path, const std::vector<std::string>& server_names)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError("cannot read MCP config " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), server_names);
}

} // namespace stirrup
