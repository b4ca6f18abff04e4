#pragma once
// errno as a std::error_code, for the system calls the library makes directly.

#include <cerrno>
#include <system_error>

namespace stirrup::detail {

inline std::error_code errno_code(int e) noexcept
{
    return {e, std::system_category()};
}

inline std::error_code last_errno() noexcept
{
    return errno_code(errno);
}

} // namespace stirrup::detail
