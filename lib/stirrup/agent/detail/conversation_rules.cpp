#include "stirrup/agent/detail/conversation_rules.hpp"

#include <algorithm>
#include <set>

#include "stirrup/llm/errors.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"

namespace stirrup::detail {

namespace {

bool is_summary(const ChatMessage& m)
{
    const auto* u = std::get_if<UserMessage>(&m);
    return u && u->kind == UserKind::summary;
}

bool is_turn_warning(const ChatMessage& m)
{
    const auto* u = std::get_if<UserMessage>(&m);
    return u && u->kind == UserKind::turn_warning;
}

// Stirrup's message_summarizer.txt is not published with the notes this port
// was written from; this text asks for the same five sections in the same
// order and ends with the same instruction, and like the original ends with a
// newline (so attempt 2 joins with three newlines).
constexpr std::string_view message_summarizer =
    "The conversation so far is about to be replaced by a summary, because it no longer fits in the context "
    "window. Write that summary so that you can continue the task from it alone. Structure it as:\n"
    "\n"
    "1. Task Overview: what the user asked for, the success criteria and any constraints.\n"
    "2. Progress Made: what has been done so far, including the files created or modified (with their paths), "
    "the functions written and the tools used, with their results.\n"
    "3. Current State: where the work stands now, what works and what does not.\n"
    "4. Next Steps: the specific remaining TODOs, with file paths and line numbers where relevant.\n"
    "5. Important Context: decisions taken and why, errors met and how they were solved, approaches that failed, "
    "and anything else needed to avoid repeating work.\n"
    "\n"
    "Keep the summary concise but comprehensive. Do not use any tools. Respond only with the summary.\n";

constexpr std::string_view message_summarizer_text_only =
    "IMPORTANT: Respond with the summary as plain prose text only. Do NOT call any tools \xe2\x80\x94 a tool call "
    "cannot serve as a summary and will cause the summarization to fail.";

constexpr std::string_view bridge_head =
    "**Context Continuation**\n\nDue to context window limitations, the previous conversation has been summarized. "
    "Below is a summary of what happened before:\n\n---\n\n";
constexpr std::string_view bridge_tail =
    "\n\n---\n\nYou should continue working on this task from where it was left off. All the progress, current "
    "state, and next steps are described in the summary above. Proceed with completing any outstanding work.";

} // namespace

int count_turns(const std::vector<std::vector<ChatMessage>>& history, const std::vector<ChatMessage>& messages)
{
    auto count = [](const std::vector<ChatMessage>& group) {
        return static_cast<int>(std::count_if(group.begin(), group.end(), [](const ChatMessage& m) {
            return std::holds_alternative<AssistantMessage>(m);
        }));
    };
    int n = count(messages);
    for (const auto& group : history)
        n += count(group);
    return n;
}

std::optional<std::string> turn_warning(int turn, int max_turns, int threshold)
{
    int remaining = max_turns - turn;
    if (turn == 0 || remaining > threshold)
        return std::nullopt;
    if (remaining == 1)
        return std::string("This is the last turn. Please finish the task by calling a finish tool.");
    return "You have " + std::to_string(remaining) +
           " turns remaining to complete the task. Please continue. Remember you will need a separate turn to call "
           "a finish tool.";
}

bool needs_continue_prompt(bool enabled, bool had_tool_or_user_messages, int accepted_turn, int max_turns,
                           int threshold)
{
    return enabled && !had_tool_or_user_messages && !(max_turns - accepted_turn <= threshold);
}

std::vector<UserMessage> move_images_out_of_tool_results(std::vector<ToolMessage>& tool_messages)
{
    std::vector<UserMessage> moved;
    for (auto& msg : tool_messages) {
        auto* parts = std::get_if<std::vector<ContentPart>>(&msg.content);
        if (!parts)
            continue;
        for (auto& part : *parts) {
            if (auto* image = std::get_if<ImageBlock>(&part)) {
                std::vector<ContentPart> user_parts;
                user_parts.emplace_back("Here is the image for tool call " + msg.tool_call_id);
                user_parts.emplace_back(std::move(*image));
                moved.push_back(UserMessage{std::move(user_parts), UserKind::user, {}});
                part = "Done! The User will provide the image for tool call " + msg.tool_call_id;
            } else if (auto* audio = std::get_if<AudioBlock>(&part)) {
                // Stirrup fails the run on audio here; it is moved the same way.
                std::vector<ContentPart> user_parts;
                user_parts.emplace_back("Here is the audio for tool call " + msg.tool_call_id);
                user_parts.emplace_back(std::move(*audio));
                moved.push_back(UserMessage{std::move(user_parts), UserKind::user, {}});
                part = "Done! The User will provide the audio for tool call " + msg.tool_call_id;
            }
        }
    }
    return moved;
}

std::string multiple_finish_rejection(std::string_view name, const std::vector<std::string>& finish_names)
{
    std::set<std::string> unique(finish_names.begin(), finish_names.end());
    return "Cannot call finish tool '" + std::string(name) + "': multiple finish tools (" +
           py_repr_list(std::vector<std::string>(unique.begin(), unique.end())) +
           ") were called in the same turn. Only one finish tool may be called per turn \xe2\x80\x94 retry with a "
           "single finish tool call.";
}

UnwoundTurn unwind_latest_turn(const std::vector<ChatMessage>& messages, std::uint64_t context_window)
{
    // The latest completed turn starts at the last assistant message (or the
    // turn warning right before it); a summary in between means there is none.
    std::optional<std::size_t> turn_start;
    for (std::size_t i = messages.size(); i-- > 0;) {
        if (is_summary(messages[i]))
            break;
        if (const auto* a = std::get_if<AssistantMessage>(&messages[i])) {
            (void)a;
            turn_start = (i > 0 && is_turn_warning(messages[i - 1])) ? i - 1 : i;
            break;
        }
    }
    bool has_prior_turn = false;
    if (turn_start) {
        for (std::size_t i = *turn_start; i-- > 0;) {
            if (is_summary(messages[i]))
                break;
            if (std::holds_alternative<AssistantMessage>(messages[i])) {
                has_prior_turn = true;
                break;
            }
        }
    }
    if (!turn_start || !has_prior_turn) {
        bool summarized = std::any_of(messages.begin(), messages.end(), is_summary);
        throw ContextOverflowError(std::string("Context overflow reached the ") +
                                   (summarized ? "summarized context" : "original prompt") +
                                   " (configured context_window_tokens=" + std::to_string(context_window) +
                                   "; providers that count the response budget inside the context window leave less "
                                   "room for input)");
    }
    std::size_t assistant_index = *turn_start;
    if (!std::holds_alternative<AssistantMessage>(messages[assistant_index]))
        ++assistant_index;
    UnwoundTurn out;
    out.dropped_assistant_id = std::get<AssistantMessage>(messages[assistant_index]).id;
    out.kept.assign(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(*turn_start));
    return out;
}

std::string summarizer_prompt(int attempt, const std::vector<ToolDefinition>& tools)
{
    std::string prompt(message_summarizer);
    if (attempt >= 1) {
        prompt += "\n\n";
        prompt += message_summarizer_text_only;
    }
    if (attempt >= 2) {
        prompt += "\n\nTools are disabled for this response. For reference, the tools available earlier in the "
                  "conversation were:\n";
        for (std::size_t i = 0; i < tools.size(); ++i) {
            if (i)
                prompt += '\n';
            prompt += "- " + tools[i].name + ": " + tools[i].description;
        }
    }
    return prompt;
}

std::string summary_bridge(std::string_view summary)
{
    std::string out(bridge_head);
    out += summary;
    out += bridge_tail;
    return out;
}

std::vector<ChatMessage> summarized_conversation(const std::vector<ChatMessage>& messages, std::string_view summary)
{
    std::vector<ChatMessage> out;
    std::size_t i = 0;
    for (; i < messages.size(); ++i) {
        if (std::holds_alternative<AssistantMessage>(messages[i]) || is_summary(messages[i]))
            break;
        out.push_back(messages[i]);
    }
    std::vector<std::string> replaced;
    for (; i < messages.size(); ++i) {
        if (const auto* a = std::get_if<AssistantMessage>(&messages[i]))
            replaced.push_back(a->id);
        else if (is_summary(messages[i])) {
            const auto& ids = std::get<UserMessage>(messages[i]).replaced_ids;
            replaced.insert(replaced.end(), ids.begin(), ids.end());
        }
    }
    UserMessage summary_msg{summary_bridge(summary), UserKind::summary, std::move(replaced)};
    out.push_back(std::move(summary_msg));
    out.push_back(UserMessage{std::string(summary_ack_text), UserKind::user, {}});
    return out;
}

} // namespace stirrup::detail
