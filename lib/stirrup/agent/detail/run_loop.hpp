#pragma once
// Internal: Stirrup's run loop over a started session.

#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/agent/run_result.hpp"
#include "stirrup/core/messages.hpp"

namespace stirrup::detail {

struct SessionState;

boost::asio::awaitable<RunResult> run_loop(SessionState& state, std::vector<ChatMessage> initial_messages);

} // namespace stirrup::detail
