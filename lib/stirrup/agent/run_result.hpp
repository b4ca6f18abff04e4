#pragma once
// What a run returns: the finish call (if any), the message history, and the
// run metadata (token usage, per-tool metadata, tool durations, model speed).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "stirrup/core/messages.hpp"
#include "stirrup/core/tool.hpp"

namespace stirrup {

/// The accepted finish call: which finish tool, and its arguments as parsed
/// against that tool's parameters (defaults filled in).
struct FinishCall {
    std::string tool_name;
    boost::json::object params;

    /// `params["paths"]` when it is a list of strings (Stirrup saves these to output_dir).
    std::vector<std::string> paths() const;
};

/// Stirrup's _model_speed: accepted assistant messages with timings.
struct ModelSpeed {
    std::string model_slug;
    std::int64_t num_calls = 0;
    std::int64_t output_tokens = 0; ///< answer + reasoning
    double duration = 0;            ///< seconds spent in generate()
    double e2e_otps = 0;            ///< output tokens per second
};

/// Time model calls waited before being sent: queued behind the client's
/// request limits (ModelRequestLimiter: in-flight cap, per-minute rate).
/// Measured as the time from the call to the client's request_start_time,
/// so a client that sets no such time reports no wait.
struct ModelQueueWait {
    std::int64_t calls = 0;   ///< model calls that returned (summaries and overflow retries included)
    double total_seconds = 0; ///< summed over those calls
    double max_seconds = 0;   ///< the longest single wait
};

struct RunMetadata {
    /// Per tool name, the metadata of each call that returned some, in call
    /// order. Every called name has a key, even an unknown tool's.
    std::map<std::string, std::vector<ToolMetadata>> tools;
    /// One entry per accepted assistant message, in order.
    std::vector<TokenUsage> token_usage;
    /// Per tool name, the duration in seconds of each timed call.
    std::map<std::string, std::vector<double>> tool_durations;
    /// Empty when no assistant message had timings.
    std::optional<ModelSpeed> model_speed;
    /// Not part of Stirrup's metadata (aggregate_metadata leaves it out).
    ModelQueueWait model_queue_wait;

    /// Sum of token_usage.
    TokenUsage total_tokens() const;
};

/// A sub-agent tool's metadata: the child's history and run metadata.
struct SubAgentMetadata {
    std::vector<std::vector<ChatMessage>> message_history;
    RunMetadata run_metadata;
};

struct RunResult {
    /// nullopt when the run ended without a successful finish call (max_turns).
    std::optional<FinishCall> finish;
    /// Groups of messages: one per summarization, the live one last.
    std::vector<std::vector<ChatMessage>> history;
    RunMetadata metadata;
    /// Accepted assistant turns.
    int turns = 0;

    bool finished() const noexcept { return finish.has_value(); }
};

/// Stirrup's aggregate_metadata: per tool the folded metadata (sub-agents
/// nested under their name), plus "token_usage": [total] when non-zero.
boost::json::object aggregate_metadata(const RunMetadata& metadata);

/// Folds `b` into `a` the way Stirrup adds metadata models.
void merge_metadata(ToolMetadata& a, const ToolMetadata& b);

/// Appends `from` to `into` (Stirrup's _merge_run_metadata and the run_metadata
/// part of SubAgentMetadata.__add__): per-tool lists, token usage and
/// durations are concatenated; model_speed keeps the last one set.
void merge_run_metadata(RunMetadata& into, const RunMetadata& from);

} // namespace stirrup
