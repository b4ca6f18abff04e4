#pragma once
// The image half of view_image: Stirrup's ImageContentBlock validation and
// to_base64_url() (core/models.py) in one step. Untrusted bytes go in; an
// RGB PNG no larger than the pixel budget comes out, or ImageError.
// libvips does the work; its headers stay in the .cpp so that including this
// file costs nothing and does not drag glib into every translation unit.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stirrup/core/detail/image_mime.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/core/messages.hpp"

namespace stirrup::detail {

/// The bytes are not an image Stirrup accepts: unknown or disallowed type,
/// corrupt or truncated data, or too many pixels (Stirrup: ValueError or PIL's
/// errors, which view_image reports to the model as a failed tool call).
class ImageError : public Error {
public:
    using Error::Error;
};

/// PIL's decompression-bomb limit, 2 * Image.MAX_IMAGE_PIXELS: PIL refuses to
/// open anything larger, so Stirrup never sees such an image.
inline constexpr std::uint64_t kMaxImagePixels = 2ULL * (1024ULL * 1024 * 1024 / 4 / 3);

struct ImageSize {
    std::uint64_t width = 0;
    std::uint64_t height = 0;

    friend bool operator==(const ImageSize&, const ImageSize&) = default;
};

/// The size Stirrup produces for a `width` x `height` image: unchanged when
/// it fits in `max_pixels`, else downscale_image()'s even-floored target
/// passed through PIL's Image.thumbnail() aspect fitting (which can give an
/// odd side, e.g. 1920x1080 -> 1332x749, and a side of 1, never 0).
ImageSize stirrup_target_size(std::uint64_t width, std::uint64_t height, std::size_t max_pixels);

/// Validates `bytes` as one of jpeg/png/webp/gif/bmp/tiff/psd (sniffed, not
/// trusted from a name), decodes it completely, downsizes it to
/// stirrup_target_size() with a Lanczos-3 kernel, converts it to 8-bit sRGB
/// without alpha (alpha dropped, not composited) and encodes it as PNG.
/// Animated and multi-page images give their first frame. Metadata is not
/// kept. Thread-safe. Throws ImageError.
ImageBlock normalize_image(std::string_view bytes, std::size_t max_pixels = 1'000'000);

} // namespace stirrup::detail
