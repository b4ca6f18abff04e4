#include "stirrup/core/random_hex.hpp"

#include <random>

namespace stirrup {

std::string random_hex(std::size_t digits)
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string s(digits, '0');
    for (auto& c : s)
        c = hex[rng() % 16];
    return s;
}

} // namespace stirrup
