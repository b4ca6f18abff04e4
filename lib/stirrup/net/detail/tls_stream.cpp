#include "stirrup/net/detail/tls_stream.hpp"

#include <boost/asio/ssl/context.hpp>

namespace stirrup::net::detail {
namespace asio = boost::asio;

namespace {

// The most a read asks for when reads keep filling their buffers.
constexpr std::size_t max_read = 64 * 1024;

} // namespace

ssl_ctx_st* TlsStream::native(asio::ssl::context& ctx)
{
    return ctx.native_handle();
}

boost::system::error_code TlsStream::input_arrived(error_code ec, std::size_t n)
{
    if (ec == asio::error::eof) {
        engine_.input_ended();
        return {};
    }
    if (ec) {
        engine_.input_failed();
        return ec;
    }
    // A read that filled its buffer likely left more behind: ask for more
    // next time (without an ioctl per read to learn how much is waiting).
    next_read_ = n >= next_read_ ? std::min(next_read_ * 2, max_read) : idle_read;
    engine_.commit_input(n);
    return {};
}

} // namespace stirrup::net::detail
