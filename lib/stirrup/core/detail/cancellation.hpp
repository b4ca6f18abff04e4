#pragma once
// Telling a cancellation apart from a failure, for code that must treat
// them differently (rethrow the one, report the other).

#include <exception>

namespace stirrup {

/// True when `e` holds a system_error with asio's operation_aborted: what a
/// cancelled Asio operation (and so a cancelled coroutine) throws.
bool is_cancellation(const std::exception_ptr& e);

} // namespace stirrup
