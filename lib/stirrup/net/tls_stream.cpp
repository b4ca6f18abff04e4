#include "stirrup/net/tls_stream.hpp"

#include <boost/asio/ssl/context.hpp>

namespace stirrup::net {
namespace asio = boost::asio;

namespace {

// Reading into this much while nothing is waiting holds a model's whole
// answer (headers and a typical completion) in one read, and is all an idle
// connection keeps for its pending read.
constexpr std::size_t idle_read = 2048;
// Past one read's worth of waiting bytes, the rest is left for the next read.
constexpr std::size_t max_read = 64 * 1024;

} // namespace

ssl_ctx_st* TlsStream::native(asio::ssl::context& ctx) { return ctx.native_handle(); }

std::span<std::byte> TlsStream::input_space()
{
    boost::system::error_code ignored;
    const std::size_t waiting = next_.socket().available(ignored);
    return engine_.input_space(std::clamp(waiting, idle_read, max_read));
}

boost::system::error_code TlsStream::input_arrived(error_code ec, std::size_t n)
{
    if (ec == asio::error::eof) {
        engine_.input_ended();
        return {};
    }
    if (ec)
        return ec;
    engine_.commit_input(n);
    return {};
}

} // namespace stirrup::net
