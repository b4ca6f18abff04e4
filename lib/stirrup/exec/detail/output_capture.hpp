#pragma once
// Bounded capture of a command's output stream: raw bytes in, valid UTF-8 out,
// keeping only a head and a tail so a command printing gigabytes cannot
// exhaust memory, while truncate_msg on the result still reads as it would on
// the full output.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stirrup/core/detail/text.hpp"

namespace stirrup::detail {

/// Memory stays O(head_chars + tail_chars) whatever is appended. The result
/// reads as if truncated from the full output: for 1 <= n <= 2*min(head_chars,
/// tail_chars), truncate_msg(take_text(), n, dropped_chars()) equals
/// truncate_msg(sanitize_utf8(everything appended), n).
class OutputCapture {
public:
    /// Keeps the first `head_chars` and the last `tail_chars` code points.
    OutputCapture(std::size_t head_chars, std::size_t tail_chars);

    void append(std::string_view bytes);
    /// End of stream: flushes an incomplete UTF-8 sequence.
    void finish();

    /// head + tail (the whole output when nothing was dropped). Flushes as
    /// finish() does; call once, at the end.
    std::string take_text();
    /// Code points dropped between head and tail.
    std::uint64_t dropped_chars() const noexcept;
    /// Code points seen in total.
    std::uint64_t total_chars() const noexcept { return decoder_.code_points(); }

private:
    void push(std::string_view utf8);

    std::size_t head_limit_;
    std::size_t tail_limit_;
    detail::text::Utf8Decoder decoder_;
    std::string head_;
    std::size_t head_chars_ = 0;
    std::string tail_; // may hold up to ~2x tail_limit_ before trimming
    std::size_t tail_chars_ = 0;
    std::string scratch_; // decoder output of one input block
};

} // namespace stirrup::detail
