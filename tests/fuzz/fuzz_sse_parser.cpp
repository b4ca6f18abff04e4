// libFuzzer target for the SSE parser. Besides "no crash, no UB": feeding the
// input in pieces (the split points come from the input's first bytes) gives
// exactly the events of one feed, and every event's data has no CR and its
// type is never empty.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/net/detail/sse_parser.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::fuzz::require;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size, 2);
    if (!input)
        return 0;
    const std::string_view in = input->rest;

    stirrup::net::detail::SseParser one;
    const auto expected = one.feed(in);
    for (const auto& e : expected) {
        require(!e.type.empty());
        require(e.data.find('\r') == std::string_view::npos);
    }

    // Whole (through the feeder this time), in pieces of 1..8 bytes (from
    // the seed) and byte by byte.
    struct Outcome {
        std::vector<stirrup::net::detail::SseEvent> events;
        std::string last_event_id;
        decltype(one.reconnection_time()) reconnection_time{};
    };
    const auto runs =
        stirrup::fuzz::whole_pieces_bytes(in, {.seed = input->seed, .rotate = 6, .mask = 7}, [&](auto&& next) {
            stirrup::net::detail::SseParser p;
            Outcome o;
            stirrup::fuzz::feed_pieces(in, next, [&](std::string_view piece) { p.feed(piece, o.events); });
            o.last_event_id = std::string(p.last_event_id());
            o.reconnection_time = p.reconnection_time();
            return o;
        });
    for (const Outcome* o : {&runs.whole, &runs.pieces, &runs.bytes}) {
        require(o->events == expected);
        require(o->last_event_id == one.last_event_id());
        require(o->reconnection_time == one.reconnection_time());
    }
    return 0;
}
