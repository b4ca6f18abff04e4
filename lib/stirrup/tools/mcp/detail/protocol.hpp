#pragma once
// The MCP messages the client exchanges, without I/O: initialize and its
// version negotiation, tools/list pages, and a tools/call result turned into
// what the model is shown.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "stirrup/tools/mcp/mcp_error.hpp"

namespace stirrup::detail::mcp {

/// Newest first, as the official TypeScript SDK 1.32 supports them; the first
/// is what the client asks for.
inline constexpr std::array<std::string_view, 4> kProtocolVersions{"2025-11-25", "2025-06-18", "2025-03-26",
                                                                   "2024-11-05"};

boost::json::object initialize_params(std::string_view client_name, std::string_view client_version);

struct ServerInfo {
    std::string protocol_version;
    std::string name;
    std::string version;
    std::optional<std::string> instructions;
    boost::json::object capabilities;
};

/// Reads an initialize result. Throws McpError when the server chose a protocol
/// version this client does not speak, or the result is malformed.
ServerInfo parse_initialize_result(const boost::json::value& result, std::string_view server);

struct ToolInfo {
    std::string name;
    std::optional<std::string> description;
    boost::json::value input_schema;
};

struct ToolsPage {
    std::vector<ToolInfo> tools;
    std::optional<std::string> next_cursor;
};

/// Reads one tools/list page. A tool without a usable name or schema is an
/// error naming it (a server that lists it cannot be called through it).
ToolsPage parse_tools_page(const boost::json::value& result, std::string_view server);

/// Params of tools/list for the page after `cursor` (null for the first).
boost::json::value tools_list_params(const std::optional<std::string>& cursor);

/// One block of a tool result as the model will see it. Images and audio
/// keep their decoded bytes; the caller validates images.
struct ResultBlock {
    enum class Kind { text, image, audio } kind = Kind::text;
    std::string text;
    std::string data;
    std::string mime_type;
};

struct CallOutcome {
    std::vector<ResultBlock> blocks;
    bool is_error = false;
};

/// Reads a CallToolResult. Text as text; image and audio with their base64
/// decoded; an embedded text resource as its text and a resource link or a
/// binary resource as a line naming it (the model cannot fetch either);
/// structuredContent alone (no content) as its JSON. Any other block type,
/// or bad base64, throws McpError naming the tool.
CallOutcome parse_call_result(const boost::json::value& result, std::string_view tool);

} // namespace stirrup::detail::mcp
