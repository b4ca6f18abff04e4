#pragma once
// The errors of the MCP client.

#include <cstdint>
#include <string>

#include "stirrup/core/error.hpp"

namespace stirrup {

/// A server could not be reached, broke the protocol, or dropped the
/// connection. Inside a session's tool call it becomes a failed tool result
/// the model reads; from connect() it is thrown to the caller.
class McpError : public Error {
public:
    using Error::Error;
};

/// A JSON-RPC error answer from the server (e.g. an unknown tool).
class McpRpcError : public McpError {
public:
    McpRpcError(std::int64_t code, const std::string& what) : McpError(what), code_(code) {}
    std::int64_t code() const noexcept { return code_; }

private:
    std::int64_t code_;
};

} // namespace stirrup
