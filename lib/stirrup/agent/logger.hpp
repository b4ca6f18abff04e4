#pragma once
// The callbacks an agent makes while it runs, for loggers, progress displays
// and tracing. One logger may serve many concurrent sessions: every callback
// says which session it is about.

#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/agent/run_result.hpp"
#include "stirrup/core/log_level.hpp"
#include "stirrup/core/messages.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup {

/// Which session a callback is about.
struct LogScope {
    std::string agent_name;
    std::string model;
    int max_turns = 0;
    /// 0 for a root session, n for a sub-agent n levels down.
    int depth = 0;
    /// Unique per session in the process.
    std::uint64_t session_id = 0;
};

/// Cumulative totals after an accepted turn.
struct StepProgress {
    int step = 0;
    std::int64_t tool_calls = 0;
    std::int64_t input_tokens = 0;
    std::int64_t output_tokens = 0;
};

/// Everything known when a session ends.
struct SessionReport {
    /// The last run's finish call; nullopt when it did not finish or no run happened.
    const std::optional<FinishCall>* finish = nullptr;
    /// The last run's metadata (null when no run completed).
    const RunMetadata* metadata = nullptr;
    std::optional<std::filesystem::path> output_dir;
    /// The saved output files (root sessions with output_dir and finish paths).
    const std::optional<SaveOutputFilesResult>* output_files = nullptr;
    /// The error the session ended with (also cancellation), null otherwise.
    std::exception_ptr error;
};

class AgentLogger {
public:
    virtual ~AgentLogger() = default;

    virtual void session_start(const LogScope&) {}
    /// After outputs are saved, before providers stop.
    virtual void session_end(const LogScope&, const SessionReport&) {}
    /// At run start: the task text (the last initial message's text).
    virtual void task(const LogScope&, std::string_view) {}
    /// Root sessions only: configuration warnings (Stirrup's _collect_warnings).
    virtual void warnings(const LogScope&, const std::vector<std::string>&) {}
    /// Right after the model answered, before tools run.
    virtual void assistant_message(const LogScope&, int /*turn*/, int /*max_turns*/, const AssistantMessage&) {}
    /// Turn warnings and images moved out of tool results.
    virtual void user_message(const LogScope&, const UserMessage&) {}
    /// After each tool call.
    virtual void tool_result(const LogScope&, const ToolMessage&) {}
    /// After each accepted turn, with cumulative totals.
    virtual void step(const LogScope&, const StepProgress&) {}
    virtual void summarization_start(const LogScope&, double /*pct_used*/, double /*cutoff*/) {}
    virtual void summarization_end(const LogScope&, std::string_view /*summary*/, std::string_view /*bridge*/) {}
    virtual void message(const LogScope&, LogLevel, std::string_view) {}
    /// Interactive tools (user_input) pause the live display while they ask.
    virtual void pause_live() {}
    virtual void resume_live() {}
};

} // namespace stirrup
