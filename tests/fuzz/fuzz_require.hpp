#pragma once
// The fuzz targets' invariant check: abort, so libFuzzer records the input.

#include <cstdlib>

namespace stirrup::fuzz {

inline void require(bool ok)
{
    if (!ok)
        std::abort();
}

} // namespace stirrup::fuzz
