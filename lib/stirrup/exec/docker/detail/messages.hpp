#pragma once
// The Docker engine's JSON replies that are not plain request/response
// bodies: the JSON-message streams of POST /build and POST /images/create
// (one object per line inside a 200 response; a failure is an `error` /
// `errorDetail` object in that stream), and the path-stat header of the
// archive endpoints. No I/O.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::docker {

/// A reply from the engine that does not have the documented shape.
class MessageError : public Error {
public:
    using Error::Error;
};

/// Splits a JSON-message stream into one JSON text per message. The engine
/// writes each object followed by "\r\n", but chunk boundaries fall anywhere,
/// so messages may be split across feeds; objects written back to back with
/// no newline are split too (docker-py's reader accepts that, so do we).
/// Blank lines are skipped. Text that is not a JSON object or array is
/// passed on up to the end of its line, so that parsing it reports the
/// garbage instead of it being dropped.
class JsonLineSplitter {
public:
    explicit JsonLineSplitter(std::size_t max_line = 16 * 1024 * 1024) : max_line_(max_line) {}

    /// Throws MessageError when one message grows past max_line bytes.
    void feed(std::string_view bytes, const std::function<void(std::string_view line)>& on_line);
    /// At the end of the stream: passes on an unterminated message (a
    /// truncated object fails to parse, so truncation is not silent).
    void finish(const std::function<void(std::string_view)>& on_line);

private:
    void emit(const std::function<void(std::string_view)>& on_line);

    std::size_t max_line_;
    std::string current_;
    int depth_ = 0;
    bool in_string_ = false;
    bool escaped_ = false;
    bool text_line_ = false; // inside something that is not an object or array
};

/// One message of a /build or /images/create stream; every field is optional.
struct StreamMessage {
    /// Build output ("Step 2/3 : RUN false", " ---> 605c4f5481c1\n", ...).
    std::optional<std::string> stream;
    /// Pull progress ("Pulling fs layer", "Status: Downloaded newer image ...").
    std::optional<std::string> status;
    /// Set whenever the message reports a failure: the `error` text, or
    /// errorDetail.message when `error` is absent.
    std::optional<std::string> error;
    std::optional<std::string> error_detail_message;
    std::optional<std::int64_t> error_code;
    /// aux.ID of a build: the image ID ("sha256:...").
    std::optional<std::string> aux_id;
    std::optional<std::string> progress;
    /// The layer a pull status is about.
    std::optional<std::string> id;

    bool failed() const noexcept { return error.has_value(); }
};

/// Throws MessageError when the line is not a JSON object. Fields of an
/// unexpected type are ignored, except that any `error` or `errorDetail`
/// makes the message a failure.
StreamMessage parse_stream_message(std::string_view line);

/// The failure a build (or pull) stream reported, or nullopt when none of the
/// messages failed. The text is the first failure's, prefixed with the last
/// "Step N/M : ..." line the build printed before it:
/// "Step 2/3 : RUN false: The command '/bin/sh -c false' returned a non-zero code: 1".
std::optional<std::string> build_failure(const std::vector<StreamMessage>& msgs);

/// X-Docker-Container-Path-Stat of HEAD/GET /containers/{id}/archive: base64
/// of {"name","size","mode","mtime","linkTarget"}. `mode` is a Go os.FileMode,
/// not a POSIX st_mode: permissions in the low 9 bits, the type in high bits.
struct PathStat {
    static constexpr std::uint32_t mode_dir = 1u << 31;
    static constexpr std::uint32_t mode_symlink = 1u << 27;
    static constexpr std::uint32_t mode_device = 1u << 26;
    static constexpr std::uint32_t mode_named_pipe = 1u << 25;
    static constexpr std::uint32_t mode_socket = 1u << 24;
    static constexpr std::uint32_t mode_char_device = 1u << 21;
    static constexpr std::uint32_t mode_irregular = 1u << 19;
    /// Go's ModeType: every bit that makes a file not regular.
    static constexpr std::uint32_t mode_type =
        mode_dir | mode_symlink | mode_named_pipe | mode_socket | mode_device | mode_char_device | mode_irregular;

    std::string name;
    std::int64_t size = 0;
    std::uint32_t mode = 0;
    /// RFC 3339 with nanoseconds, as the engine sends it.
    std::string mtime;
    /// The symlink's resolved absolute target; empty otherwise.
    std::string link_target;

    bool is_dir() const noexcept { return (mode & mode_dir) != 0; }
    bool is_symlink() const noexcept { return (mode & mode_symlink) != 0; }
    bool is_regular() const noexcept { return (mode & mode_type) == 0; }
    /// rwx bits for owner, group and others.
    std::uint32_t permissions() const noexcept { return mode & 0777; }
};

/// Throws MessageError on bad base64, bad JSON, or a field of the wrong type.
/// Missing fields keep their defaults.
PathStat decode_path_stat(std::string_view header_value);

} // namespace stirrup::detail::docker
