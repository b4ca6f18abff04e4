#pragma once
// An operation that must finish once started, whatever the caller's
// cancellation says: a create whose answer is lost leaves a resource (a
// container, a sandbox) that nothing can name to remove. Shielded, the
// create completes (bounded by its own timeout), its result is stored, and
// the caller's pending cancellation then fires at its next co_await, where
// the undo knows what to remove.

#include <exception>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/awaitable.hpp"

namespace stirrup::detail {

template <class T>
awaitable<T> shielded(awaitable<T> op)
{
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    // An empty slot: the caller's cancellation is recorded in its own state
    // but reaches nothing here. (as_tuple: GCC 12 mishandles an exception
    // thrown straight out of this co_await.)
    auto token = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable));
    std::tuple<std::exception_ptr, T> done = co_await asio::co_spawn(ex, std::move(op), std::move(token));
    if (std::get<0>(done))
        std::rethrow_exception(std::get<0>(done));
    co_return std::move(std::get<1>(done));
}

} // namespace stirrup::detail
