#pragma once
// Everything a program using stirrup-cpp needs, in one include. Each
// component's public headers can also be included alone (docs/api.md lists
// them); nothing under a detail/ folder is installed or meant for users.

#include "stirrup/core/awaitable.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/core/limiter.hpp"
#include "stirrup/core/messages.hpp"
#include "stirrup/core/tool.hpp"
#include "stirrup/core/tool_params.hpp"

#include "stirrup/net/http_client.hpp"
#include "stirrup/net/http_options.hpp"
#include "stirrup/net/websocket.hpp"

#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/llm/llm_client.hpp"
#include "stirrup/llm/request_limiter.hpp"

#include "stirrup/exec/allowlist.hpp"
#include "stirrup/exec/code_exec_tool.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/command_result.hpp"
#include "stirrup/exec/creation_gate.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/exec/output_paths.hpp"
#include "stirrup/exec/provider.hpp"
#include "stirrup/exec/transfer_limits.hpp"
#include "stirrup/exec/transfer_result.hpp"

#include "stirrup/tools/calculator_tool.hpp"
#include "stirrup/tools/finish_tool.hpp"
#include "stirrup/tools/mcp/mcp_tool_provider.hpp"
#include "stirrup/tools/user_input_tool.hpp"
#include "stirrup/tools/view_image_tool.hpp"

#include "stirrup/agent/agent.hpp"
#include "stirrup/agent/console_logger.hpp"
#include "stirrup/agent/logger.hpp"
#include "stirrup/agent/run_result.hpp"
#include "stirrup/agent/session.hpp"
#include "stirrup/agent/skills.hpp"
#include "stirrup/agent/system_prompt.hpp"
