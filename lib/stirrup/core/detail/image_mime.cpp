#include "stirrup/core/detail/image_mime.hpp"

#include <cstdint>

namespace stirrup::detail {

namespace {

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::uint32_t be32(std::string_view s, std::size_t at)
{
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// filetype's Apng matcher: a PNG whose acTL chunk comes before the first IDAT.
bool is_apng(std::string_view buf)
{
    if (buf.size() <= 8 || !starts_with(buf, "\x89PNG\r\n\x1a\n"))
        return false;
    std::uint64_t i = 8;
    while (buf.size() > i) {
        // Python slicing past the end yields short reads; mirror them.
        std::uint32_t length = 0;
        for (std::uint64_t k = i; k < i + 4 && k < buf.size(); ++k)
            length = (length << 8) | static_cast<unsigned char>(buf[k]);
        i += 4;
        const std::string_view type = i < buf.size() ? buf.substr(i, 4) : std::string_view{};
        i += 4;
        if (type == "IDAT" || type == "IEND")
            return false;
        if (type == "acTL")
            return true;
        i += std::uint64_t{length} + 4;
    }
    return false;
}

bool is_isobmff_brand(std::string_view buf, std::string_view brand)
{
    // Close to filetype's IsoBmff ("ftyp" box at offset 4; major brand, or a
    // compatible brand under mif1/msf1). Both types are refused anyway; this
    // only decides which name the error message gives.
    if (buf.size() < 16 || buf.substr(4, 4) != "ftyp")
        return false;
    const std::uint32_t box = be32(buf, 0);
    if (box < 16 || box > buf.size())
        return false;
    const std::string_view major = buf.substr(8, 4);
    if (major == brand)
        return true;
    if (brand == "avif" && major == "avis")
        return true;
    if (major != "mif1" && major != "msf1")
        return false;
    for (std::size_t at = 16; at + 4 <= box; at += 4)
        if (buf.substr(at, 4) == brand)
            return true;
    return false;
}

bool is_tiff_header(std::string_view b)
{
    return starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4));
}

} // namespace

std::string_view sniff_image_mime(std::string_view bytes)
{
    const std::string_view b = bytes.substr(0, std::min<std::size_t>(bytes.size(), 8192));
    auto at = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    // filetype.types.IMAGE order; first match wins.
    if (starts_with(b, "AC10"))
        return "image/vnd.dwg";
    if (starts_with(b, "gimp xcf v"))
        return "image/x-xcf";
    if (b.size() > 2 && at(0) == 0xFF && at(1) == 0xD8 && at(2) == 0xFF)
        return "image/jpeg";
    if (b.size() > 50 && starts_with(b, std::string_view("\0\0\0\x0c", 4)) && b.substr(16, 8) == "ftypjp2 ")
        return "image/jpx";
    if (is_apng(b))
        return "image/apng";
    if (b.size() > 3 && starts_with(b, "\x89PNG"))
        return "image/png";
    if (b.size() > 2 && starts_with(b, "GIF"))
        return "image/gif";
    if (b.size() > 13 && starts_with(b, "RIFF") && b.substr(8, 6) == "WEBPVP")
        return "image/webp";
    if (b.size() > 9 && is_tiff_header(b) && b.substr(8, 2) != "CR")
        return "image/tiff";
    if (b.size() > 9 && is_tiff_header(b))
        return "image/x-canon-cr2";
    if (b.size() > 1 && starts_with(b, "BM"))
        return "image/bmp";
    if (b.size() > 2 && starts_with(b, "II\xbc"))
        return "image/vnd.ms-photo";
    if (b.size() > 3 && starts_with(b, "8BPS"))
        return "image/vnd.adobe.photoshop";
    if (b.size() > 3 && starts_with(b, std::string_view("\0\0\1\0", 4)))
        return "image/x-icon";
    if (is_isobmff_brand(b, "heic"))
        return "image/heic";
    if (b.size() > 132 && b.substr(128, 4) == "DICM")
        return "application/dicom";
    if (is_isobmff_brand(b, "avif"))
        return "image/avif";
    return {};
}

bool is_supported_image_mime(std::string_view mime) noexcept
{
    for (std::string_view ok :
         {"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff", "image/vnd.adobe.photoshop"})
        if (mime == ok)
            return true;
    return false;
}

} // namespace stirrup::detail
