// libFuzzer target for the SSE parser. Besides "no crash, no UB": feeding the
// input in pieces (the split points come from the input's first bytes) gives
// exactly the events of one feed, and every event's data has no CR and its
// type is never empty.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "stirrup/net/detail/sse_parser.hpp"

#include "fuzz_require.hpp"

namespace {

using stirrup::fuzz::require;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    const std::uint8_t seed = data[0];
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

    stirrup::net::detail::SseParser one;
    const auto expected = one.feed(in);
    for (const auto& e : expected) {
        require(!e.type.empty());
        require(e.data.find('\r') == std::string_view::npos);
    }

    // Pieces of 1..8 bytes (from the seed), then byte by byte.
    stirrup::net::detail::SseParser pieces;
    std::vector<stirrup::net::detail::SseEvent> got;
    std::size_t pos = 0, step = 0;
    while (pos < in.size()) {
        const std::size_t n = 1 + ((seed >> (step++ % 6)) & 7);
        pieces.feed(in.substr(pos, n), got);
        pos += n;
    }
    require(got == expected);

    stirrup::net::detail::SseParser bytes;
    std::vector<stirrup::net::detail::SseEvent> got_bytes;
    for (char c : in)
        bytes.feed(std::string_view(&c, 1), got_bytes);
    require(got_bytes == expected);
    require(bytes.last_event_id() == one.last_event_id());
    require(bytes.reconnection_time() == one.reconnection_time());
    return 0;
}
