// libFuzzer target for normalize_image. libvips is not instrumented, so the
// fuzzer cannot learn image formats from coverage; half the inputs are
// therefore turned into real images first (format, size, bands and pixels
// from the input, encoded by libvips) and then damaged in input-chosen ways,
// which reaches the decoders' error paths far more often than raw bytes.
//
// Properties:
//  - only detail::ImageError escapes normalize_image;
//  - a result is an 8-bit RGB PNG (IHDR colour type 2), "image/png";
//  - anything accepted was sniffed as an allowed type;
//  - an undamaged synthesised image is always accepted, at exactly
//    detail::stirrup_target_size(w, h, max_pixels);
//  - stirrup_target_size never enlarges, never gives 0, and leaves images
//    within the budget alone.
//
// Input layout: byte 0 = mode (bit 0: raw or synthesised) and budget choice;
// raw mode: the rest is the file. Synthesised mode: bytes 1..6 pick format,
// width, height, bands, damage kind and position; the rest seeds the pixels.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <vips/vips.h>

#include "stirrup/tools/detail/image_normalize.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::fuzz::require;

std::uint32_t be32(const std::string& s, std::size_t at)
{
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

bool allowed(std::string_view mime)
{
    return mime == "image/jpeg" || mime == "image/png" || mime == "image/webp" || mime == "image/gif" ||
           mime == "image/bmp" || mime == "image/tiff" || mime == "image/vnd.adobe.photoshop";
}

struct Result {
    bool ok = false;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
};

Result run(std::string_view bytes, std::size_t max_pixels)
{
    stirrup::ImageBlock block;
    try {
        block = stirrup::detail::normalize_image(bytes, max_pixels);
    } catch (const stirrup::detail::ImageError&) {
        return {};
    }
    require(allowed(stirrup::detail::sniff_image_mime(bytes)));
    require(block.mime_type == "image/png");
    const std::string& png = block.data;
    require(png.size() > 33 && png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && png.compare(12, 4, "IHDR") == 0);
    require(png[24] == 8 && png[25] == 2); // 8-bit, truecolour without alpha
    return {true, be32(png, 16), be32(png, 20)};
}

void check_target_size(std::uint64_t w, std::uint64_t h, std::size_t max_pixels)
{
    const stirrup::detail::ImageSize t = stirrup::detail::stirrup_target_size(w, h, max_pixels);
    require(t.width >= 1 && t.height >= 1);
    require(t.width <= w && t.height <= h);
    if (w <= max_pixels / h)
        require(t.width == w && t.height == h); // w * h <= max, without overflow
}

std::string encode(VipsImage* img, unsigned format)
{
    void* buf = nullptr;
    std::size_t len = 0;
    int rc = -1;
    switch (format % 7) {
    case 0:
        rc = vips_pngsave_buffer(img, &buf, &len, nullptr);
        break;
    case 1:
        rc = vips_jpegsave_buffer(img, &buf, &len, nullptr);
        break;
    case 2:
        rc = vips_webpsave_buffer(img, &buf, &len, nullptr);
        break;
    case 3:
        rc = vips_gifsave_buffer(img, &buf, &len, nullptr);
        break;
    case 4:
        rc = vips_tiffsave_buffer(img, &buf, &len, nullptr);
        break;
    case 5:
        rc = vips_magicksave_buffer(img, &buf, &len, "format", "bmp", nullptr);
        break;
    default:
        rc = vips_magicksave_buffer(img, &buf, &len, "format", "psd", nullptr);
        break;
    }
    std::string out;
    if (rc == 0)
        out.assign(static_cast<const char*>(buf), len);
    else
        vips_error_clear();
    g_free(buf);
    return out;
}

void synthesised(const std::uint8_t* data, std::size_t size, std::size_t max_pixels)
{
    if (size < 7)
        return;
    const unsigned format = data[1];
    const int w = 1 + data[2] % 48;
    const int h = 1 + data[3] % 48;
    const int bands = 1 + data[4] % 4;
    const unsigned damage = data[5] % 4;
    const unsigned where = data[6];
    const std::uint8_t* seed = data + 7;
    const std::size_t seed_len = size - 7;

    std::string px(static_cast<std::size_t>(w) * h * bands, '\0');
    for (std::size_t i = 0; i < px.size(); ++i)
        px[i] = static_cast<char>(seed_len ? seed[i % seed_len] + i / seed_len : i);
    VipsImage* img = vips_image_new_from_memory_copy(px.data(), px.size(), w, h, bands, VIPS_FORMAT_UCHAR);
    require(img != nullptr);
    std::string file = encode(img, format);
    g_object_unref(img);
    if (file.empty())
        return;

    if (damage == 0) {
        const Result r = run(file, max_pixels);
        require(r.ok);
        const stirrup::detail::ImageSize t = stirrup::detail::stirrup_target_size(w, h, max_pixels);
        require(r.width == t.width && r.height == t.height);
        return;
    }
    const std::size_t at = file.size() * where / 256;
    if (damage == 1)
        file.resize(at); // truncated
    else if (damage == 2)
        file[at] = static_cast<char>(file[at] ^ 0xa5); // one byte flipped
    else
        file.erase(at, std::min<std::size_t>(file.size() - at, 1 + where % 16)); // bytes missing
    (void)run(file, max_pixels);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // normalize_image initialises libvips; the synthesiser needs it first.
    static const bool vips_ready = (run({}, 1'000'000), true);
    (void)vips_ready;
    if (size == 0)
        return 0;
    // Small budgets make tiny images take the resize path.
    static constexpr std::size_t budgets[] = {1'000'000, 0, 1, 2, 7, 64, 300, 1000};
    const std::size_t max_pixels = budgets[(data[0] >> 1) % 8];

    if (size >= 9) {
        std::uint32_t w = 0, h = 0;
        for (int i = 1; i < 5; ++i)
            w = (w << 8) | data[i];
        for (int i = 5; i < 9; ++i)
            h = (h << 8) | data[i];
        check_target_size(w ? w : 1, h ? h : 1, max_pixels * (data[0] >> 4));
    }

    if (data[0] & 1) {
        synthesised(data, size, max_pixels);
    } else {
        (void)run(stirrup::fuzz::as_text(data + 1, size - 1), max_pixels);
    }
    return 0;
}
