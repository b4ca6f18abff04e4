// libFuzzer target for what an MCP server sends the client: the
// newline framing (the same lines whole, in pieces and byte by byte, never
// longer than the limit), each line's JSON-RPC classification, and the
// MCP results read from it (initialize, tools/list, tools/call), plus
// mcp.json and the PNG chunk repair images from servers go through. Only
// stirrup::Error (and MessageTooLarge) may escape.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/tools/detail/png_chunks.hpp"
#include "stirrup/tools/mcp/detail/jsonrpc.hpp"
#include "stirrup/tools/mcp/detail/protocol.hpp"
#include "stirrup/tools/mcp/mcp_config.hpp"

#include "fuzz_harness.hpp"

namespace {

using namespace stirrup::detail::mcp;
using stirrup::fuzz::require;

constexpr std::size_t kLimit = 4096;

struct Lines {
    std::vector<std::string> lines;
    bool too_large = false;
    friend bool operator==(const Lines&, const Lines&) = default;
};

void read_results(const Message& m)
{
    try {
        parse_initialize_result(m.payload, "s");
    } catch (const stirrup::Error&) {
    }
    try {
        auto page = parse_tools_page(m.payload, "s");
        for (const auto& t : page.tools)
            require(!t.name.empty() && t.input_schema.is_object());
    } catch (const stirrup::Error&) {
    }
    try {
        auto outcome = parse_call_result(m.payload, "t");
        for (const auto& b : outcome.blocks)
            require(b.kind == ResultBlock::Kind::text || !b.mime_type.empty());
    } catch (const stirrup::Error&) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size, 1);
    if (!input)
        return 0;
    const std::string_view in = input->rest;

    const auto splits = stirrup::fuzz::whole_pieces_bytes(in, {input->seed}, [&](auto next_size) {
        Lines out;
        LineFramer framer(kLimit);
        try {
            stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) { framer.feed(piece, out.lines); });
        } catch (const MessageTooLarge&) {
            out.too_large = true;
        }
        return out;
    });
    require(splits.pieces == splits.whole);
    require(splits.bytes == splits.whole);

    for (const auto& line : splits.whole.lines) {
        require(!line.empty() && line.size() <= kLimit);
        require(line.find('\n') == std::string::npos);
        for (const auto& m : parse_messages(line)) {
            if (m.kind == MessageKind::invalid)
                require(!m.problem.empty());
            if (m.kind == MessageKind::request)
                require(m.id.is_string() || m.id.is_int64() || m.id.is_uint64());
            if (m.kind == MessageKind::result)
                read_results(m);
        }
    }

    // The PNG repair only ever drops whole chunks after the signature.
    const std::string repaired = stirrup::detail::drop_damaged_ancillary_chunks(in);
    require(repaired.size() <= in.size());
    require(repaired.substr(0, std::min<std::size_t>(8, repaired.size())) ==
            in.substr(0, std::min<std::size_t>(8, repaired.size())));

    if (input->seed & 1) {
        try {
            auto none = [](std::string_view) -> std::optional<std::string> { return std::string("v"); };
            auto config = stirrup::McpConfig::parse(in, {}, none);
            for (const auto& s : config.servers)
                require(!s.name.empty() && s.name.find("__") == std::string::npos);
        } catch (const stirrup::ConfigError&) {
        }
    }
    return 0;
}
