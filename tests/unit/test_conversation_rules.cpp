// Stirrup's conversation rules as pure functions: turn counting, warnings,
// the continue prompt, images moved out of tool results, overflow unwinding
// and the summarized conversation.

#include <doctest/doctest.h>

#include "stirrup/agent/detail/conversation_rules.hpp"
#include "stirrup/llm/errors.hpp"

using namespace stirrup;

namespace {

AssistantMessage assistant(std::string id)
{
    AssistantMessage a;
    a.id = std::move(id);
    a.blocks.push_back(TextBlock{"t"});
    return a;
}

UserMessage warning_msg()
{
    return UserMessage{std::string("w"), UserKind::turn_warning};
}

std::vector<ChatMessage> prompt()
{
    std::vector<ChatMessage> m;
    m.emplace_back(SystemMessage{std::string("sys")});
    m.emplace_back(UserMessage{std::string("task")});
    return m;
}

std::string overflow_message(const std::vector<ChatMessage>& msgs)
{
    try {
        detail::unwind_latest_turn(msgs, 1000);
    } catch (const ContextOverflowError& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("turn warnings start when the remaining turns reach the threshold, never on turn 0")
{
    CHECK_FALSE(detail::turn_warning(0, 30, 30));
    CHECK_FALSE(detail::turn_warning(9, 30, 20));
    CHECK(*detail::turn_warning(10, 30, 20) ==
          "You have 20 turns remaining to complete the task. Please continue. Remember you will need a separate turn "
          "to call a finish tool.");
    CHECK(*detail::turn_warning(29, 30, 20) ==
          "This is the last turn. Please finish the task by calling a finish tool.");
}

TEST_CASE("the continue prompt follows a turn without tool calls unless a warning comes next")
{
    CHECK(detail::needs_continue_prompt(true, false, 1, 30, 5));
    CHECK_FALSE(detail::needs_continue_prompt(false, false, 1, 30, 5));
    CHECK_FALSE(detail::needs_continue_prompt(true, true, 1, 30, 5));
    CHECK_FALSE(detail::needs_continue_prompt(true, false, 25, 30, 5));
}

TEST_CASE("turns are counted over every history group")
{
    std::vector<std::vector<ChatMessage>> history(1);
    history[0].emplace_back(assistant("a"));
    history[0].emplace_back(assistant("b"));
    auto live = prompt();
    live.emplace_back(assistant("c"));
    CHECK(detail::count_turns(history, live) == 3);
}

TEST_CASE("images move out of tool results into user messages, in place of a note")
{
    std::vector<ToolMessage> tools(2);
    tools[0].tool_call_id = "c1";
    tools[0].content = std::string("text only");
    tools[1].tool_call_id = "c2";
    tools[1].content =
        std::vector<ContentPart>{std::string("Viewing image at path: a.png"), ImageBlock{"PNG", "image/png"}};
    auto moved = detail::move_images_out_of_tool_results(tools);
    REQUIRE(moved.size() == 1);
    const auto& parts = std::get<std::vector<ContentPart>>(moved[0].content);
    CHECK(std::get<std::string>(parts[0]) == "Here is the image for tool call c2");
    CHECK(std::get<ImageBlock>(parts[1]).data == "PNG");
    const auto& left = std::get<std::vector<ContentPart>>(tools[1].content);
    CHECK(std::get<std::string>(left[1]) == "Done! The User will provide the image for tool call c2");
    CHECK(std::get<std::string>(tools[0].content) == "text only");
}

TEST_CASE("two finish calls are rejected with Stirrup's message")
{
    CHECK(detail::multiple_finish_rejection("finish_a", {"finish_b", "finish_a"}) ==
          "Cannot call finish tool 'finish_a': multiple finish tools (['finish_a', 'finish_b']) were called in the "
          "same turn. Only one finish tool may be called per turn \xe2\x80\x94 retry with a single finish tool call.");
}

TEST_CASE("unwinding drops the latest turn with its warning and keeps the earlier ones")
{
    auto m = prompt();
    m.emplace_back(assistant("first"));
    m.emplace_back(ToolMessage{std::string("r1"), "c1"});
    m.emplace_back(warning_msg());
    m.emplace_back(assistant("second"));
    m.emplace_back(ToolMessage{std::string("r2"), "c2"});
    m.emplace_back(warning_msg());
    auto u = detail::unwind_latest_turn(m, 1000);
    CHECK(u.dropped_assistant_id == "second");
    REQUIRE(u.kept.size() == 4);
    CHECK(std::get<AssistantMessage>(u.kept[2]).id == "first");
}

TEST_CASE("unwinding never drops the first turn after the prompt or a summary")
{
    auto m = prompt();
    CHECK(overflow_message(m) ==
          "Context overflow reached the original prompt (configured context_window_tokens=1000; providers that count "
          "the response budget inside the context window leave less room for input)");
    m.emplace_back(assistant("only"));
    CHECK(overflow_message(m).find("original prompt") != std::string::npos);

    auto s = prompt();
    s.emplace_back(UserMessage{std::string("summary"), UserKind::summary, {"x"}});
    s.emplace_back(UserMessage{std::string("Got it, thanks!")});
    s.emplace_back(assistant("after"));
    CHECK(overflow_message(s).find("summarized context") != std::string::npos);
}

TEST_CASE("the summarized conversation keeps the task context and chains replaced ids")
{
    auto m = prompt();
    m.emplace_back(UserMessage{std::string("old summary"), UserKind::summary, {"a", "b"}});
    m.emplace_back(UserMessage{std::string("Got it, thanks!")});
    m.emplace_back(assistant("c"));
    m.emplace_back(ToolMessage{std::string("r"), "c1"});
    auto s = detail::summarized_conversation(m, "S");
    REQUIRE(s.size() == 4);
    const auto& summary = std::get<UserMessage>(s[2]);
    CHECK(summary.kind == UserKind::summary);
    CHECK(summary.replaced_ids == std::vector<std::string>{"a", "b", "c"});
    CHECK(std::get<std::string>(summary.content) == detail::summary_bridge("S"));
    CHECK(detail::summary_bridge("S").find("---\n\nS\n\n---") != std::string::npos);
    CHECK(std::get<std::string>(std::get<UserMessage>(s[3]).content) == "Got it, thanks!");
}

TEST_CASE("the summarizer prompt escalates, then lists the withheld tools")
{
    std::vector<ToolDefinition> tools{{"code_exec", "Run.", std::nullopt}, {"finish", "End.", std::nullopt}};
    auto p0 = detail::summarizer_prompt(0, tools);
    auto p1 = detail::summarizer_prompt(1, tools);
    auto p2 = detail::summarizer_prompt(2, tools);
    CHECK(p0.back() == '\n');
    CHECK(p1.substr(0, p0.size()) == p0);
    CHECK(p1.substr(p0.size(), 12) == "\n\nIMPORTANT:");
    CHECK(p2.substr(p1.size()) == "\n\nTools are disabled for this response. For reference, the tools available "
                                  "earlier in the conversation were:\n- code_exec: Run.\n- finish: End.");
}

TEST_CASE("audio moves out of tool results the way images do (Stirrup fails the run on it)")
{
    std::vector<ToolMessage> tools(1);
    tools[0].tool_call_id = "c9";
    tools[0].content = std::vector<ContentPart>{std::string("Recorded:"), AudioBlock{"RIFF", "audio/wav"}};
    auto moved = detail::move_images_out_of_tool_results(tools);
    REQUIRE(moved.size() == 1);
    const auto& parts = std::get<std::vector<ContentPart>>(moved[0].content);
    CHECK(std::get<std::string>(parts[0]) == "Here is the audio for tool call c9");
    CHECK(std::get<AudioBlock>(parts[1]) == AudioBlock{"RIFF", "audio/wav"});
    const auto& left = std::get<std::vector<ContentPart>>(tools[0].content);
    CHECK(std::get<std::string>(left[0]) == "Recorded:");
    CHECK(std::get<std::string>(left[1]) == "Done! The User will provide the audio for tool call c9");
}
