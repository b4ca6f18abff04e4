#include "stirrup/agent/detail/run_loop.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/agent/detail/conversation_rules.hpp"
#include "stirrup/agent/detail/run_warnings.hpp"
#include "stirrup/agent/detail/session_state.hpp"
#include "stirrup/core/detail/cancellation.hpp"
#include "stirrup/core/tool_params.hpp"
#include "stirrup/llm/errors.hpp"

namespace stirrup::detail {

namespace {

using TurnMetadata = std::map<std::string, std::vector<ToolMetadata>>;

/// run_metadata_by_turn: per accepted assistant message id, in turn order.
struct MetadataByTurn {
    std::vector<std::pair<std::string, TurnMetadata>> turns;

    void erase(const std::string& id)
    {
        std::erase_if(turns, [&](const auto& t) { return t.first == id; });
    }
};

struct StepResult {
    AssistantMessage assistant;
    std::vector<ToolMessage> tool_messages;
    std::optional<FinishCall> finish;
};

/// Stirrup's run_tool, except that an exception inside a tool becomes a
/// failed result instead of ending the run (cancellation still propagates).
awaitable<ToolMessage> run_tool(SessionState& state, const ToolCall& call, TurnMetadata& metadata)
{
    const Tool* tool = state.find_tool(call.name);
    metadata.try_emplace(call.name);
    ToolMessage msg;
    msg.tool_call_id = call.tool_call_id;
    msg.name = call.name;
    msg.tool_start_time = steady_clock_seconds();
    ToolResult result;
    if (!tool) {
        result = ToolResult{call.name + " is not a valid tool", false, std::nullopt};
    } else {
        std::optional<boost::json::object> args;
        std::string invalid_text = "Tool arguments are not valid";
        try {
            auto parsed = detail::parse_arguments_text(call.arguments);
            if (tool->parse_arguments)
                args = tool->parse_arguments(parsed);
            else if (parsed.is_object())
                args = parsed.get_object();
            else
                throw InvalidToolArguments("Input should be an object");
        } catch (const InvalidToolArguments& e) {
            msg.args_was_valid = false;
            if (e.shown_to_model())
                invalid_text += std::string(": ") + e.what();
        }
        if (!args) {
            result = ToolResult{std::move(invalid_text), false, std::nullopt};
        } else {
            std::exception_ptr failure;
            try {
                result = co_await tool->execute(std::move(*args), state);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                auto cs = co_await boost::asio::this_coro::cancellation_state;
                result = ToolResult{"Error executing tool " + call.name + ": " +
                                        detail::tool_failure_text(failure, cs.cancelled()),
                                    false, std::nullopt};
            }
            if (result.metadata)
                metadata[call.name].push_back(std::move(*result.metadata));
        }
    }
    msg.tool_end_time = steady_clock_seconds();
    msg.content = std::move(result.content);
    msg.success = result.success;
    co_return msg;
}

/// The model call, with the time it waited for the client's request limits
/// added to `wait` (the client sets request_start_time once admitted).
awaitable<AssistantMessage> call_model(SessionState& state, const std::vector<ChatMessage>& messages,
                                       const std::vector<ToolDefinition>& tools, ModelQueueWait& wait)
{
    const double called = steady_clock_seconds();
    AssistantMessage reply = co_await state.config->client->generate(messages, tools);
    const double waited = reply.request_start_time ? std::max(0.0, *reply.request_start_time - called) : 0.0;
    ++wait.calls;
    wait.total_seconds += waited;
    wait.max_seconds = std::max(wait.max_seconds, waited);
    co_return reply;
}

awaitable<StepResult> step(SessionState& state, const std::vector<ChatMessage>& messages, TurnMetadata& metadata,
                           int turn, int max_turns, ModelQueueWait& wait)
{
    auto definitions = state.tool_definitions();
    StepResult out;
    out.assistant = co_await call_model(state, messages, definitions, wait);
    if (turn > 0)
        state.logger->assistant_message(state.scope, turn, max_turns, out.assistant);

    auto calls = tool_call_blocks(out.assistant.blocks);
    std::vector<std::string> finish_names;
    for (const auto& c : calls)
        if (state.is_finish(c.name))
            finish_names.push_back(c.name);
    const bool reject_finish = finish_names.size() > 1;
    // Ordinary calls first, in emission order; then the finish call, so that
    // nothing runs after the run has ended.
    std::stable_partition(calls.begin(), calls.end(), [&](const ToolCall& c) { return !state.is_finish(c.name); });
    for (const auto& call : calls) {
        ToolMessage msg;
        if (reject_finish && state.is_finish(call.name)) {
            msg.content = detail::multiple_finish_rejection(call.name, finish_names);
            msg.tool_call_id = call.tool_call_id;
            msg.name = call.name;
            msg.success = false;
        } else {
            msg = co_await run_tool(state, call, metadata);
            if (msg.success && state.is_finish(call.name)) {
                const Tool* tool = state.find_tool(call.name);
                auto parsed = detail::parse_arguments_text(call.arguments);
                out.finish =
                    FinishCall{call.name, tool->parse_arguments ? tool->parse_arguments(parsed) : parsed.get_object()};
            }
        }
        state.logger->tool_result(state.scope, msg);
        out.tool_messages.push_back(std::move(msg));
    }
    co_return out;
}

/// Stirrup's summarize_messages: returns (messages as summarized, new messages).
awaitable<std::pair<std::vector<ChatMessage>, std::vector<ChatMessage>>>
summarize(SessionState& state, std::vector<ChatMessage> messages, MetadataByTurn& by_turn, ModelQueueWait& wait)
{
    const auto& cfg = *state.config;
    for (;;) {
        bool overflowed = false;
        std::optional<std::string> summary;
        try {
            auto definitions = state.tool_definitions();
            for (int attempt = 0; attempt < 3 && !summary; ++attempt) {
                auto request = messages;
                request.push_back(UserMessage{detail::summarizer_prompt(attempt, definitions)});
                std::vector<ToolDefinition> tools;
                if (attempt < 2)
                    tools = definitions;
                auto reply = co_await call_model(state, request, tools, wait);
                summary = joined_text(reply.blocks);
                if (!summary)
                    state.logger->message(state.scope, LogLevel::warning,
                                          "Summarizer response contained no text blocks; retrying summarization");
            }
        } catch (const ContextOverflowError&) {
            overflowed = true;
        }
        if (overflowed) {
            if (!cfg.options.recover_from_context_overflow)
                throw ContextOverflowError("Context overflow recovery is disabled");
            auto unwound = detail::unwind_latest_turn(messages, cfg.client->context_window_tokens());
            messages = std::move(unwound.kept);
            by_turn.erase(unwound.dropped_assistant_id);
            continue;
        }
        if (!summary)
            throw Error("Summarizer response contained no text blocks; cannot summarize context");
        auto fresh = detail::summarized_conversation(messages, *summary);
        state.logger->summarization_end(state.scope, *summary, detail::summary_bridge(*summary));
        co_return std::make_pair(std::move(messages), std::move(fresh));
    }
}

std::string task_text(const ChatMessage& m)
{
    if (const auto* a = std::get_if<AssistantMessage>(&m))
        return joined_text(a->blocks).value_or("");
    return std::visit(
        [](const auto& x) -> std::string {
            if constexpr (requires { x.content; })
                return content_text(x.content);
            else
                return {};
        },
        m);
}

RunMetadata build_run_metadata(const MetadataByTurn& by_turn, const std::vector<std::vector<ChatMessage>>& history,
                               const std::string& model_slug)
{
    RunMetadata md;
    for (const auto& [id, turn] : by_turn.turns)
        for (const auto& [tool, list] : turn) {
            auto& dst = md.tools[tool];
            dst.insert(dst.end(), list.begin(), list.end());
        }
    ModelSpeed speed;
    speed.model_slug = model_slug;
    for (const auto& group : history)
        for (const auto& m : group) {
            if (const auto* a = std::get_if<AssistantMessage>(&m)) {
                md.token_usage.push_back(a->token_usage);
                if (a->request_start_time && a->request_end_time) {
                    double d = *a->request_end_time - *a->request_start_time;
                    if (d > 0) {
                        ++speed.num_calls;
                        speed.output_tokens += a->token_usage.output();
                        speed.duration += d;
                    }
                }
            } else if (const auto* t = std::get_if<ToolMessage>(&m)) {
                auto d = t->tool_duration();
                if (t->name && d)
                    md.tool_durations[*t->name].push_back(*d);
            }
        }
    if (speed.num_calls > 0) {
        speed.e2e_otps = static_cast<double>(speed.output_tokens) / speed.duration;
        md.model_speed = speed;
    }
    return md;
}

} // namespace

awaitable<RunResult> run_loop(SessionState& state, std::vector<ChatMessage> initial_messages)
{
    const auto& cfg = *state.config;
    const auto& opt = cfg.options;
    state.run_started = true;
    state.finish.reset();
    state.run_metadata.reset();
    state.output_files.reset();

    std::vector<ChatMessage> msgs;
    msgs.emplace_back(SystemMessage{state.build_prompt()});
    for (auto& m : initial_messages)
        msgs.push_back(std::move(m));
    std::vector<std::vector<ChatMessage>> history;

    state.logger->task(state.scope, task_text(msgs.back()));
    if (state.scope.depth == 0) {
        auto warnings = collect_run_warnings(state);
        if (!warnings.empty())
            state.logger->warnings(state.scope, warnings);
    }

    MetadataByTurn by_turn;
    ModelQueueWait queue_wait;
    StepProgress progress;
    std::optional<FinishCall> finish;
    const std::uint64_t window = cfg.client->context_window_tokens();

    while (detail::count_turns(history, msgs) < opt.max_turns) {
        const int turn = detail::count_turns(history, msgs);
        if (auto warning = detail::turn_warning(turn, opt.max_turns, opt.turns_remaining_warning_threshold)) {
            UserMessage w{std::move(*warning), UserKind::turn_warning};
            state.logger->user_message(state.scope, w);
            msgs.emplace_back(std::move(w));
        }

        TurnMetadata turn_metadata;
        std::optional<StepResult> result;
        while (!result) {
            turn_metadata.clear();
            bool overflowed = false;
            try {
                result = co_await step(state, msgs, turn_metadata, detail::count_turns(history, msgs) + 1,
                                       opt.max_turns, queue_wait);
            } catch (const ContextOverflowError&) {
                overflowed = true;
            }
            if (overflowed) {
                if (!opt.recover_from_context_overflow)
                    throw ContextOverflowError("Context overflow recovery is disabled");
                auto unwound = detail::unwind_latest_turn(msgs, window);
                msgs = std::move(unwound.kept);
                by_turn.erase(unwound.dropped_assistant_id);
            }
        }

        by_turn.turns.emplace_back(result->assistant.id, std::move(turn_metadata));
        const int accepted_turn = detail::count_turns(history, msgs) + 1;
        progress.step = accepted_turn;
        progress.tool_calls += static_cast<std::int64_t>(result->tool_messages.size());
        progress.input_tokens += result->assistant.token_usage.input;
        progress.output_tokens += result->assistant.token_usage.output();
        state.logger->step(state.scope, progress);

        std::vector<UserMessage> user_messages;
        if (opt.text_only_tool_responses)
            user_messages = detail::move_images_out_of_tool_results(result->tool_messages);
        for (const auto& u : user_messages)
            state.logger->user_message(state.scope, u);

        const bool had_messages = !result->tool_messages.empty() || !user_messages.empty();
        const TokenUsage usage = result->assistant.token_usage;
        msgs.emplace_back(std::move(result->assistant));
        for (auto& t : result->tool_messages)
            msgs.emplace_back(std::move(t));
        for (auto& u : user_messages)
            msgs.emplace_back(std::move(u));

        if (result->finish) {
            finish = std::move(result->finish);
            break;
        }

        const double pct = static_cast<double>(usage.total()) / static_cast<double>(window);
        if (pct >= opt.context_summarization_cutoff && accepted_turn != opt.max_turns) {
            state.logger->summarization_start(state.scope, pct, opt.context_summarization_cutoff);
            auto [old_msgs, fresh] = co_await summarize(state, std::move(msgs), by_turn, queue_wait);
            history.push_back(std::move(old_msgs));
            msgs = std::move(fresh);
        }

        if (detail::needs_continue_prompt(opt.block_successive_assistant_messages, had_messages, accepted_turn,
                                          opt.max_turns, opt.turns_remaining_warning_threshold))
            msgs.emplace_back(UserMessage{std::string(detail::continue_prompt_text)});
    }

    if (!finish)
        state.logger->message(state.scope, LogLevel::error,
                              "Maximum number of turns reached: " + std::to_string(opt.max_turns) +
                                  ". The agent was not able to finish the task. Consider increasing the max_turns "
                                  "parameter.");

    history.push_back(std::move(msgs));
    RunResult out;
    out.metadata = build_run_metadata(by_turn, history, cfg.client->model_slug());
    out.metadata.model_queue_wait = queue_wait;
    out.turns = detail::count_turns(history, {});
    out.finish = finish;
    out.history = std::move(history);
    state.finish = std::move(finish);
    state.run_metadata = out.metadata;
    co_return out;
}

} // namespace stirrup::detail
