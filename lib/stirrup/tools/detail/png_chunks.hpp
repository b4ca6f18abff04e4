#pragma once
// PNG chunk repair before decoding: what libpng does by default and libvips
// (with fail_on=error, as view_image needs) does not.

#include <string>
#include <string_view>

namespace stirrup::detail {

/// `bytes` without the ancillary chunks (lower-case first letter: iCCP,
/// tEXt, eXIf...) whose CRC is wrong, as libpng's default CRC policy treats
/// them: they only describe the image, so the picture survives without them.
/// Anything that is not a well-formed chunk sequence, and every critical
/// chunk, is left as it is for the decoder to judge.
std::string drop_damaged_ancillary_chunks(std::string_view bytes);

} // namespace stirrup::detail
