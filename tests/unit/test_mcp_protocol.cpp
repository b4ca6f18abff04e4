// The MCP client's pure parts: JSON-RPC messages byte by byte, the
// newline framing fed in every split, initialize and tools/list, results
// turned into content, and mcp.json.

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <boost/crc.hpp>

#include "stirrup/tools/detail/png_chunks.hpp"
#include "stirrup/tools/mcp/detail/jsonrpc.hpp"
#include "stirrup/tools/mcp/detail/protocol.hpp"
#include "stirrup/tools/mcp/mcp_config.hpp"
#include "stirrup/tools/mcp/mcp_error.hpp"

using namespace stirrup::detail::mcp;
namespace json = boost::json;

TEST_CASE("mcp jsonrpc: requests, notifications and responses are written exactly")
{
    CHECK(write_request(7, "tools/list", nullptr) == R"({"jsonrpc":"2.0","id":7,"method":"tools/list"})");
    CHECK(write_request(1, "tools/call", json::parse(R"({"name":"echo","arguments":{"message":"a\nb"}})")) ==
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"a\nb"}}})");
    CHECK(write_notification("notifications/initialized", nullptr) ==
          R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    CHECK(write_result(json::value("abc"), json::object{}) == R"({"jsonrpc":"2.0","id":"abc","result":{}})");
    CHECK(write_error(json::value(3), kMethodNotFound, "Method not found: roots/list") ==
          R"({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found: roots/list"}})");
    // A message never holds a raw newline: the stdio framing depends on it.
    CHECK(write_request(2, "x", json::value("line1\nline2")).find('\n') == std::string::npos);
}

TEST_CASE("mcp jsonrpc: what a server sends is classified")
{
    auto one = [](std::string_view text) {
        auto v = parse_messages(text);
        REQUIRE(v.size() == 1);
        return v.front();
    };
    auto r = one(R"({"jsonrpc":"2.0","id":4,"result":{"tools":[]}})");
    CHECK(r.kind == MessageKind::result);
    CHECK(r.id == json::value(4));
    CHECK(r.payload.as_object().contains("tools"));

    auto e = one(R"({"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"Unknown tool: x","data":{"a":1}}})");
    CHECK(e.kind == MessageKind::error);
    CHECK(e.error.code == -32602);
    CHECK(e.error.message == "Unknown tool: x");
    CHECK(e.error.data.as_object().at("a") == 1);

    auto null_id = one(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
    CHECK(null_id.kind == MessageKind::error);
    CHECK(null_id.id.is_null());

    auto req = one(R"({"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage","params":{"x":1}})");
    CHECK(req.kind == MessageKind::request);
    CHECK(req.method == "sampling/createMessage");
    CHECK(req.id == json::value("s-1"));

    auto note = one(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":5}})");
    CHECK(note.kind == MessageKind::notification);
    CHECK(note.payload.as_object().at("progress") == 5);

    CHECK(one("hello world").kind == MessageKind::invalid);
    CHECK(one("").kind == MessageKind::invalid);
    CHECK(one("[]").kind == MessageKind::invalid);
    CHECK(one("42").kind == MessageKind::invalid);
    CHECK(one(R"({"jsonrpc":"1.0","id":1,"result":{}})").kind == MessageKind::invalid);
    CHECK(one(R"({"jsonrpc":"2.0","id":1})").kind == MessageKind::invalid);
    CHECK(one(R"({"jsonrpc":"2.0","id":{"a":1},"result":{}})").kind == MessageKind::invalid);
    CHECK(one(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})").kind == MessageKind::invalid);
    CHECK(one(R"({"jsonrpc":"2.0","method":7})").kind == MessageKind::invalid);
    CHECK(one(R"({"jsonrpc":"2.0","id":1,"error":"bad"})").error.message == "malformed error object");

    auto batch = parse_messages(R"([{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","method":"n"},7])");
    REQUIRE(batch.size() == 3);
    CHECK(batch[0].kind == MessageKind::result);
    CHECK(batch[1].kind == MessageKind::notification);
    CHECK(batch[2].kind == MessageKind::invalid);
}

TEST_CASE("mcp jsonrpc: lines are cut the same in every split, bounded")
{
    const std::string stream = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
    const std::vector<std::string> expected{"{\"a\":1}", "{\"b\":2}"};
    for (std::size_t i = 0; i <= stream.size(); ++i) {
        for (std::size_t j = i; j <= stream.size(); ++j) {
            LineFramer f(1000);
            std::vector<std::string> out;
            f.feed(std::string_view(stream).substr(0, i), out);
            f.feed(std::string_view(stream).substr(i, j - i), out);
            f.feed(std::string_view(stream).substr(j), out);
            CHECK(out == expected);
            CHECK(f.pending() == 7); // {"c":3} waits for its newline
        }
    }
    LineFramer small(8);
    std::vector<std::string> out;
    small.feed("12345678\n", out);
    CHECK(out.size() == 1);
    CHECK_THROWS_AS(small.feed("123456789", out), MessageTooLarge);
    // The limit holds before the line is buffered whole: pieces add up.
    LineFramer pieces(8);
    pieces.feed("12345", out);
    CHECK_THROWS_AS(pieces.feed("6789", out), MessageTooLarge);
}

TEST_CASE("mcp protocol: initialize asks for the newest version and accepts the four the SDK speaks")
{
    const auto p = initialize_params("stirrup-cpp", "0.1.0");
    CHECK(
        json::serialize(p) ==
        R"({"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stirrup-cpp","version":"0.1.0"}})");
    for (auto v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
        json::object r{{"protocolVersion", v},
                       {"capabilities", json::object{{"tools", json::object{}}}},
                       {"serverInfo", json::object{{"name", "srv"}, {"version", "1.2"}}},
                       {"instructions", "be nice"}};
        const auto info = parse_initialize_result(r, "s");
        CHECK(info.protocol_version == v);
        CHECK(info.name == "srv");
        CHECK(info.version == "1.2");
        CHECK(info.instructions == "be nice");
        CHECK(info.capabilities.contains("tools"));
    }
    try {
        parse_initialize_result(json::object{{"protocolVersion", "1999-01-01"}}, "old");
        FAIL("accepted");
    } catch (const stirrup::McpError& e) {
        CHECK(std::string(e.what()) == "MCP server 'old' speaks protocol version '1999-01-01', which this client does "
                                       "not support (it supports 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05)");
    }
    CHECK_THROWS_AS(parse_initialize_result(json::object{}, "s"), stirrup::McpError);
    CHECK_THROWS_AS(parse_initialize_result(json::value(3), "s"), stirrup::McpError);
}

TEST_CASE("mcp protocol: tools/list pages")
{
    CHECK(tools_list_params(std::nullopt).is_null());
    CHECK(json::serialize(tools_list_params(std::string("c2"))) == R"({"cursor":"c2"})");
    auto page = parse_tools_page(json::parse(R"({"tools":[
        {"name":"echo","description":"Echoes","inputSchema":{"type":"object","properties":{"m":{"type":"string"}}}},
        {"name":"bare","inputSchema":{"type":"object"}}],"nextCursor":"n1"})"),
                                 "s");
    REQUIRE(page.tools.size() == 2);
    CHECK(page.tools[0].name == "echo");
    CHECK(page.tools[0].description == "Echoes");
    CHECK(page.tools[1].description == std::nullopt);
    CHECK(page.tools[1].input_schema == json::parse(R"({"type":"object"})"));
    CHECK(page.next_cursor == "n1");
    CHECK_THROWS_AS(parse_tools_page(json::parse(R"({"tools":[{"inputSchema":{}}]})"), "s"), stirrup::McpError);
    CHECK_THROWS_AS(parse_tools_page(json::parse(R"({"tools":[{"name":"x"}]})"), "s"), stirrup::McpError);
    CHECK_THROWS_AS(parse_tools_page(json::parse(R"({"items":[]})"), "s"), stirrup::McpError);
}

TEST_CASE("mcp protocol: a tool result becomes what the model sees")
{
    auto text = parse_call_result(json::parse(R"({"content":[{"type":"text","text":"hi"}]})"), "t");
    REQUIRE(text.blocks.size() == 1);
    CHECK(text.blocks[0].text == "hi");
    CHECK_FALSE(text.is_error);

    auto err = parse_call_result(json::parse(R"({"content":[{"type":"text","text":"boom"}],"isError":true})"), "t");
    CHECK(err.is_error);
    CHECK(err.blocks[0].text == "boom");

    // "aGk=" is "hi".
    auto media = parse_call_result(json::parse(R"({"content":[
        {"type":"image","data":"aGk=","mimeType":"image/png"},
        {"type":"audio","data":"aGk=","mimeType":"audio/wav"},
        {"type":"resource","resource":{"uri":"file:///a.txt","text":"file text"}},
        {"type":"resource","resource":{"uri":"file:///b.bin","blob":"AAAA","mimeType":"application/zip"}},
        {"type":"resource_link","uri":"file:///c","name":"c","description":"the c file"}]})"),
                                   "t");
    REQUIRE(media.blocks.size() == 5);
    CHECK(media.blocks[0].kind == ResultBlock::Kind::image);
    CHECK(media.blocks[0].data == "hi");
    CHECK(media.blocks[0].mime_type == "image/png");
    CHECK(media.blocks[1].kind == ResultBlock::Kind::audio);
    CHECK(media.blocks[1].mime_type == "audio/wav");
    CHECK(media.blocks[2].text == "file text");
    CHECK(media.blocks[3].text == "[binary resource file:///b.bin (application/zip) not shown]");
    CHECK(media.blocks[4].text == "[resource link: c <file:///c> the c file]");

    auto structured = parse_call_result(json::parse(R"({"content":[],"structuredContent":{"sum":3}})"), "t");
    REQUIRE(structured.blocks.size() == 1);
    CHECK(structured.blocks[0].text == R"({"sum":3})");
    CHECK(parse_call_result(json::parse(R"({"content":[]})"), "t").blocks.empty());

    try {
        parse_call_result(json::parse(R"({"content":[{"type":"hologram"}]})"), "holo");
        FAIL("accepted");
    } catch (const stirrup::McpError& e) {
        CHECK(std::string(e.what()) == "MCP tool 'holo' returned an unsupported content block type 'hologram'");
    }
    CHECK_THROWS_AS(
        parse_call_result(json::parse(R"({"content":[{"type":"image","data":"!!","mimeType":"image/png"}]})"), "t"),
        stirrup::McpError);
    CHECK_THROWS_AS(parse_call_result(json::parse(R"({"content":[{"type":"image","data":"aGk="}]})"), "t"),
                    stirrup::McpError);
    CHECK_THROWS_AS(parse_call_result(json::parse(R"({"content":[{"text":"no type"}]})"), "t"), stirrup::McpError);
    CHECK_THROWS_AS(parse_call_result(json::parse(R"({"content":"text"})"), "t"), stirrup::McpError);
}

TEST_CASE("mcp config: the transport is inferred as Stirrup infers it")
{
    std::map<std::string, std::string> env{{"TOKEN", "s3cret"}, {"DIR", "/data"}};
    auto lookup = [&](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(std::string(name));
        if (it == env.end())
            return std::nullopt;
        return it->second;
    };
    const auto c = stirrup::McpConfig::parse(R"({"mcpServers": {
        "fs": {"command": "npx", "args": ["-y", "server-filesystem", "${DIR}"], "env": {"K": "v-${TOKEN}"}, "cwd": "/tmp"},
        "ws": {"url": "wss://example.com/mcp"},
        "legacy": {"url": "http://localhost:3001/sse", "headers": {"Authorization": "Bearer ${TOKEN}"}},
        "http": {"url": "https://example.com/mcp", "timeout": 12.5, "sse_read_timeout": 60, "terminate_on_close": false,
                 "call_timeout": 5}
    }})",
                                             {}, lookup);
    REQUIRE(c.servers.size() == 4);
    CHECK(c.servers[0].name == "fs");
    CHECK(c.servers[0].transport == stirrup::McpTransport::stdio);
    CHECK(c.servers[0].command == "npx");
    CHECK(c.servers[0].args == std::vector<std::string>{"-y", "server-filesystem", "/data"});
    CHECK(c.servers[0].env.at("K") == "v-s3cret");
    CHECK(c.servers[0].cwd == std::filesystem::path("/tmp"));
    CHECK(c.servers[1].transport == stirrup::McpTransport::websocket);
    CHECK(c.servers[2].transport == stirrup::McpTransport::sse);
    CHECK(c.servers[2].http_timeout == std::chrono::seconds(5));
    CHECK(c.servers[2].headers == stirrup::net::Headers{{"Authorization", "Bearer s3cret"}});
    CHECK(c.servers[3].transport == stirrup::McpTransport::streamable_http);
    CHECK(c.servers[3].http_timeout == std::chrono::milliseconds(12500));
    CHECK(c.servers[3].sse_read_timeout == std::chrono::seconds(60));
    CHECK_FALSE(c.servers[3].terminate_on_close);
    CHECK(c.servers[3].call_timeout == std::chrono::seconds(5));
    CHECK(c.servers[1].call_timeout == std::chrono::seconds(60));

    const auto picked = stirrup::McpConfig::parse(
        R"({"mcpServers": {"a": {"command": "x"}, "b": {"url": "http://h/mcp"}, "c": {"command": "${MISSING}"}}})",
        {"b", "a"}, lookup);
    REQUIRE(picked.servers.size() == 2);
    CHECK(picked.servers[0].name == "b");
    CHECK(picked.servers[1].name == "a");
}

TEST_CASE("mcp config: mistakes are errors that say what is wrong")
{
    auto none = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    auto error_of = [&](std::string_view text, std::vector<std::string> names = {}) {
        try {
            stirrup::McpConfig::parse(text, names, none);
        } catch (const stirrup::ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of(R"({"mcpServers": {"a": {"command": "x"}}})", {"b"}) ==
          "Server 'b' not found in config. Available: ['a']");
    CHECK(error_of(R"({"mcpServers": {"a": {"command": "${NOPE}"}}})") ==
          "MCP config: environment variable 'NOPE' (used in server 'a') is not set");
    CHECK(error_of(R"({"mcpServers": {"a": {"args": []}}})") ==
          "MCP config: server 'a': Config must have 'command' (stdio) or 'url' (SSE/HTTP/WebSocket)");
    CHECK(error_of("{").starts_with("MCP config is not valid JSON"));
    CHECK(error_of(R"({"servers": {}})") == R"(MCP config: expected an object with "mcpServers": {NAME: {...}})");
    CHECK(error_of(R"({"mcpServers": {"a": {"command": "x", "args": "y"}}})") ==
          "MCP config: server 'a': 'args' must be a list of strings");
    CHECK(error_of(R"({"mcpServers": {"a__b": {"command": "x"}}})").find("must not contain '__'") != std::string::npos);
    CHECK(error_of(R"({"mcpServers": {"a": {"url": "http://h/mcp", "timeout": -1}}})") ==
          "MCP config: server 'a': 'timeout' must be a positive number of seconds");
    // "$" alone, "${" unterminated, and text around a variable stay as written.
    const auto c = stirrup::McpConfig::parse(R"({"mcpServers": {"a": {"command": "$HOME ${x"}}})", {}, none);
    CHECK(c.servers[0].command == "$HOME ${x");
}

namespace {

std::string png_chunk(std::string_view type, std::string_view data, bool good_crc = true)
{
    auto be = [](std::uint32_t v) {
        std::string s(4, '\0');
        for (int i = 0; i < 4; ++i)
            s[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
        return s;
    };
    boost::crc_32_type crc;
    const std::string typed = std::string(type) + std::string(data);
    crc.process_bytes(typed.data(), typed.size());
    return be(static_cast<std::uint32_t>(data.size())) + typed + be(crc.checksum() ^ (good_crc ? 0u : 1u));
}

} // namespace

TEST_CASE("png chunks: damaged ancillary chunks are dropped, critical ones and non-PNG bytes kept as they are")
{
    using stirrup::detail::drop_damaged_ancillary_chunks;
    const std::string sig("\x89PNG\r\n\x1a\n", 8);
    const std::string ihdr = png_chunk("IHDR", std::string(13, '\1'));
    const std::string iend = png_chunk("IEND", "");
    const std::string good_text = png_chunk("tEXt", "k\0v");
    const std::string bad_iccp = png_chunk("iCCP", "profile", false);
    CHECK(drop_damaged_ancillary_chunks(sig + ihdr + bad_iccp + good_text + iend) == sig + ihdr + good_text + iend);
    // A damaged critical chunk is the decoder's to refuse.
    const std::string bad_idat = png_chunk("IDAT", "zzz", false);
    CHECK(drop_damaged_ancillary_chunks(sig + ihdr + bad_idat + iend) == sig + ihdr + bad_idat + iend);
    // Truncated, lying lengths, other formats: untouched.
    const std::string truncated = sig + ihdr + bad_iccp.substr(0, 10);
    CHECK(drop_damaged_ancillary_chunks(truncated) == truncated);
    std::string lying = sig + ihdr + bad_iccp;
    lying[sig.size() + ihdr.size()] = '\x7f';
    CHECK(drop_damaged_ancillary_chunks(lying) == lying);
    CHECK(drop_damaged_ancillary_chunks("GIF89a...") == "GIF89a...");
    CHECK(drop_damaged_ancillary_chunks("") == "");
}
