#pragma once
// Polls a condition (outside any io_context) until it holds or `limit`
// passes: for effects that land in the background, such as a kill or a
// removal posted after stop().

#include <chrono>
#include <thread>

namespace stirrup::test {

template <class F>
bool eventually(F&& f, std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (f())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return f();
}

} // namespace stirrup::test
