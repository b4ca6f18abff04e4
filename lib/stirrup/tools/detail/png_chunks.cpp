#include "stirrup/tools/detail/png_chunks.hpp"

#include <cstdint>

#include <boost/crc.hpp>

namespace stirrup::detail {

namespace {

constexpr std::string_view kSignature{"\x89PNG\r\n\x1a\n", 8};

std::uint32_t be32(std::string_view s, std::size_t at)
{
    return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

} // namespace

std::string drop_damaged_ancillary_chunks(std::string_view bytes)
{
    if (bytes.substr(0, kSignature.size()) != kSignature)
        return std::string(bytes);
    std::string out(kSignature);
    std::size_t at = kSignature.size();
    while (at < bytes.size()) {
        if (bytes.size() - at < 12)
            return std::string(bytes);
        const std::uint32_t length = be32(bytes, at);
        if (length > bytes.size() - at - 12)
            return std::string(bytes);
        const std::string_view chunk = bytes.substr(at, 12 + std::size_t(length));
        const std::string_view typed = chunk.substr(4, 4 + std::size_t(length));
        boost::crc_32_type crc;
        crc.process_bytes(typed.data(), typed.size());
        const bool ancillary = (std::uint8_t(chunk[4]) & 0x20) != 0;
        if (crc.checksum() == be32(chunk, 8 + length) || !ancillary)
            out.append(chunk);
        at += chunk.size();
    }
    return out;
}

} // namespace stirrup::detail
