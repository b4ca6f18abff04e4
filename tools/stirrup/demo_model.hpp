#pragma once
// `stirrup run --demo`: an in-process model that plays a fixed script, so the
// whole agent path (tool calls, the execution environment, the finish tool,
// output files, token accounting, the log) can be seen without an API key or
// a network. It is not an LLM: it ignores the task and always does the same.

#include <cstdint>
#include <string>
#include <vector>

#include "stirrup/llm/llm_client.hpp"

namespace stirrup::cli {

/// Printed on stderr by every demo run, so nobody mistakes it for a model.
inline constexpr const char* demo_banner = "offline demo model: scripted responses, not an LLM";

/// The script, by turn (the number of assistant messages already in the
/// conversation): 1. code_exec writes primes.py, a Python program that writes
/// report.md; 2. code_exec runs it and shows the report; 3. finish with
/// paths ["report.md", "primes.py"] (or, if the run failed, with no paths and
/// a reason saying so). Later turns repeat the finish call. Token usage is
/// estimated as characters / 4 so the run's totals show real numbers.
class DemoModel final : public LlmClient {
public:
    boost::asio::awaitable<AssistantMessage> generate(const std::vector<ChatMessage>& messages,
                                                      const std::vector<ToolDefinition>& tools) override;
    std::string model_slug() const override { return "stirrup-demo"; }
    std::uint64_t context_window_tokens() const override { return 128'000; }
    std::uint64_t max_tokens() const override { return 4'096; }
};

} // namespace stirrup::cli
