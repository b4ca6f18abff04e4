#include "stirrup/tools/mcp/detail/protocol.hpp"

#include <boost/json/serialize.hpp>

#include "stirrup/core/detail/base64.hpp"

namespace stirrup::detail::mcp {
namespace json = boost::json;

json::object initialize_params(std::string_view client_name, std::string_view client_version)
{
    json::object p;
    p["protocolVersion"] = kProtocolVersions.front();
    // No client capabilities: sampling, elicitation and roots requests from a
    // server are answered "method not found".
    p["capabilities"] = json::object{};
    p["clientInfo"] = json::object{{"name", client_name}, {"version", client_version}};
    return p;
}

namespace {

std::string named(std::string_view s)
{
    return "'" + std::string(s) + "'";
}

std::optional<std::string> string_member(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string())
        return std::nullopt;
    return std::string(v->get_string());
}

} // namespace

ServerInfo parse_initialize_result(const json::value& result, std::string_view server)
{
    if (!result.is_object())
        throw McpError("MCP server " + named(server) + ": the initialize result is not an object");
    const auto& o = result.get_object();
    ServerInfo info;
    auto version = string_member(o, "protocolVersion");
    if (!version)
        throw McpError("MCP server " + named(server) + ": the initialize result has no protocolVersion");
    bool known = false;
    std::string supported;
    for (auto v : kProtocolVersions) {
        known = known || v == *version;
        supported += (supported.empty() ? "" : ", ") + std::string(v);
    }
    if (!known)
        throw McpError("MCP server " + named(server) + " speaks protocol version " + named(*version) +
                       ", which this client does not support (it supports " + supported + ")");
    info.protocol_version = std::move(*version);
    if (const auto* si = o.if_contains("serverInfo"); si && si->is_object()) {
        info.name = string_member(si->get_object(), "name").value_or("");
        info.version = string_member(si->get_object(), "version").value_or("");
    }
    info.instructions = string_member(o, "instructions");
    if (const auto* caps = o.if_contains("capabilities"); caps && caps->is_object())
        info.capabilities = caps->get_object();
    return info;
}

ToolsPage parse_tools_page(const json::value& result, std::string_view server)
{
    if (!result.is_object())
        throw McpError("MCP server " + named(server) + ": the tools/list result is not an object");
    const auto& o = result.get_object();
    const auto* tools = o.if_contains("tools");
    if (!tools || !tools->is_array())
        throw McpError("MCP server " + named(server) + ": the tools/list result has no \"tools\" list");
    ToolsPage page;
    for (const auto& t : tools->get_array()) {
        const auto* to = t.if_object();
        auto name = to ? string_member(*to, "name") : std::nullopt;
        if (!name || name->empty())
            throw McpError("MCP server " + named(server) + ": tools/list holds a tool without a name");
        ToolInfo info;
        info.name = std::move(*name);
        info.description = string_member(*to, "description");
        const auto* schema = to->if_contains("inputSchema");
        if (!schema || !schema->is_object())
            throw McpError("MCP server " + named(server) + ": tool " + named(info.name) + " has no inputSchema object");
        info.input_schema = *schema;
        page.tools.push_back(std::move(info));
    }
    if (auto cursor = string_member(o, "nextCursor"))
        page.next_cursor = std::move(cursor);
    return page;
}

json::value tools_list_params(const std::optional<std::string>& cursor)
{
    if (!cursor)
        return nullptr;
    return json::object{{"cursor", *cursor}};
}

namespace {

ResultBlock media_block(const json::object& b, ResultBlock::Kind kind, std::string_view tool)
{
    const auto data = string_member(b, "data");
    const auto mime = string_member(b, "mimeType");
    const char* what = kind == ResultBlock::Kind::image ? "an image" : "an audio";
    if (!data || !mime)
        throw McpError("MCP tool " + named(tool) + " returned " + what + " block without data or mimeType");
    auto bytes = base64::decode(*data);
    if (!bytes)
        throw McpError("MCP tool " + named(tool) + " returned " + what + " block whose data is not valid base64");
    ResultBlock out;
    out.kind = kind;
    out.data = std::move(*bytes);
    out.mime_type = *mime;
    return out;
}

ResultBlock text_block(std::string text)
{
    ResultBlock out;
    out.text = std::move(text);
    return out;
}

ResultBlock resource_block(const json::object& b, std::string_view tool)
{
    const auto* r = b.if_contains("resource");
    if (!r || !r->is_object())
        throw McpError("MCP tool " + named(tool) + " returned a resource block without a resource");
    const auto& res = r->get_object();
    if (auto text = string_member(res, "text"))
        return text_block(std::move(*text));
    const std::string uri = string_member(res, "uri").value_or("");
    const std::string mime = string_member(res, "mimeType").value_or("application/octet-stream");
    return text_block("[binary resource " + uri + " (" + mime + ") not shown]");
}

} // namespace

CallOutcome parse_call_result(const json::value& result, std::string_view tool)
{
    if (!result.is_object())
        throw McpError("MCP tool " + named(tool) + " returned a result that is not an object");
    const auto& o = result.get_object();
    CallOutcome out;
    if (const auto* e = o.if_contains("isError"); e && e->is_bool())
        out.is_error = e->get_bool();
    const auto* content = o.if_contains("content");
    if (!content || !content->is_array() || content->get_array().empty()) {
        // A result may carry only structured content (outputSchema tools).
        if (const auto* sc = o.if_contains("structuredContent"); sc && !sc->is_null())
            out.blocks.push_back(text_block(json::serialize(*sc)));
        else if (content && !content->is_array())
            throw McpError("MCP tool " + named(tool) + " returned a result whose content is not a list");
        return out;
    }
    for (const auto& item : content->get_array()) {
        const auto* b = item.if_object();
        const auto type = b ? string_member(*b, "type") : std::nullopt;
        if (!type)
            throw McpError("MCP tool " + named(tool) + " returned a content block without a type");
        if (*type == "text") {
            auto text = string_member(*b, "text");
            if (!text)
                throw McpError("MCP tool " + named(tool) + " returned a text block without text");
            out.blocks.push_back(text_block(std::move(*text)));
        } else if (*type == "image") {
            out.blocks.push_back(media_block(*b, ResultBlock::Kind::image, tool));
        } else if (*type == "audio") {
            out.blocks.push_back(media_block(*b, ResultBlock::Kind::audio, tool));
        } else if (*type == "resource") {
            out.blocks.push_back(resource_block(*b, tool));
        } else if (*type == "resource_link") {
            const std::string uri = string_member(*b, "uri").value_or("");
            const std::string name = string_member(*b, "name").value_or(uri);
            std::string line = "[resource link: " + name + " <" + uri + ">";
            if (auto d = string_member(*b, "description"))
                line += " " + *d;
            out.blocks.push_back(text_block(line + "]"));
        } else {
            throw McpError("MCP tool " + named(tool) + " returned an unsupported content block type " + named(*type));
        }
    }
    return out;
}

} // namespace stirrup::detail::mcp
