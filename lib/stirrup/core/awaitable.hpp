#pragma once
// The library's shorthand for Asio's coroutine type.

#include <boost/asio/awaitable.hpp>

namespace stirrup {

template <class T>
using awaitable = boost::asio::awaitable<T>;

} // namespace stirrup
