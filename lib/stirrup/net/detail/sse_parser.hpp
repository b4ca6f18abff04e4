#pragma once
// A server-sent-events parser after the WHATWG HTML "event stream
// interpretation": fed bytes in pieces of any size, it emits complete events.
// It does no I/O, so it works on any body source and is fuzzed on its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"

namespace stirrup::net::detail {

struct SseEvent {
    /// The `event` field, "message" when absent.
    std::string type = "message";
    /// The `data` fields joined with "\n".
    std::string data;
    /// The last event ID in force when the event was dispatched (it persists
    /// across events, as the spec says).
    std::string id;
    /// A valid `retry` field seen in this event's block, in milliseconds.
    std::optional<std::uint64_t> retry;

    friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

struct SseParserOptions {
    /// Longest line or event accepted; a peer sending more gets an error
    /// instead of unbounded memory growth.
    std::size_t max_event_size = 16 * 1024 * 1024;
};

/// A line or event past SseParserOptions::max_event_size.
class SseEventTooLarge : public Error {
public:
    using Error::Error;
};

class SseParser {
public:
    explicit SseParser(SseParserOptions options = {}) : options_(options) {}

    /// Parses `bytes` and appends every event they complete to `out`. Throws
    /// SseEventTooLarge past max_event_size (the parser is then unusable).
    void feed(std::string_view bytes, std::vector<SseEvent>& out);
    std::vector<SseEvent> feed(std::string_view bytes)
    {
        std::vector<SseEvent> out;
        feed(bytes, out);
        return out;
    }

    /// The reconnection time last set by a `retry` field.
    std::optional<std::uint64_t> reconnection_time() const noexcept { return reconnection_time_; }
    const std::string& last_event_id() const noexcept { return last_event_id_; }

    // At the end of the stream an unterminated event is discarded (per the
    // spec), so there is no finish().

private:
    void line(std::string_view l, std::vector<SseEvent>& out);
    void dispatch(std::vector<SseEvent>& out);

    SseParserOptions options_;
    std::string partial_;
    std::string data_;
    std::string type_;
    std::string last_event_id_;
    std::optional<std::uint64_t> retry_;
    std::optional<std::uint64_t> reconnection_time_;
    std::size_t bom_matched_ = 0;
    bool bom_done_ = false;
    bool skip_lf_ = false;
    bool has_data_ = false;
};

} // namespace stirrup::net::detail
