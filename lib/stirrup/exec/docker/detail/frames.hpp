#pragma once
// The Docker engine's multiplexed exec/attach stream (Go's pkg/stdcopy), used
// when a container or exec runs without a TTY. Each frame is an 8-byte header
// (stream byte 0/1/2, three zero bytes, big-endian uint32 payload length)
// followed by the payload. Frame boundaries are read() boundaries on the
// engine's pipes, not lines: callers must not parse lines per frame.
// No I/O here; the decoder is fed whatever the socket returns.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::docker {

enum class StreamId : std::uint8_t { stdin_stream = 0, stdout_stream = 1, stderr_stream = 2 };

/// The bytes are not a multiplexed stream (or are corrupt), or the engine
/// reported an error inside the stream.
class FrameError : public Error {
public:
    using Error::Error;
};

/// A frame on stream 3, Go stdcopy's "systemerr": the engine's own error text
/// (the logs endpoint uses it; exec does not). what() contains the text.
class EngineStreamError : public FrameError {
public:
    EngineStreamError(const std::string& what, std::string engine_text)
        : FrameError(what), engine_text_(std::move(engine_text))
    {
    }
    const std::string& engine_text() const noexcept { return engine_text_; }

private:
    std::string engine_text_;
};

/// Incremental decoder. Headers and payloads may be split anywhere across
/// feeds; payload bytes go to the sink as soon as they arrive (a frame of any
/// uint32 length is never buffered whole), so the sink may see one frame's
/// payload in several pieces and never sees an empty piece.
class FrameDecoder {
public:
    using Sink = std::function<void(StreamId, std::string_view)>;

    /// Throws FrameError on a header whose stream byte is above 3 or whose
    /// padding bytes are not zero (as soon as the bad byte arrives), and
    /// EngineStreamError once a whole stream-3 frame has arrived. After a
    /// throw the decoder is unusable: every later feed throws again. An
    /// exception from the sink propagates; the bytes given to it count as
    /// consumed.
    void feed(std::string_view bytes, const Sink& sink);

    /// True when the bytes fed so far end exactly after a frame (or nothing
    /// was fed): at the stream's EOF anything else means it was truncated.
    bool at_boundary() const noexcept { return !failed_ && header_filled_ == 0 && remaining_ == 0; }
    /// Frames completely decoded so far, empty ones included.
    std::uint64_t frames() const noexcept { return frames_; }
    /// Bytes fed so far (the stream offset of the next byte).
    std::uint64_t offset() const noexcept { return offset_; }

private:
    void header_byte(unsigned char b);

    unsigned char header_[8] = {};
    std::size_t header_filled_ = 0;
    std::uint64_t header_offset_ = 0;
    StreamId stream_ = StreamId::stdout_stream;
    bool systemerr_ = false;
    std::string systemerr_text_;
    std::uint32_t remaining_ = 0;
    std::uint64_t frames_ = 0;
    std::uint64_t offset_ = 0;
    bool failed_ = false;
    std::string failure_;
};

/// One frame as the engine writes it (for tests and fakes). Throws FrameError
/// when the payload does not fit a uint32 length.
std::string encode_frame(StreamId stream, std::string_view payload);

} // namespace stirrup::detail::docker
