#pragma once
// The text of a fetched body: its media type, its charset (the response's
// Content-Type, else a byte-order mark or <meta> for HTML, else UTF-8), and
// the bytes decoded to valid UTF-8 by glibc's iconv. A browser would read the
// page the same way, which is what makes a Latin-1 page come out right.

#include <cstddef>
#include <string>
#include <string_view>

namespace stirrup::detail::web {

/// A Content-Type header, split: the media type ("text/html") and the
/// charset parameter, both lower-case, either empty when absent.
struct MediaType {
    std::string type;
    std::string charset;
};

MediaType parse_content_type(std::string_view header);

/// The charset a <meta charset> or <meta http-equiv="Content-Type"> names in
/// the first 1024 bytes of an HTML document (WHATWG's prescan, simplified),
/// lower-case, or empty. As the spec says, a UTF-16 label read from the
/// document itself means UTF-8: the prescan could not have read it otherwise.
std::string sniff_meta_charset(std::string_view html);

/// The iconv name of a WHATWG encoding label ("latin1" -> "WINDOWS-1252",
/// "utf8" -> "UTF-8"), or empty for a label that is not a plausible charset
/// name. Labels WHATWG does not list are passed on upper-cased, for iconv to
/// accept or refuse.
std::string iconv_charset_name(std::string_view label);

/// `bytes` as valid UTF-8. A byte-order mark wins over `label` (and is
/// dropped); an empty, unknown or unsupported label means UTF-8. Bytes the
/// charset cannot decode become U+FFFD. The result is cut (at a code point)
/// to at most `max_output_bytes`.
std::string decode_to_utf8(std::string_view bytes, std::string_view label, std::size_t max_output_bytes);

} // namespace stirrup::detail::web
