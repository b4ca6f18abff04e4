#include "stirrup/tools/detail/image_normalize.hpp"

#include "stirrup/core/detail/image_mime.hpp"

#include <vips/vips.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <utility>

namespace stirrup::detail {

namespace {

std::uint32_t be32(std::string_view s, std::size_t at)
{
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// Python's repr() of a bytes object, shortened: Stirrup puts the whole
// buffer in its message, which for a large file is megabytes of noise.
std::string bytes_repr(std::string_view data, std::size_t limit = 32)
{
    const std::string_view shown = data.substr(0, std::min(limit, data.size()));
    const bool has_single = shown.find('\'') != std::string_view::npos;
    const bool has_double = shown.find('"') != std::string_view::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out = "b";
    out += quote;
    for (unsigned char c : shown) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (c == static_cast<unsigned char>(quote)) {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x20 || c >= 0x7f) {
                char hex[5];
                std::snprintf(hex, sizeof hex, "\\x%02x", c);
                out += hex;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += quote;
    if (shown.size() < data.size())
        out += "... (" + std::to_string(data.size()) + " bytes)";
    return out;
}

// Stirrup's allowed_mime_types, psd included (Debian's libvips loads it
// through ImageMagick), plus webp which the notes list as allowed.
constexpr std::array<std::string_view, 7> kAllowed = {
    "image/bmp", "image/gif", "image/jpeg", "image/png", "image/tiff", "image/vnd.adobe.photoshop", "image/webp",
};

// ---- vips plumbing -------------------------------------------------------------

struct VipsState {
    bool ok = false;
    std::string error;
};

const VipsState& vips_state()
{
    static VipsState state;
    static std::once_flag once;
    std::call_once(once, [] {
        if (VIPS_INIT("stirrup") != 0) {
            char* msg = vips_error_buffer_copy();
            state.error = msg ? msg : "unknown error";
            g_free(msg);
            return;
        }
        // The operation cache keys buffer loads on the buffer's address; a
        // later call with different bytes at a reused address could get a
        // stale image. Nothing here benefits from caching anyway.
        vips_cache_set_max(0);
        // Every failure reaches the caller as an ImageError carrying the vips
        // message; the same text on stderr would only corrupt a terminal UI.
        g_log_set_handler(
            "VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO),
            [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
        state.ok = true;
    });
    return state;
}

struct ImageRef {
    VipsImage* p = nullptr;

    ImageRef() = default;
    explicit ImageRef(VipsImage* img) : p(img) {}
    ImageRef(const ImageRef&) = delete;
    ImageRef& operator=(const ImageRef&) = delete;
    ImageRef(ImageRef&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
    ImageRef& operator=(ImageRef&& o) noexcept
    {
        if (this != &o) {
            reset();
            p = std::exchange(o.p, nullptr);
        }
        return *this;
    }
    ~ImageRef() { reset(); }
    void reset()
    {
        if (p)
            g_object_unref(p);
        p = nullptr;
    }
    VipsImage* get() const { return p; }
};

std::string take_vips_error()
{
    char* raw = vips_error_buffer_copy();
    std::string msg = raw ? raw : "";
    g_free(raw);
    // vips stacks one line per failing layer; keep them, on one line.
    std::string out;
    std::size_t start = 0;
    while (start < msg.size()) {
        std::size_t end = msg.find('\n', start);
        if (end == std::string::npos)
            end = msg.size();
        const std::string_view line(msg.data() + start, end - start);
        // The saver's own "unable to write" line only says the decode above it failed.
        if (!line.empty() && line.find("unable to write to target") == std::string_view::npos) {
            if (!out.empty())
                out += "; ";
            out += line;
        }
        start = end + 1;
    }
    return out.empty() ? "unknown libvips error" : out;
}

[[noreturn]] void fail_decode(std::string_view mime)
{
    throw ImageError("You submitted a corrupt/unsupported image file (" + std::string(mime) +
                     "): " + take_vips_error());
}

std::uint32_t crc32(std::string_view data)
{
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : data)
        c = table[(c ^ b) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// libpng reports a bad chunk CRC only as a benign error that libvips does not
// always turn into a failure (seen flaky), so a flipped byte could slip
// through: every chunk's CRC is checked here, deterministically, up to IEND.
bool png_chunks_intact(std::string_view png)
{
    std::size_t at = 8; // after the signature
    while (at + 12 <= png.size()) {
        const std::uint32_t len = be32(png, at);
        if (len > png.size() - at - 12)
            return false;
        const std::string_view typed = png.substr(at + 4, 4 + len);
        if (crc32(typed) != be32(png, at + 8 + len))
            return false;
        if (typed.substr(0, 4) == "IEND")
            return true;
        at += 12 + len;
    }
    return false;
}

// Sequential access streams the decode through the whole pipeline, so the
// full decode happens once, in pngsave, with bounded memory; fail_on=error
// turns truncation and decoder errors into a failure instead of grey rows.
ImageRef load(std::string_view bytes, std::string_view mime)
{
    void* buf = const_cast<char*>(bytes.data());
    const std::size_t len = bytes.size();
    VipsImage* out = nullptr;
    int rc = -1;
    if (mime == "image/jpeg")
        rc = vips_jpegload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                  nullptr);
    else if (mime == "image/png")
        rc = vips_pngload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                 nullptr);
    else if (mime == "image/webp")
        rc = vips_webpload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                  nullptr);
    else if (mime == "image/gif")
        rc = vips_gifload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                 nullptr);
    else if (mime == "image/tiff")
        rc = vips_tiffload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                  nullptr);
    else
        // libvips has no native BMP or PSD reader; Debian builds the
        // ImageMagick module. The sniffed signature has been checked, so
        // ImageMagick's own detection picks the matching coder.
        rc = vips_magickload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR,
                                    nullptr);
    if (rc != 0) {
        if (out)
            g_object_unref(out);
        fail_decode(mime);
    }
    return ImageRef(out);
}

template <typename F>
ImageRef apply(std::string_view mime, F&& op)
{
    VipsImage* out = nullptr;
    if (op(&out) != 0) {
        if (out)
            g_object_unref(out);
        fail_decode(mime);
    }
    return ImageRef(out);
}

// Embedded profiles (Display P3, Adobe RGB, CMYK) are honoured by mapping to
// sRGB, since the PNG goes out without metadata. A profile lcms rejects is
// ignored, as PIL ignores profiles altogether.
ImageRef apply_icc(ImageRef img)
{
    if (!vips_image_get_typeof(img.get(), VIPS_META_ICC_NAME))
        return img;
    VipsImage* out = nullptr;
    if (vips_icc_transform(img.get(), &out, "srgb", "embedded", TRUE, "depth", 8, nullptr) != 0) {
        if (out)
            g_object_unref(out);
        vips_error_clear();
        return img;
    }
    return ImageRef(out);
}

// 8-bit sRGB, alpha (if any) kept as the last band for now.
ImageRef to_srgb(ImageRef img, std::string_view mime)
{
    VipsImage* in = img.get();
    if (vips_image_get_interpretation(in) == VIPS_INTERPRETATION_sRGB &&
        vips_image_get_format(in) == VIPS_FORMAT_UCHAR && (in->Bands == 3 || in->Bands == 4))
        return img;
    const VipsInterpretation guessed = vips_image_guess_interpretation(in);
    if (vips_colourspace_issupported(in) && guessed != VIPS_INTERPRETATION_MULTIBAND) {
        VipsImage* out = nullptr;
        if (vips_colourspace(in, &out, VIPS_INTERPRETATION_sRGB, nullptr) == 0) {
            img = ImageRef(out);
            if (vips_image_get_format(img.get()) != VIPS_FORMAT_UCHAR)
                img = apply(mime, [&](VipsImage** o) { return vips_cast_uchar(img.get(), o, nullptr); });
            return img;
        }
        if (out)
            g_object_unref(out);
        vips_error_clear();
    }
    // No colour model vips understands: treat band 0 (or 0..2) as the
    // colour and scale the sample range down to 8 bits.
    in = img.get();
    if (vips_image_get_format(in) == VIPS_FORMAT_USHORT) {
        img = apply(mime, [&](VipsImage** o) { return vips_rshift_const1(in, o, 8, nullptr); });
    }
    if (vips_image_get_format(img.get()) != VIPS_FORMAT_UCHAR)
        img = apply(mime, [&](VipsImage** o) { return vips_cast_uchar(img.get(), o, nullptr); });
    if (img.get()->Bands >= 3) {
        img = apply(mime, [&](VipsImage** o) { return vips_extract_band(img.get(), o, 0, "n", 3, nullptr); });
    } else {
        ImageRef grey = apply(mime, [&](VipsImage** o) { return vips_extract_band(img.get(), o, 0, nullptr); });
        VipsImage* bands[3] = {grey.get(), grey.get(), grey.get()};
        img = apply(mime, [&](VipsImage** o) { return vips_bandjoin(bands, o, 3, nullptr); });
    }
    return apply(mime, [&](VipsImage** o) {
        return vips_copy(img.get(), o, "interpretation", VIPS_INTERPRETATION_sRGB, nullptr);
    });
}

ImageRef drop_alpha(ImageRef img, std::string_view mime)
{
    if (img.get()->Bands == 3)
        return img;
    return apply(mime, [&](VipsImage** o) { return vips_extract_band(img.get(), o, 0, "n", 3, nullptr); });
}

ImageRef resize_to(ImageRef img, ImageSize target, std::string_view mime)
{
    const double hscale = static_cast<double>(target.width) / img.get()->Xsize;
    const double vscale = static_cast<double>(target.height) / img.get()->Ysize;
    auto resize = [&](VipsImage* in) {
        return apply(mime, [&](VipsImage** o) {
            return vips_resize(in, o, hscale, "vscale", vscale, "kernel", VIPS_KERNEL_LANCZOS3, nullptr);
        });
    };
    ImageRef out;
    if (vips_image_hasalpha(img.get())) {
        // PIL resizes RGBA premultiplied (as "RGBa") so that the colour of
        // transparent pixels does not bleed into their neighbours.
        ImageRef pre = apply(mime, [&](VipsImage** o) { return vips_premultiply(img.get(), o, nullptr); });
        ImageRef small = resize(pre.get());
        ImageRef un = apply(mime, [&](VipsImage** o) { return vips_unpremultiply(small.get(), o, nullptr); });
        ImageRef rgb = drop_alpha(std::move(un), mime);
        ImageRef rounded = apply(mime, [&](VipsImage** o) { return vips_rint(rgb.get(), o, nullptr); });
        out = apply(mime, [&](VipsImage** o) { return vips_cast_uchar(rounded.get(), o, nullptr); });
    } else {
        out = resize(img.get());
    }
    // vips_resize rounds the output size; the scale is exact to the last
    // ulp, but pin it so the contract never depends on that.
    if (static_cast<std::uint64_t>(out.get()->Xsize) != target.width ||
        static_cast<std::uint64_t>(out.get()->Ysize) != target.height) {
        out = apply(mime, [&](VipsImage** o) {
            return vips_embed(out.get(), o, 0, 0, static_cast<int>(target.width), static_cast<int>(target.height),
                              "extend", VIPS_EXTEND_COPY, nullptr);
        });
    }
    return out;
}

} // namespace

ImageSize stirrup_target_size(std::uint64_t width, std::uint64_t height, std::size_t max_pixels)
{
    if (width == 0 || height == 0)
        return {width, height};
    const double area = static_cast<double>(width) * static_cast<double>(height);
    if (width <= max_pixels / height)
        return {width, height}; // width * height <= max_pixels, overflow-free

    // downscale_image(): sides floored to even, at least 2.
    const double s = std::sqrt(static_cast<double>(max_pixels) / area);
    auto even = [](double v) { return std::max<std::uint64_t>(static_cast<std::uint64_t>(v) / 2 * 2, 2); };
    const std::uint64_t x = even(static_cast<double>(width) * s);
    const std::uint64_t y = even(static_cast<double>(height) * s);

    // Image.thumbnail((x, y)): never enlarges, keeps the aspect ratio by
    // recomputing one side and rounding it to whichever of floor/ceil lands
    // nearer the source ratio (floor on ties, as Python's min()), at least 1.
    if (x >= width && y >= height)
        return {width, height};
    const double aspect = static_cast<double>(width) / static_cast<double>(height);
    const double dx = static_cast<double>(x);
    const double dy = static_cast<double>(y);
    auto round_aspect = [](double number, auto key) {
        const double lo = std::floor(number);
        const double hi = std::ceil(number);
        const double pick = key(hi) < key(lo) ? hi : lo;
        return std::max<std::uint64_t>(static_cast<std::uint64_t>(pick), 1);
    };
    if (dx / dy >= aspect) {
        return {round_aspect(dy * aspect, [&](double n) { return std::abs(aspect - n / dy); }), y};
    }
    return {x, round_aspect(dx / aspect, [&](double n) { return n == 0 ? 0.0 : std::abs(aspect - dx / n); })};
}

ImageBlock normalize_image(std::string_view bytes, std::size_t max_pixels)
{
    const std::string_view mime = detail::sniff_image_mime(bytes);
    if (mime.empty())
        throw ImageError("Unsupported file type " + bytes_repr(bytes));
    if (std::find(kAllowed.begin(), kAllowed.end(), mime) == kAllowed.end()) {
        std::string allowed;
        for (std::string_view a : kAllowed) {
            if (!allowed.empty())
                allowed += ", ";
            allowed += a;
        }
        throw ImageError("Unsupported mime_type '" + std::string(mime) + "'; allowed: " + allowed);
    }

    const VipsState& state = vips_state();
    if (!state.ok)
        throw ImageError("libvips failed to initialise: " + state.error);

    if (mime == "image/png" && !png_chunks_intact(bytes))
        throw ImageError("You submitted a corrupt/unsupported image file (image/png): a chunk is damaged or missing");
    ImageRef img = load(bytes, mime);
    const std::uint64_t width = static_cast<std::uint64_t>(img.get()->Xsize);
    const std::uint64_t height = static_cast<std::uint64_t>(img.get()->Ysize);
    if (width * height > kMaxImagePixels) {
        throw ImageError("Image size (" + std::to_string(width * height) + " pixels) exceeds limit of " +
                         std::to_string(kMaxImagePixels) + " pixels, could be decompression bomb DOS attack.");
    }
    const ImageSize target = stirrup_target_size(width, height, max_pixels);

    img = apply_icc(std::move(img));
    img = to_srgb(std::move(img), mime);
    if (target.width != width || target.height != height)
        img = resize_to(std::move(img), target, mime);
    img = drop_alpha(std::move(img), mime);

    void* out = nullptr;
    std::size_t out_len = 0;
    // Adaptive filtering and zlib level 6 are what PIL's PNG writer uses.
    if (vips_pngsave_buffer(img.get(), &out, &out_len, "strip", TRUE, "compression", 6, "filter",
                            VIPS_FOREIGN_PNG_FILTER_ALL, nullptr) != 0) {
        g_free(out);
        fail_decode(mime);
    }
    ImageBlock block{std::string(static_cast<const char*>(out), out_len), "image/png"};
    g_free(out);
    return block;
}

} // namespace stirrup::detail
