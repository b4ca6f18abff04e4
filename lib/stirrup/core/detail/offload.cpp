#include "stirrup/core/detail/offload.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stirrup::detail {
namespace asio = boost::asio;
namespace {

asio::thread_pool& blocking_pool()
{
    // Two threads: blocking work here is disk-bound, and the machines we
    // target have few cores; more threads would only contend.
    static asio::thread_pool pool{2};
    return pool;
}

} // namespace

asio::awaitable<void> offload(std::function<void()> fn)
{
    // A plain handler rather than a coroutine lambda: GCC 12 destroys a
    // coroutine lambda's moved captures twice.
    co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
        [&fn](auto handler) {
            // Keeps the caller's io_context from running out of work while
            // the job is on the pool.
            auto work = asio::make_work_guard(asio::get_associated_executor(handler));
            asio::post(blocking_pool(), [&fn, handler = std::move(handler), work = std::move(work)]() mutable {
                std::exception_ptr error;
                try {
                    fn();
                } catch (...) {
                    error = std::current_exception();
                }
                auto ex = work.get_executor();
                asio::dispatch(ex, [handler = std::move(handler), error]() mutable { std::move(handler)(error); });
                work.reset();
            });
        },
        asio::use_awaitable);
}

void offload_detached(std::function<void()> fn)
{
    asio::post(blocking_pool(), std::move(fn));
}

} // namespace stirrup::detail
