// libFuzzer target for the Docker JSON-message stream and the path-stat
// header. Invariants: the splitter gives the same messages fed whole, in
// pieces and byte by byte; each is a non-empty, trimmed slice of the input;
// parsing throws nothing but MessageError; build_failure reports a failure
// exactly when a message failed. decode_path_stat throws nothing but
// MessageError, on the raw input and on its base64.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/detail/base64.hpp"
#include "stirrup/exec/docker/detail/messages.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::detail::docker::JsonLineSplitter;
using stirrup::detail::docker::MessageError;
using stirrup::fuzz::require;

constexpr std::size_t max_line = 4096;

struct Split {
    std::vector<std::string> lines;
    bool too_long = false;
};

template <class Next>
Split split(std::string_view in, Next&& next_size)
{
    Split out;
    JsonLineSplitter s(max_line);
    const auto on_line = [&](std::string_view l) { out.lines.emplace_back(l); };
    try {
        stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) { s.feed(piece, on_line); });
        s.finish(on_line);
    } catch (const MessageError&) {
        out.too_long = true;
    }
    return out;
}

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size);
    if (!input)
        return 0;
    const std::string_view in = input->rest;

    const auto [whole, pieces, bytes] =
        stirrup::fuzz::whole_pieces_bytes(in, {.seed = input->seed}, [&](auto&& next) { return split(in, next); });
    require(pieces.lines == whole.lines && pieces.too_long == whole.too_long);
    require(bytes.lines == whole.lines && bytes.too_long == whole.too_long);

    std::vector<stirrup::detail::docker::StreamMessage> msgs;
    bool any_failed = false;
    for (const auto& line : whole.lines) {
        require(!line.empty() && line.size() <= max_line);
        require(!is_space(line.front()) && !is_space(line.back()));
        require(in.find(line) != std::string_view::npos);
        try {
            auto m = stirrup::detail::docker::parse_stream_message(line);
            if (m.error_detail_message)
                require(m.error.has_value());
            any_failed = any_failed || m.failed();
            msgs.push_back(std::move(m));
        } catch (const MessageError&) {
        }
    }
    const auto failure = stirrup::detail::docker::build_failure(msgs);
    require(failure.has_value() == any_failed);

    for (const std::string& header : {std::string(in), stirrup::detail::base64::encode(in)}) {
        try {
            const auto st = stirrup::detail::docker::decode_path_stat(header);
            require(st.permissions() <= 0777);
        } catch (const MessageError&) {
        }
    }
    return 0;
}
