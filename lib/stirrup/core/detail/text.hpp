#pragma once
// Text helpers shared by every layer: UTF-8 sanitising with CPython's
// errors="replace" semantics, code-point counting and Stirrup's truncate_msg.
// Lengths are code points, as Python's len(str) counts them, so truncated tool
// results read exactly as Stirrup's.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stirrup::detail::text {

/// Incremental UTF-8 decoder: bytes in, valid UTF-8 out. Invalid input is
/// replaced by U+FFFD exactly as CPython's bytes.decode("utf-8", "replace")
/// does (one U+FFFD per maximal invalid subpart), and a sequence split across
/// two feed() calls is carried over, never replaced.
class Utf8Decoder {
public:
    /// Appends the valid UTF-8 decoded from `bytes` to `out`.
    void feed(std::string_view bytes, std::string& out);
    /// Flushes a pending incomplete sequence (as U+FFFD) at end of input.
    void finish(std::string& out);
    /// Code points emitted so far.
    std::uint64_t code_points() const noexcept { return code_points_; }

private:
    unsigned char pending_[4] = {};
    std::size_t pending_len_ = 0;
    std::uint64_t code_points_ = 0;
};

/// Whole-buffer form of Utf8Decoder.
std::string sanitize_utf8(std::string_view bytes);

/// Number of code points in valid UTF-8 (counts lead bytes).
std::size_t count_code_points(std::string_view utf8) noexcept;

/// Appends the UTF-8 encoding of code point `cp` (at most U+10FFFF).
void append_utf8(std::string& out, char32_t cp);

/// Byte offset of code point `n` in valid UTF-8 (size() if n >= count).
std::size_t code_point_offset(std::string_view utf8, std::size_t n) noexcept;

/// Byte offset where the last `n` code points of valid UTF-8 begin (0 if
/// n >= count). Scans from the end, so it costs O(bytes of those n).
std::size_t last_code_points_offset(std::string_view utf8, std::size_t n) noexcept;

/// Stirrup's truncate_msg(msg, max_length): if the text is longer than
/// `max_chars` code points, keeps the first max_chars/2 and the last
/// ceil(max_chars/2) code points around
/// "\n... This content has been truncated from an original {len} characters to stay below {max} characters ...\n".
/// `dropped_chars` is the number of code points already removed from the
/// middle of `utf8` by a bounded capture: the original length is
/// count(utf8) + dropped_chars. A capture that dropped anything must have kept
/// at least ceil(max_chars/2) code points on each side.
/// As in Python, max_chars == 0 keeps the whole text after the marker
/// (msg[-0//2:] is msg[0:]); with dropped_chars > 0 that is only what was kept.
std::string truncate_msg(std::string_view utf8, std::size_t max_chars, std::uint64_t dropped_chars = 0);

/// A duration in seconds as Python prints a number of them: 120 s -> "120",
/// 1500 ms -> "1.5", 100 ms -> "0.1" (for messages that name a timeout).
std::string seconds_text(std::chrono::milliseconds t);

} // namespace stirrup::detail::text
