#include "stirrup/exec/docker/detail/frames.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace stirrup::detail::docker {
namespace {

// stdcopy's stream byte for the engine's own error text.
constexpr unsigned char systemerr_stream = 3;
// The engine's error text is short; a corrupt stream could claim 4 GiB.
constexpr std::size_t max_systemerr_text = 64 * 1024;

std::string hex_byte(unsigned char b)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", b);
    return buf;
}

} // namespace

void FrameDecoder::header_byte(unsigned char b)
{
    const std::size_t index = header_filled_;
    header_[header_filled_++] = b;
    if (index == 0 && b > systemerr_stream) {
        failed_ = true;
        failure_ = "not a Docker multiplexed stream: frame header at stream offset " + std::to_string(header_offset_) +
                   " has stream byte " + hex_byte(b) + " (expected 0, 1, 2 or 3)";
        if (b >= 0x20 && b < 0x7f)
            failure_ += "; the stream looks like text: was the exec started with Tty?";
        throw FrameError(failure_);
    }
    if (index >= 1 && index <= 3 && b != 0) {
        failed_ = true;
        failure_ = "not a Docker multiplexed stream: byte " + std::to_string(index) +
                   " of the frame header at stream offset " + std::to_string(header_offset_) + " is " + hex_byte(b) +
                   " (expected 0x00)";
        throw FrameError(failure_);
    }
}

void FrameDecoder::feed(std::string_view bytes, const Sink& sink)
{
    if (failed_)
        throw FrameError(failure_);
    while (!bytes.empty()) {
        if (remaining_ == 0 && !systemerr_) {
            // Collecting a header.
            if (header_filled_ == 0)
                header_offset_ = offset_;
            header_byte(static_cast<unsigned char>(bytes.front()));
            bytes.remove_prefix(1);
            ++offset_;
            if (header_filled_ < 8)
                continue;
            header_filled_ = 0;
            remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                         (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
            if (header_[0] == systemerr_stream) {
                systemerr_ = true;
                systemerr_text_.clear();
            } else {
                stream_ = static_cast<StreamId>(header_[0]);
                if (remaining_ == 0)
                    ++frames_; // zero-length frames carry nothing: skip them
            }
        } else {
            const std::size_t n = std::min<std::size_t>(bytes.size(), remaining_);
            const std::string_view piece = bytes.substr(0, n);
            bytes.remove_prefix(n);
            offset_ += n;
            remaining_ -= static_cast<std::uint32_t>(n);
            if (remaining_ == 0 && !systemerr_)
                ++frames_;
            if (!systemerr_) {
                sink(stream_, piece);
                continue;
            }
            systemerr_text_.append(
                piece.substr(0, max_systemerr_text - std::min(max_systemerr_text, systemerr_text_.size())));
        }
        if (systemerr_ && remaining_ == 0) {
            systemerr_ = false;
            ++frames_;
            failed_ = true;
            std::string text = std::move(systemerr_text_);
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
                text.pop_back();
            failure_ = "the Docker engine reported an error in the stream at offset " + std::to_string(header_offset_) +
                       ": " + text;
            throw EngineStreamError(failure_, std::move(text));
        }
    }
}

std::string encode_frame(StreamId stream, std::string_view payload)
{
    if (payload.size() > std::numeric_limits<std::uint32_t>::max())
        throw FrameError("frame payload of " + std::to_string(payload.size()) + " bytes does not fit a uint32 length");
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(8 + payload.size());
    out.push_back(static_cast<char>(stream));
    out.append(3, '\0');
    out.push_back(static_cast<char>((n >> 24) & 0xff));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(payload);
    return out;
}

} // namespace stirrup::detail::docker
