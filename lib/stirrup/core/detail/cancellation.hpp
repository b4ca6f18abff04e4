#pragma once
// Telling a cancellation apart from a failure, for code that must treat
// them differently (rethrow the one, report the other).

#include <exception>
#include <string>

#include <boost/asio/cancellation_type.hpp>

namespace stirrup::detail {

/// True when `e` holds a system_error with asio's operation_aborted: what a
/// cancelled Asio operation (and so a cancelled coroutine) throws.
bool is_cancellation(const std::exception_ptr& e);

/// `e`'s what(), or "unknown error" for something not a std::exception.
std::string error_text(const std::exception_ptr& e);

/// The text a tool reports for `failure`, a call that threw (error_text);
/// rethrows `failure` instead when it is a cancellation or when the caller
/// is being cancelled (`cancelled`: the caller's
/// `co_await this_coro::cancellation_state` .cancelled()), since whatever a
/// cancelled call throws, the run is being cancelled.
std::string tool_failure_text(const std::exception_ptr& failure, boost::asio::cancellation_type cancelled);

} // namespace stirrup::detail
