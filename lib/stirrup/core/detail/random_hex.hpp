#pragma once
// Random lowercase hex for names that must not collide (exec markers,
// session IDs, message IDs, temp names). Not for secrets: a per-thread
// mt19937_64 seeded once from std::random_device, so a name costs no system
// call.

#include <cstddef>
#include <string>

namespace stirrup::detail {

std::string random_hex(std::size_t digits);

/// 32 hex digits laid out as Python's uuid.uuid4().hex (version 4, RFC 4122
/// variant).
std::string uuid4_hex();

} // namespace stirrup::detail
