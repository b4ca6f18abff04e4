#pragma once
// Runs blocking work (filesystem copies, directory removal, /proc scans) on a
// small shared thread pool and resumes the caller on its own executor, so the
// event loop never blocks on I/O of unbounded size.

#include <functional>

#include <boost/asio/awaitable.hpp>

namespace stirrup::detail {

/// Runs `fn` on the blocking pool; rethrows what it throws.
boost::asio::awaitable<void> offload(std::function<void()> fn);

/// Fire-and-forget form for destructors: `fn` must not throw.
void offload_detached(std::function<void()> fn);

} // namespace stirrup::detail
