#include "stirrup/core/detail/cancellation.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace stirrup {

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

} // namespace stirrup
