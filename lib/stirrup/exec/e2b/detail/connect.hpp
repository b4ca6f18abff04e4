#pragma once
// The Connect protocol (JSON codec) as envd speaks it, without I/O: the
// 5-byte envelope framing of streaming calls, the events of
// process.Process/Start, the end-stream message, and Connect error codes.
// The decoders are fed whatever the socket returns; envelopes do not align
// with reads or HTTP chunks. Proto3 JSON rules are tolerated as envd emits
// them: default fields omitted, int64 as strings, enums as names or numbers,
// lowerCamelCase or snake_case names, unknown fields ignored.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::e2b {

/// The bytes are not what the Connect protocol allows (bad flags, a message
/// over the size limit, invalid JSON, a stream without its end).
class ProtocolError : public Error {
public:
    using Error::Error;
};

inline constexpr std::uint8_t envelope_compressed = 0x01;
inline constexpr std::uint8_t envelope_end_stream = 0x02;
/// Largest message accepted by default: envd's output chunks are 32 KiB.
inline constexpr std::size_t default_max_message_bytes = 16 * 1024 * 1024;

/// One envelope: the flags byte and its payload (a JSON message).
struct Envelope {
    std::uint8_t flags = 0;
    std::string payload;
    bool end_stream() const noexcept { return (flags & envelope_end_stream) != 0; }
};

/// flags + big-endian uint32 length + payload.
std::string encode_envelope(std::string_view payload, std::uint8_t flags = 0);

/// Incremental envelope decoder. Throws ProtocolError as soon as a header
/// shows a compressed message (nothing negotiates compression), reserved flag
/// bits, or a length above the limit, and on any byte after the end-stream
/// envelope. After a throw every later feed throws again.
class EnvelopeDecoder {
public:
    using Sink = std::function<void(Envelope&&)>;

    explicit EnvelopeDecoder(std::size_t max_message_bytes = default_max_message_bytes)
        : max_message_(max_message_bytes)
    {
    }

    void feed(std::string_view bytes, const Sink& sink);

    /// Nothing is pending: the bytes so far end exactly after an envelope.
    bool at_boundary() const noexcept { return !failed_ && header_filled_ == 0 && !in_payload_; }
    /// The end-stream envelope was decoded.
    bool ended() const noexcept { return ended_; }
    std::uint64_t envelopes() const noexcept { return envelopes_; }

private:
    [[noreturn]] void fail(std::string message);

    std::size_t max_message_;
    unsigned char header_[5] = {};
    std::size_t header_filled_ = 0;
    bool in_payload_ = false;
    std::uint32_t length_ = 0;
    std::string payload_;
    bool ended_ = false;
    bool failed_ = false;
    std::string failure_;
    std::uint64_t envelopes_ = 0;
};

/// A Connect error: the string code ("not_found", "deadline_exceeded", ...)
/// and its message.
struct ConnectError {
    std::string code;
    std::string message;
};

/// The end-stream message: nullopt for success ({} or only metadata), the
/// error otherwise. Throws ProtocolError for invalid JSON, a non-object, or an
/// error that is null / empty / without a string code (the spec forbids them).
std::optional<ConnectError> parse_end_stream(std::string_view json);

/// The error of a unary call that answered `http_status` != 200: the body's
/// {"code","message"} when it is a Connect error, else a code inferred from
/// the status (the Python SDK's table) with the body (or the status) as message.
ConnectError parse_unary_error(int http_status, std::string_view body);

/// The Python SDK's status-to-code table for non-Connect error bodies:
/// 400 invalid_argument, 401 unauthenticated, 403 permission_denied,
/// 404 not_found, 409 already_exists, 413/429 resource_exhausted, 499 canceled,
/// 500 internal, 501/505 unimplemented, 502/503 unavailable, 504 deadline_exceeded,
/// anything else unknown.
std::string_view code_for_http_status(int status) noexcept;

/// One event of a process stream (process.ProcessEvent).
struct ProcessEvent {
    enum class Kind { start, data, end, keepalive, unknown };
    Kind kind = Kind::unknown;
    /// start: the process id.
    std::uint32_t pid = 0;
    /// data: the decoded bytes, and which stream (1 stdout, 2 stderr, 3 pty).
    int stream = 0;
    std::string bytes;
    /// end: exitCode (absent = 0; -1 when killed by a signal), exited,
    /// status ("exit status 3", "signal: killed"), error.
    int exit_code = 0;
    bool exited = false;
    std::string status;
    std::optional<std::string> error;
};

/// Decodes one StartResponse/ConnectResponse message ({"event":{...}}).
/// A message whose event is absent or of an unknown kind gives Kind::unknown
/// (envd may add kinds); malformed JSON or bad base64 throws ProtocolError.
ProcessEvent parse_process_event(std::string_view json);

/// What a process.Process/Start stream said, accumulated: the decoder for
/// the response body of one command. Output bytes go to the sink as they
/// arrive (still raw: a UTF-8 sequence may be split between two calls).
class StartStreamReader {
public:
    using OutputSink = std::function<void(int stream, std::string_view bytes)>;

    explicit StartStreamReader(std::size_t max_message_bytes = default_max_message_bytes) : decoder_(max_message_bytes)
    {
    }

    /// Throws ProtocolError on bad framing, bad JSON, an event before the
    /// start event, or a second start.
    void feed(std::string_view bytes, const OutputSink& sink);

    /// The pid from the start event.
    const std::optional<std::uint32_t>& pid() const noexcept { return pid_; }
    /// The end event (the process finished).
    const std::optional<ProcessEvent>& end() const noexcept { return end_; }
    /// The end-stream envelope arrived.
    bool finished() const noexcept { return decoder_.ended(); }
    /// The end-stream's error, if it carried one.
    const std::optional<ConnectError>& error() const noexcept { return error_; }
    std::uint64_t keepalives() const noexcept { return keepalives_; }

private:
    EnvelopeDecoder decoder_;
    std::optional<std::uint32_t> pid_;
    std::optional<ProcessEvent> end_;
    std::optional<ConnectError> error_;
    std::uint64_t keepalives_ = 0;
};

/// The StartRequest envd runs a command with, as the SDKs send it:
/// {"process":{"cmd":"/bin/bash","args":["-l","-c",<command>],"envs":{...},"cwd":...},"stdin":false,"tag":...}.
/// `envs` and `cwd` only when given; `tag` (used to kill the process before
/// its pid is known) only when not empty.
std::string start_request_json(std::string_view command, std::string_view tag,
                               const std::map<std::string, std::string>& envs = {},
                               std::optional<std::string_view> cwd = std::nullopt);

/// SendSignal {"process":{"pid":N}, "signal":"SIGNAL_SIGKILL"}.
std::string kill_by_pid_json(std::uint32_t pid);
/// SendSignal {"process":{"tag":T}, "signal":"SIGNAL_SIGKILL"}.
std::string kill_by_tag_json(std::string_view tag);

/// Whether a Content-Type is what connect-es accepts for a streaming call
/// (application/connect+json, optional charset=utf-8) or a unary one
/// (application/json, same).
bool is_connect_stream_content_type(std::string_view content_type) noexcept;
bool is_json_content_type(std::string_view content_type) noexcept;

} // namespace stirrup::detail::e2b
