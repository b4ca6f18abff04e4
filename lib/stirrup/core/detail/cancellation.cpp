#include "stirrup/core/detail/cancellation.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace stirrup::detail {

bool is_cancellation(const std::exception_ptr& e)
{
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        return se.code() == boost::asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

std::string error_text(const std::exception_ptr& e)
{
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown error";
    }
}

std::string tool_failure_text(const std::exception_ptr& failure, boost::asio::cancellation_type cancelled)
{
    if (is_cancellation(failure) || cancelled != boost::asio::cancellation_type::none)
        std::rethrow_exception(failure);
    return error_text(failure);
}

} // namespace stirrup::detail
