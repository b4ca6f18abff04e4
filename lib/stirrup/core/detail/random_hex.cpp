#include "stirrup/core/detail/random_hex.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace stirrup::detail {

namespace {

std::mt19937_64& engine()
{
    // A full-width seed: with a single 32-bit value, two threads would share
    // a sequence once in 2^32 pairs.
    static thread_local std::mt19937_64 rng = [] {
        std::random_device rd;
        std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
        return std::mt19937_64(seq);
    }();
    return rng;
}

constexpr char kHex[] = "0123456789abcdef";

} // namespace

std::string random_hex(std::size_t digits)
{
    auto& rng = engine();
    std::string s(digits, '0');
    for (auto& c : s)
        c = kHex[rng() % 16];
    return s;
}

std::string uuid4_hex()
{
    auto& rng = engine();
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < 16; i += 8) {
        const std::uint64_t r = rng();
        for (std::size_t j = 0; j < 8; ++j)
            bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
    bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40); // version 4
    bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80); // RFC 4122 variant
    std::string out(32, '0');
    for (std::size_t i = 0; i < 16; ++i) {
        out[2 * i] = kHex[bytes[i] >> 4];
        out[2 * i + 1] = kHex[bytes[i] & 15];
    }
    return out;
}

} // namespace stirrup::detail
