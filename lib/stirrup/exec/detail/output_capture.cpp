#include "stirrup/exec/detail/output_capture.hpp"

#include <algorithm>
#include <utility>

namespace stirrup::detail {

namespace {
// Decoding in blocks bounds scratch_ however large one append() is.
constexpr std::size_t feed_block = 64 * 1024;
} // namespace

OutputCapture::OutputCapture(std::size_t head_chars, std::size_t tail_chars)
    : head_limit_(head_chars), tail_limit_(tail_chars)
{
}

void OutputCapture::append(std::string_view bytes)
{
    while (!bytes.empty()) {
        const std::string_view block = bytes.substr(0, feed_block);
        bytes.remove_prefix(block.size());
        scratch_.clear();
        decoder_.feed(block, scratch_);
        push(scratch_);
    }
}

void OutputCapture::finish()
{
    scratch_.clear();
    decoder_.finish(scratch_);
    push(scratch_);
}

void OutputCapture::push(std::string_view utf8)
{
    if (head_chars_ < head_limit_) {
        const std::size_t want = head_limit_ - head_chars_;
        const std::size_t cut = detail::text::code_point_offset(utf8, want);
        const std::string_view taken = utf8.substr(0, cut);
        head_.append(taken);
        head_chars_ += cut < utf8.size() ? want : detail::text::count_code_points(taken);
        utf8.remove_prefix(cut);
    }
    if (utf8.empty() || tail_limit_ == 0)
        return;

    const std::size_t n = detail::text::count_code_points(utf8);
    if (n >= tail_limit_) {
        // This chunk alone fills the tail, so nothing older survives.
        tail_.assign(utf8.substr(detail::text::last_code_points_offset(utf8, tail_limit_)));
        tail_chars_ = tail_limit_;
        return;
    }
    tail_.append(utf8);
    tail_chars_ += n;
    // Trimming only past 2x drops at least tail_limit_ code points per memmove,
    // which keeps the cost amortised O(1) per byte. (Written to avoid 2*limit
    // overflowing for a huge limit.)
    if (tail_chars_ > tail_limit_ && tail_chars_ - tail_limit_ > tail_limit_) {
        tail_.erase(0, detail::text::last_code_points_offset(tail_, tail_limit_));
        tail_chars_ = tail_limit_;
    }
}

std::string OutputCapture::take_text()
{
    finish();
    std::string out = std::move(head_);
    // The tail buffer may still hold up to 2x its limit.
    out.append(std::string_view(tail_).substr(detail::text::last_code_points_offset(tail_, tail_limit_)));
    head_.clear();
    tail_.clear();
    tail_.shrink_to_fit();
    return out;
}

std::uint64_t OutputCapture::dropped_chars() const noexcept
{
    return decoder_.code_points() - head_chars_ - std::min(tail_chars_, tail_limit_);
}

} // namespace stirrup::detail
