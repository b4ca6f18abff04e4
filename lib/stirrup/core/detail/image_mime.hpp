#pragma once
// Image type detection from the first bytes, as the Python `filetype`
// package does it (Stirrup sniffs images with it).

#include <string_view>

namespace stirrup::detail {

/// The MIME type `filetype` would report for `bytes` (image matchers only, in
/// its order; looks at the first 8192 bytes like filetype.guess), or "" when
/// none matches. May name a type the view_image tool rejects ("image/apng",
/// "image/x-icon", ...).
std::string_view sniff_image_mime(std::string_view bytes);

/// The image types Stirrup's ImageContentBlock accepts: jpeg, png, webp,
/// gif, bmp, tiff, psd.
bool is_supported_image_mime(std::string_view mime) noexcept;

} // namespace stirrup::detail
