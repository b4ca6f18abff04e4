#pragma once
// JSON-RPC 2.0 as MCP uses it, without I/O: writing requests, notifications
// and responses, classifying what a server sent, and cutting a byte stream
// into newline-delimited messages (the stdio transport's framing).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::mcp {

// The JSON-RPC error codes the client sends or reads.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

/// A message past the transport's size limit; the connection is unusable after it.
class MessageTooLarge : public Error {
public:
    using Error::Error;
};

struct RpcError {
    std::int64_t code = 0;
    std::string message;
    boost::json::value data;
};

enum class MessageKind {
    request,      ///< method and id: the server asks the client something
    notification, ///< method, no id
    result,       ///< id and result
    error,        ///< id (possibly null) and error
    invalid,      ///< none of the above; `problem` says why
};

struct Message {
    MessageKind kind = MessageKind::invalid;
    /// request, result, error: the id as sent (an integer or a string; null
    /// for an error about a message the server could not read).
    boost::json::value id;
    std::string method;
    /// request/notification: params (null when absent); result: the result.
    boost::json::value payload;
    RpcError error;
    std::string problem;
};

/// Classifies one message's text. A JSON array is a batch: each member is
/// classified on its own. Text that is not JSON gives one invalid message.
/// Never throws on bad input.
std::vector<Message> parse_messages(std::string_view text);
/// Classifies one already-parsed JSON value (not a batch).
Message classify(const boost::json::value& v);

/// The id as this client sends it back in an error ("7", "\"abc\"").
std::string id_text(const boost::json::value& id);

std::string write_request(std::int64_t id, std::string_view method, const boost::json::value& params);
/// `params` null: the "params" member is left out.
std::string write_notification(std::string_view method, const boost::json::value& params);
std::string write_result(const boost::json::value& id, const boost::json::value& result);
std::string write_error(const boost::json::value& id, int code, std::string_view message);

/// Cuts newline-delimited messages out of a byte stream fed in pieces of any
/// size. A trailing "\r" is dropped; empty lines are skipped.
class LineFramer {
public:
    explicit LineFramer(std::size_t max_line_bytes) : max_(max_line_bytes) {}

    /// Appends every line `bytes` completes to `out`. Throws MessageTooLarge
    /// when a line grows past the limit (before buffering it whole).
    void feed(std::string_view bytes, std::vector<std::string>& out);
    /// Bytes held of an unfinished line.
    std::size_t pending() const noexcept { return partial_.size(); }

private:
    std::size_t max_;
    std::string partial_;
};

} // namespace stirrup::detail::mcp
