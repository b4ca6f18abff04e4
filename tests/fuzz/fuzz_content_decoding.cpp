// libFuzzer target for Content-Encoding decoding: any bytes, any coding
// (from the seed), fed whole, in pieces and byte by byte, give the same
// output or the same error, never more than the limit.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stirrup/tools/web/detail/content_decoding.hpp"

#include "fuzz_harness.hpp"

namespace {

using namespace stirrup::detail::web;
using stirrup::fuzz::require;

constexpr std::size_t kLimit = 1 << 16;

struct Outcome {
    std::string out;
    bool failed = false;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size, 1);
    if (!input)
        return 0;
    const std::string_view in = input->rest;
    const ContentCoding coding = static_cast<ContentCoding>(input->seed % 3);
    const auto splits = stirrup::fuzz::whole_pieces_bytes(in, {input->seed}, [&](auto next_size) {
        Outcome o;
        try {
            BoundedDecoder d(coding, kLimit);
            stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) { d.feed(piece, o.out); });
            d.finish();
        } catch (const ContentDecodingError&) {
            o.failed = true;
        }
        require(o.out.size() <= kLimit);
        return o;
    });
    // The output before an error can depend on where the pieces were cut;
    // the verdict cannot, and a success is the same bytes.
    require(splits.pieces.failed == splits.whole.failed);
    require(splits.bytes.failed == splits.whole.failed);
    if (!splits.whole.failed) {
        require(splits.pieces.out == splits.whole.out);
        require(splits.bytes.out == splits.whole.out);
    }
    return 0;
}
