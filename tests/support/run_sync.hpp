#pragma once
// Drives a coroutine to completion on a fresh io_context, for tests.

#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace stirrup::test {

/// Builds a vector of strings outside the coroutine: GCC 12 cannot compile a
/// braced list (an array temporary) inside a co_await expression.
template <class... S>
std::vector<std::string> strings(S&&... s)
{
    return {std::string(std::forward<S>(s))...};
}

template <class F>
auto run_sync(F&& make_awaitable)
{
    boost::asio::io_context io;
    using Awaitable = decltype(make_awaitable());
    using T = typename Awaitable::value_type;
    std::exception_ptr failure;
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(io, make_awaitable(), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure)
            std::rethrow_exception(failure);
    } else {
        std::optional<T> value;
        boost::asio::co_spawn(io, make_awaitable(), [&](std::exception_ptr e, T v) {
            failure = e;
            if (!e)
                value.emplace(std::move(v));
        });
        io.run();
        if (failure)
            std::rethrow_exception(failure);
        return std::move(*value);
    }
}

} // namespace stirrup::test
