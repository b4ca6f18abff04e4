// libFuzzer target for the stdcopy frame decoder. Invariants: feeding the
// input whole, in pieces (sizes from the first byte) and byte by byte gives
// the same per-stream output, frame count, boundary state and error; fed
// whole, each non-empty frame reaches the sink as one piece, so re-encoding
// the pieces gives back the input without its empty frames.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/docker/detail/frames.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::detail::docker::FrameDecoder;
using stirrup::detail::docker::FrameError;
using stirrup::detail::docker::StreamId;
using stirrup::fuzz::require;

struct Outcome {
    std::string streams[3];
    std::vector<std::pair<StreamId, std::string>> pieces;
    std::uint64_t frames = 0;
    bool at_boundary = false;
    bool failed = false;
    std::string error;
};

template <class Split>
Outcome run(std::string_view in, Split&& next_size)
{
    Outcome o;
    FrameDecoder d;
    const FrameDecoder::Sink sink = [&](StreamId id, std::string_view piece) {
        require(!piece.empty());
        require(static_cast<unsigned>(id) <= 2);
        o.streams[static_cast<unsigned>(id)].append(piece);
        o.pieces.emplace_back(id, std::string(piece));
    };
    try {
        stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) { d.feed(piece, sink); });
    } catch (const FrameError& e) {
        o.failed = true;
        o.error = e.what();
        // A failed decoder stays failed.
        bool threw = false;
        try {
            d.feed("\x01", sink);
        } catch (const FrameError&) {
            threw = true;
        }
        require(threw);
    }
    o.frames = d.frames();
    o.at_boundary = d.at_boundary();
    return o;
}

// The input with its zero-length non-error frames removed, up to the point
// where it stops being a valid stream.
std::string without_empty_frames(std::string_view in)
{
    std::string out;
    while (in.size() >= 8) {
        const auto n = (std::uint32_t{static_cast<unsigned char>(in[4])} << 24) |
                       (std::uint32_t{static_cast<unsigned char>(in[5])} << 16) |
                       (std::uint32_t{static_cast<unsigned char>(in[6])} << 8) |
                       std::uint32_t{static_cast<unsigned char>(in[7])};
        if (in.size() < 8 + std::size_t{n})
            break;
        if (n != 0)
            out.append(in.substr(0, 8 + n));
        in.remove_prefix(8 + n);
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size);
    if (!input)
        return 0;
    const std::string_view in = input->rest;

    const auto [whole, pieces, bytes] =
        stirrup::fuzz::whole_pieces_bytes(in, {.seed = input->seed}, [&](auto&& next) { return run(in, next); });

    for (const Outcome* o : {&pieces, &bytes}) {
        require(o->failed == whole.failed);
        require(o->error == whole.error);
        require(o->frames == whole.frames);
        require(o->at_boundary == whole.at_boundary);
        for (int s = 0; s < 3; ++s)
            require(o->streams[s] == whole.streams[s]);
    }
    if (!whole.failed && whole.at_boundary) {
        std::string again;
        for (const auto& [id, piece] : whole.pieces)
            again += stirrup::detail::docker::encode_frame(id, piece);
        require(again == without_empty_frames(in));
    }
    return 0;
}
