#pragma once
// What every fuzz target shares: the invariant check, the input split into a
// seed byte and the rest, and the three ways a streaming parser is fed
// (whole, in pieces sized from the seed, byte by byte) so that a target only
// compares the three outcomes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace stirrup::fuzz {

/// The invariant check: abort, so libFuzzer records the input.
inline void require(bool ok)
{
    if (!ok)
        std::abort();
}

/// libFuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

/// The first byte, which steers the target (piece sizes, modes), and the rest.
struct SeededInput {
    std::uint8_t seed = 0;
    std::string_view rest;
};

/// nullopt when the input is shorter than `min_size` bytes (seed included).
inline std::optional<SeededInput> split_seed(const std::uint8_t* data, std::size_t size, std::size_t min_size = 1)
{
    if (size < min_size || size < 1)
        return std::nullopt;
    return SeededInput{data[0], as_text(data + 1, size - 1)};
}

/// Piece sizes drawn from the seed: 1 + ((seed >> (step % rotate)) & mask) * scale.
struct SeededSizes {
    std::uint8_t seed = 0;
    unsigned rotate = 5;
    std::size_t mask = 15;
    std::size_t scale = 1;
    std::size_t step = 0;

    std::size_t operator()() { return 1 + ((seed >> (step++ % rotate)) & mask) * scale; }
};

/// Calls feed(piece) on consecutive pieces of `in`, sized by next_size()
/// (the last one cut to what is left).
template <class NextSize, class Feed>
void feed_pieces(std::string_view in, NextSize&& next_size, Feed&& feed)
{
    std::size_t pos = 0;
    while (pos < in.size()) {
        const std::size_t n = std::min<std::size_t>(next_size(), in.size() - pos);
        feed(in.substr(pos, n));
        pos += n;
    }
}

template <class Outcome>
struct Splits {
    Outcome whole;
    Outcome pieces;
    Outcome bytes;
};

/// The outcomes of run(next_size) with `in` fed whole, in `sizes` pieces and
/// byte by byte; run feeds with feed_pieces(in, next_size, ...).
template <class Run>
auto whole_pieces_bytes(std::string_view in, SeededSizes sizes, Run&& run)
{
    auto whole = run([n = in.size()] { return n; });
    auto pieces = run(sizes);
    auto bytes = run([] { return std::size_t{1}; });
    return Splits<decltype(whole)>{std::move(whole), std::move(pieces), std::move(bytes)};
}

} // namespace stirrup::fuzz
