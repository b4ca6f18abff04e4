#pragma once
// Stirrup's rules for shaping the conversation, as pure functions over
// message lists: turn counting and warnings, moving images out of tool
// results, context-overflow unwinding and the summarization messages. The
// run loop (run_loop.cpp) applies them; they do no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/messages.hpp"

namespace stirrup::detail {

inline constexpr std::string_view continue_prompt_text = "Please continue the task";
inline constexpr std::string_view summary_ack_text = "Got it, thanks!";

/// Accepted assistant turns over the summarized groups and the live messages.
int count_turns(const std::vector<std::vector<ChatMessage>>& history, const std::vector<ChatMessage>& messages);

/// The warning at the top of a turn, when `turn != 0` and `max_turns - turn <= threshold`.
std::optional<std::string> turn_warning(int turn, int max_turns, int threshold);

/// Whether the continue prompt follows a turn: Stirrup adds it only when the
/// turn produced no tool or image messages and the next turn shows no warning.
bool needs_continue_prompt(bool enabled, bool had_tool_or_user_messages, int accepted_turn, int max_turns,
                           int threshold);

/// Stirrup's _handle_text_only_tool_responses: every image in a tool result
/// is replaced in place by "Done! The User will provide the image for tool
/// call {id}" and moved into a user message "Here is the image for tool call {id}".
std::vector<UserMessage> move_images_out_of_tool_results(std::vector<ToolMessage>& tool_messages);

/// The message rejecting each of several finish calls in one turn.
std::string multiple_finish_rejection(std::string_view name, const std::vector<std::string>& finish_names);

/// Drops the latest completed turn (with its leading turn warning) so the
/// request fits again. Throws ContextOverflowError when no earlier turn
/// exists after the prompt or the last summary. `context_window` is quoted
/// in that error.
struct UnwoundTurn {
    std::vector<ChatMessage> kept;
    std::string dropped_assistant_id;
};
UnwoundTurn unwind_latest_turn(const std::vector<ChatMessage>& messages, std::uint64_t context_window);

/// The user message asking for a summary: attempt 0, 1 (adds the text-only
/// instruction) or 2 (also lists the tools, which are then withheld).
std::string summarizer_prompt(int attempt, const std::vector<ToolDefinition>& tools);

/// Stirrup's bridge text around a summary.
std::string summary_bridge(std::string_view summary);

/// The messages after summarization: the task context (system and initial
/// user messages), the summary (with the ids it replaces, chained through
/// earlier summaries) and the acknowledgement.
std::vector<ChatMessage> summarized_conversation(const std::vector<ChatMessage>& messages, std::string_view summary);

} // namespace stirrup::detail
