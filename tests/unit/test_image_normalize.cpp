// normalize_image and its helpers. Test images are made in memory with
// libvips itself; expected sizes were computed with CPython 3 from Stirrup's
// downscale_image() and Pillow's Image.thumbnail() size logic (copied
// verbatim), so the tests themselves never run Python.

#include <doctest/doctest.h>

#include <vips/vips.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "stirrup/tools/detail/image_normalize.hpp"

using stirrup::detail::ImageError;
using stirrup::detail::ImageSize;
using stirrup::detail::normalize_image;
using stirrup::detail::sniff_image_mime;
using stirrup::detail::stirrup_target_size;

namespace {

// normalize_image initialises libvips on first use; the helpers below call
// vips directly, so make sure that has happened.
void ensure_vips()
{
    static const bool once = [] {
        try {
            (void)normalize_image("");
        } catch (const ImageError&) {
        }
        return true;
    }();
    (void)once;
}

struct Img {
    VipsImage* p = nullptr;
    explicit Img(VipsImage* i) : p(i) { REQUIRE(p != nullptr); }
    Img(const Img&) = delete;
    Img& operator=(const Img&) = delete;
    ~Img() { g_object_unref(p); }
};

// An image whose pixel (x, y) band b is f(x, y, b), 8-bit.
Img make_image(int w, int h, int bands, const std::function<unsigned char(int, int, int)>& f)
{
    ensure_vips();
    std::vector<unsigned char> px(static_cast<std::size_t>(w) * h * bands);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int b = 0; b < bands; ++b)
                px[(static_cast<std::size_t>(y) * w + x) * bands + b] = f(x, y, b);
    return Img(vips_image_new_from_memory_copy(px.data(), px.size(), w, h, bands, VIPS_FORMAT_UCHAR));
}

Img gradient(int w, int h, int bands = 3)
{
    return make_image(w, h, bands, [](int x, int y, int b) {
        return static_cast<unsigned char>(b == 3 ? 255 : (x * 7 + y * 3 + b * 50) & 0xff);
    });
}

std::string take(void* buf, std::size_t len)
{
    std::string s(static_cast<const char*>(buf), len);
    g_free(buf);
    return s;
}

std::string encode(const Img& img, std::string_view format)
{
    void* buf = nullptr;
    std::size_t len = 0;
    int rc = -1;
    if (format == "png")
        rc = vips_pngsave_buffer(img.p, &buf, &len, nullptr);
    else if (format == "jpeg")
        rc = vips_jpegsave_buffer(img.p, &buf, &len, nullptr);
    else if (format == "webp")
        rc = vips_webpsave_buffer(img.p, &buf, &len, "lossless", TRUE, nullptr);
    else if (format == "gif")
        rc = vips_gifsave_buffer(img.p, &buf, &len, nullptr);
    else if (format == "tiff")
        rc = vips_tiffsave_buffer(img.p, &buf, &len, nullptr);
    else
        rc = vips_magicksave_buffer(img.p, &buf, &len, "format", std::string(format).c_str(), nullptr);
    REQUIRE_MESSAGE(rc == 0, vips_error_buffer());
    return take(buf, len);
}

struct Decoded {
    int width = 0;
    int height = 0;
    int bands = 0;
    std::vector<unsigned char> px;
    std::vector<unsigned char> at(int x, int y) const
    {
        auto it = px.begin() + (static_cast<std::ptrdiff_t>(y) * width + x) * bands;
        return {it, it + bands};
    }
};

Decoded decode_png(const std::string& png)
{
    ensure_vips();
    REQUIRE(png.size() > 8);
    REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    VipsImage* raw = nullptr;
    REQUIRE(vips_pngload_buffer(const_cast<char*>(png.data()), png.size(), &raw, nullptr) == 0);
    Img img(raw);
    REQUIRE(vips_image_get_format(img.p) == VIPS_FORMAT_UCHAR);
    std::size_t n = 0;
    void* mem = vips_image_write_to_memory(img.p, &n);
    REQUIRE(mem != nullptr);
    Decoded d{img.p->Xsize, img.p->Ysize, img.p->Bands, {}};
    d.px.assign(static_cast<unsigned char*>(mem), static_cast<unsigned char*>(mem) + n);
    g_free(mem);
    return d;
}

Decoded normalized(std::string_view bytes, std::size_t max_pixels = 1'000'000)
{
    const stirrup::ImageBlock block = normalize_image(bytes, max_pixels);
    CHECK(block.mime_type == "image/png");
    return decode_png(block.data);
}

// A string literal as bytes, embedded NULs included.
template <std::size_t N>
constexpr std::string_view B(const char (&s)[N])
{
    return {s, N - 1};
}

std::string error_of(std::string_view bytes)
{
    try {
        (void)normalize_image(bytes);
    } catch (const ImageError& e) {
        return e.what();
    }
    return "<no error>";
}

// ---- PNG built by hand, for headers that lie about the size ----

std::uint32_t crc32(std::string_view s)
{
    std::uint32_t c = 0xffffffffu;
    for (unsigned char ch : s) {
        c ^= ch;
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

void put32(std::string& s, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        s += static_cast<char>((v >> shift) & 0xff);
}

void chunk(std::string& png, std::string_view type, std::string_view data)
{
    put32(png, static_cast<std::uint32_t>(data.size()));
    std::string body(type);
    body += data;
    png += body;
    put32(png, crc32(body));
}

// Signature and IHDR claiming w x h 8-bit RGB, then an IDAT whose zlib
// stream ends almost at once: the header is honest, the pixels are missing.
std::string lying_png(std::uint32_t w, std::uint32_t h)
{
    std::string png = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    put32(ihdr, w);
    put32(ihdr, h);
    ihdr += std::string("\x08\x02\x00\x00\x00", 5);
    chunk(png, "IHDR", ihdr);
    chunk(png, "IDAT", std::string("\x78\x9c\x63\x00\x00\x00\x01\x00\x01", 9));
    chunk(png, "IEND", "");
    return png;
}

std::uint32_t png_ihdr(const std::string& png, std::size_t at)
{
    if (png.size() < at + 4)
        return 0;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(png[at + i]);
    return v;
}

} // namespace

TEST_CASE("sniff_image_mime follows the filetype package")
{
    CHECK(sniff_image_mime("") == "");
    CHECK(sniff_image_mime("not an image") == "");
    CHECK(sniff_image_mime("\xff\xd8\xff") == "image/jpeg");
    CHECK(sniff_image_mime("\x89PN") == ""); // filetype wants at least 4 bytes
    CHECK(sniff_image_mime("\x89PNG") == "image/png");
    CHECK(sniff_image_mime("GIF") == "image/gif");
    CHECK(sniff_image_mime(B("RIFF\0\0\0\0WEBPVP8L")) == "image/webp");
    CHECK(sniff_image_mime(B("RIFF\0\0\0\0WEBPXX8L")) == "");
    CHECK(sniff_image_mime(B("II*\0\x08\0\0\0\0\0")) == "image/tiff");
    CHECK(sniff_image_mime(B("MM\0*\0\0\0\x08\0\0")) == "image/tiff");
    CHECK(sniff_image_mime(B("II*\0\x10\0\0\0CR")) == "image/x-canon-cr2");
    CHECK(sniff_image_mime("BM") == "image/bmp");
    CHECK(sniff_image_mime("8BPS") == "image/vnd.adobe.photoshop");
    CHECK(sniff_image_mime(B("\0\0\1\0\1\0")) == "image/x-icon");
    // An acTL chunk before IDAT makes a PNG an APNG, which Stirrup does not allow.
    std::string apng = "\x89PNG\r\n\x1a\n";
    chunk(apng, "IHDR", std::string(13, '\1'));
    chunk(apng, "acTL", std::string(8, '\0'));
    CHECK(sniff_image_mime(apng) == "image/apng");
    CHECK(sniff_image_mime(lying_png(4, 4)) == "image/png");
}

TEST_CASE("stirrup_target_size matches downscale_image + Image.thumbnail")
{
    const std::size_t mp = 1'000'000;
    CHECK(stirrup_target_size(2000, 1500, mp) == ImageSize{1154, 866});
    CHECK(stirrup_target_size(4000, 3000, mp) == ImageSize{1154, 866});
    // thumbnail() re-derives one side from the aspect ratio, so it can be odd.
    CHECK(stirrup_target_size(1920, 1080, mp) == ImageSize{1332, 749});
    CHECK(stirrup_target_size(1000, 1001, mp) == ImageSize{998, 999});
    CHECK(stirrup_target_size(1000, 1000, mp) == ImageSize{1000, 1000});
    CHECK(stirrup_target_size(1001, 999, mp) == ImageSize{1001, 999});
    // Small images are never touched, so the 2x2 minimum does not apply...
    CHECK(stirrup_target_size(1, 1, mp) == ImageSize{1, 1});
    CHECK(stirrup_target_size(10000, 1, mp) == ImageSize{10000, 1});
    CHECK(stirrup_target_size(1, 3000, mp) == ImageSize{1, 3000});
    // ...and when they are, downscale_image asks for 2 but thumbnail gives 1.
    CHECK(stirrup_target_size(10000, 1, 1000) == ImageSize{3162, 1});
    CHECK(stirrup_target_size(1, 10000, 1000) == ImageSize{1, 3162});
    CHECK(stirrup_target_size(2000000, 1, mp) == ImageSize{1414212, 1});
    CHECK(stirrup_target_size(3, 1000000, mp) == ImageSize{2, 577350});
    CHECK(stirrup_target_size(4, 4, 0) == ImageSize{2, 2});
}

TEST_CASE("a small PNG passes through unchanged")
{
    Img src = gradient(40, 30);
    const Decoded out = normalized(encode(src, "png"));
    CHECK(out.width == 40);
    CHECK(out.height == 30);
    CHECK(out.bands == 3);
    for (int y = 0; y < 30; ++y)
        for (int x = 0; x < 40; ++x)
            for (int b = 0; b < 3; ++b)
                REQUIRE(out.px[(static_cast<std::size_t>(y) * 40 + x) * 3 + b] ==
                        static_cast<unsigned char>((x * 7 + y * 3 + b * 50) & 0xff));
}

TEST_CASE("alpha is dropped, not composited")
{
    // Fully transparent pixels keep their colour, as PIL's convert("RGB") does.
    Img src = make_image(8, 8, 4, [](int x, int, int b) {
        const unsigned char rgba[4] = {200, 100, 50, static_cast<unsigned char>(x < 4 ? 0 : 128)};
        return rgba[b];
    });
    const Decoded out = normalized(encode(src, "png"));
    CHECK(out.bands == 3);
    CHECK(out.at(0, 0) == std::vector<unsigned char>{200, 100, 50});
    CHECK(out.at(7, 7) == std::vector<unsigned char>{200, 100, 50});
}

TEST_CASE("greyscale, grey+alpha, palette and 16-bit PNGs become 8-bit RGB")
{
    Img grey = make_image(5, 5, 1, [](int x, int, int) { return static_cast<unsigned char>(x * 50); });
    Decoded out = normalized(encode(grey, "png"));
    CHECK(out.bands == 3);
    CHECK(out.at(3, 1) == std::vector<unsigned char>{150, 150, 150});

    Img grey_alpha = make_image(5, 5, 2, [](int x, int, int b) { return static_cast<unsigned char>(b ? 0 : x * 50); });
    out = normalized(encode(grey_alpha, "png"));
    CHECK(out.bands == 3);
    CHECK(out.at(4, 0) == std::vector<unsigned char>{200, 200, 200});

    Img few =
        make_image(6, 6, 3, [](int x, int, int b) { return static_cast<unsigned char>(x % 2 ? 255 * (b == 0) : 0); });
    void* buf = nullptr;
    std::size_t len = 0;
    REQUIRE(vips_pngsave_buffer(few.p, &buf, &len, "palette", TRUE, nullptr) == 0);
    out = normalized(take(buf, len));
    CHECK(out.bands == 3);
    CHECK(out.at(1, 0) == std::vector<unsigned char>{255, 0, 0});
    CHECK(out.at(2, 0) == std::vector<unsigned char>{0, 0, 0});

    VipsImage* wide = nullptr;
    REQUIRE(vips_cast_ushort(gradient(6, 6).p, &wide, nullptr) == 0);
    Img wide_img(wide);
    VipsImage* scaled = nullptr;
    REQUIRE(vips_linear1(wide_img.p, &scaled, 256.0, 0.0, "uchar", FALSE, nullptr) == 0);
    Img rgb16_raw(scaled);
    VipsImage* rgb16 = nullptr;
    REQUIRE(vips_copy(rgb16_raw.p, &rgb16, "interpretation", VIPS_INTERPRETATION_RGB16, nullptr) == 0);
    Img rgb16_img(rgb16);
    REQUIRE(vips_cast_ushort(rgb16_img.p, &scaled, nullptr) == 0);
    Img rgb16_u(scaled);
    out = normalized(encode(rgb16_u, "png"));
    CHECK(out.bands == 3);
    CHECK(out.at(5, 5) == std::vector<unsigned char>{(5 * 7 + 5 * 3) & 0xff, (50 + 50) & 0xff, (50 + 100) & 0xff});
}

TEST_CASE("a CMYK JPEG becomes RGB")
{
    Img ink = make_image(16, 16, 4, [](int, int, int b) { return static_cast<unsigned char>(b == 1 ? 255 : 0); });
    VipsImage* cmyk = nullptr;
    REQUIRE(vips_copy(ink.p, &cmyk, "interpretation", VIPS_INTERPRETATION_CMYK, nullptr) == 0);
    Img cmyk_img(cmyk);
    const Decoded out = normalized(encode(cmyk_img, "jpeg"));
    CHECK(out.bands == 3);
    const auto px = out.at(8, 8);
    // Full magenta ink: red and blue well above green whatever the profile.
    CHECK(px[0] > px[1] + 100);
    CHECK(px[2] > px[1] + 50);
}

TEST_CASE("a 2000x1500 JPEG is scaled to Stirrup's size")
{
    Img src = gradient(2000, 1500);
    const Decoded out = normalized(encode(src, "jpeg"));
    CHECK(out.width == 1154);
    CHECK(out.height == 866);
    CHECK(out.bands == 3);
    CHECK(static_cast<std::uint64_t>(out.width) * out.height <= 1'000'000);
}

TEST_CASE("a 1920x1080 RGBA PNG comes out 1332x749 without alpha")
{
    Img src = make_image(1920, 1080, 4, [](int x, int, int b) {
        return static_cast<unsigned char>(b == 3 ? 255 : (b == 1 ? 255 : x & 1 ? 255 : 0));
    });
    const Decoded out = normalized(encode(src, "png"));
    CHECK(out.width == 1332);
    CHECK(out.height == 749);
    CHECK(out.bands == 3);
    CHECK(out.at(600, 300)[1] == 255); // an opaque constant channel stays constant
}

TEST_CASE("resizing an image with alpha weights colour by opacity")
{
    // Left half opaque green, right half transparent red: premultiplied
    // resampling keeps the red out of the green side's edge.
    Img src = make_image(2000, 1000, 4, [](int x, int, int b) {
        const bool left = x < 1000;
        const unsigned char px[2][4] = {{255, 0, 0, 0}, {0, 255, 0, 255}};
        return px[left][b];
    });
    const Decoded out = normalized(encode(src, "png"));
    REQUIRE(out.width == 1412);
    REQUIRE(out.height == 706);
    const auto edge = out.at(704, 350);
    CHECK(edge[0] < 8);
    CHECK(edge[1] > 247);
}

TEST_CASE("webp, gif, bmp, tiff and psd are accepted")
{
    Img src = gradient(33, 21);
    for (const char* format : {"webp", "gif", "bmp", "tiff", "psd"}) {
        CAPTURE(format);
        const std::string bytes = encode(src, format);
        const Decoded out = normalized(bytes);
        CHECK(out.width == 33);
        CHECK(out.height == 21);
        CHECK(out.bands == 3);
    }
    // Lossless formats keep the pixels.
    for (const char* format : {"webp", "bmp", "tiff"}) {
        CAPTURE(format);
        const Decoded out = normalized(encode(src, format));
        CHECK(out.at(10, 7) ==
              std::vector<unsigned char>{(70 + 21) & 0xff, (70 + 21 + 50) & 0xff, (70 + 21 + 100) & 0xff});
    }
}

TEST_CASE("an animated GIF gives its first frame")
{
    Img frames = make_image(
        10, 20, 3, [](int, int y, int b) { return static_cast<unsigned char>((y < 10 ? b == 0 : b == 2) ? 255 : 0); });
    vips_image_set_int(frames.p, VIPS_META_PAGE_HEIGHT, 10);
    const Decoded out = normalized(encode(frames, "gif"));
    CHECK(out.width == 10);
    CHECK(out.height == 10);
    CHECK(out.at(5, 9) == std::vector<unsigned char>{255, 0, 0});
}

TEST_CASE("truncated and corrupt files are rejected")
{
    const std::string png = encode(gradient(64, 64), "png");
    const std::string jpeg = encode(gradient(64, 64), "jpeg");
    for (const std::string* full : {&png, &jpeg}) {
        for (std::size_t keep : {full->size() / 2, full->size() - 20, std::size_t{40}}) {
            CAPTURE(keep);
            CHECK_THROWS_AS(normalize_image(std::string_view(*full).substr(0, keep)), ImageError);
        }
    }
    const Img noise = make_image(
        64, 64, 3, [](int x, int y, int b) { return static_cast<unsigned char>((x * 131 + y * 71 + b * 29) % 251); });
    for (const char* format : {"gif", "webp", "tiff", "bmp"}) {
        CAPTURE(format);
        const std::string file = encode(noise, format);
        CHECK_NOTHROW(normalize_image(file));
        CHECK_THROWS_AS(normalize_image(std::string_view(file).substr(0, file.size() / 2)), ImageError);
    }
    std::string flipped = png;
    flipped[png.size() / 2] = static_cast<char>(flipped[png.size() / 2] ^ 0x55);
    CHECK_THROWS_AS(normalize_image(flipped), ImageError);
    CHECK(error_of(png.substr(0, png.size() / 2)).find("corrupt/unsupported image file (image/png)") !=
          std::string::npos);
    CHECK_THROWS_AS(normalize_image(lying_png(64, 64)), ImageError);
}

TEST_CASE("non-images and disallowed types are rejected with Stirrup's messages")
{
    CHECK(error_of("") == "Unsupported file type b''");
    CHECK(error_of("not an image") == "Unsupported file type b'not an image'");
    CHECK(error_of(B("\0\x01\xff'\n")) == "Unsupported file type b\"\\x00\\x01\\xff'\\n\"");
    CHECK(error_of(std::string(100, 'a')) == "Unsupported file type b'" + std::string(32, 'a') + "'... (100 bytes)");

    std::mt19937 rng(1234);
    for (int i = 0; i < 50; ++i) {
        std::string junk(1 + rng() % 300, '\0');
        for (char& c : junk)
            c = static_cast<char>(rng());
        CHECK_THROWS_AS(normalize_image(junk), ImageError);
    }

    const std::string ico = error_of(B("\0\0\1\0\1\0\x10\x10"));
    CHECK(ico.rfind("Unsupported mime_type 'image/x-icon'; allowed: ", 0) == 0);
    CHECK(ico.find("image/webp") != std::string::npos);
    std::string apng = "\x89PNG\r\n\x1a\n";
    chunk(apng, "IHDR", std::string(13, '\1'));
    chunk(apng, "acTL", std::string(8, '\0'));
    CHECK(error_of(apng).rfind("Unsupported mime_type 'image/apng'", 0) == 0);
}

TEST_CASE("tiny and thin images follow Stirrup's size rules")
{
    Decoded out = normalized(encode(gradient(1, 1), "png"));
    CHECK(out.width == 1);
    CHECK(out.height == 1);
    out = normalized(encode(gradient(10000, 1), "png"));
    CHECK(out.width == 10000);
    CHECK(out.height == 1);
    out = normalized(encode(gradient(10000, 1), "png"), 1000);
    CHECK(out.width == 3162);
    CHECK(out.height == 1);
    out = normalized(encode(gradient(1, 10000), "png"), 1000);
    CHECK(out.width == 1);
    CHECK(out.height == 3162);
    out = normalized(encode(gradient(7, 5), "png"), 0);
    CHECK(out.width == 2);
    CHECK(out.height == 2);
}

TEST_CASE("decompression bombs are refused from the header, at PIL's limit")
{
    CHECK(stirrup::detail::kMaxImagePixels == 178956970);
    // 13380 * 13375 = 178957500: just over, refused before any decoding.
    CHECK(error_of(lying_png(13380, 13375)) ==
          "Image size (178957500 pixels) exceeds limit of 178956970 pixels, could be decompression bomb DOS attack.");
    CHECK(error_of(lying_png(1000000, 1000000)).find("decompression bomb") != std::string::npos);
    // 13377 * 13378 = 178957506 is over; 13377 * 13377 = 178944129 is under and
    // gets as far as the decoder, which finds the pixels missing.
    CHECK(error_of(lying_png(13377, 13378)).find("decompression bomb") != std::string::npos);
    const std::string under = error_of(lying_png(13377, 13377));
    CHECK(under.find("decompression bomb") == std::string::npos);
    CHECK(under.find("corrupt/unsupported image file") != std::string::npos);
}

TEST_CASE("normalize_image is safe to call from several threads")
{
    const std::string small = encode(gradient(300, 200), "png");
    const std::string big = encode(gradient(1200, 1000), "jpeg");
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 3; ++i) {
                // No doctest macros off the main thread: a failing REQUIRE
                // would throw out of the thread.
                try {
                    const std::string png = normalize_image((t + i) % 2 ? small : big).data;
                    const std::uint32_t w = png_ihdr(png, 16), h = png_ihdr(png, 20);
                    ok[t] += (t + i) % 2 ? w == 300 && h == 200 : w == 1094 && h == 912;
                } catch (...) {
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (int t = 0; t < 4; ++t)
        CHECK(ok[t] == 3);
}
