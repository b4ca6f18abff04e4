#pragma once
// Runs a test body against a started local provider, stopping it whatever
// the body does.

#include <exception>

#include "stirrup/exec/local/local.hpp"
#include "support/run_sync.hpp"

namespace stirrup::test {

template <class Body>
void with_local(LocalCodeExecOptions options, Body body)
{
    run_sync([&]() -> awaitable<void> {
        LocalCodeExec env(options);
        co_await env.start();
        std::exception_ptr failure;
        try {
            co_await body(env);
        } catch (...) {
            failure = std::current_exception();
        }
        co_await env.stop();
        if (failure)
            std::rethrow_exception(failure);
    });
}

template <class Body>
void with_local(Body body)
{
    with_local(LocalCodeExecOptions{}, std::move(body));
}

} // namespace stirrup::test
