#pragma once
// Random lowercase hex for names that must not collide (exec markers,
// session IDs, temp names). Not for secrets: a per-thread mt19937_64 seeded
// from std::random_device.

#include <cstddef>
#include <string>

namespace stirrup {

std::string random_hex(std::size_t digits);

} // namespace stirrup
