// libFuzzer target for the conversation rules. Input: one byte per message
// (up to 48) until a 0xFF byte (low bits choose system / user / summary /
// turn warning / assistant / tool, the rest vary the content), then the
// summary text.
// Invariants:
// - unwind_latest_turn throws only ContextOverflowError, and exactly when the
//   messages after the last summary hold fewer than two assistant turns; else
//   it keeps a strict prefix that still holds that summary, the prompt and the
//   first assistant turn after them, and drops the last assistant turn (with
//   the turn warning right before it);
// - summarized_conversation keeps the messages before the first assistant
//   turn or summary, then the summary (replacing every later assistant id,
//   chained through earlier summaries) and "Got it, thanks!";
// - move_images_out_of_tool_results leaves no image in a tool result and
//   moves each one into its own user message.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <variant>
#include <vector>

#include "fuzz_harness.hpp"
#include "stirrup/agent/detail/conversation_rules.hpp"
#include "stirrup/llm/errors.hpp"

namespace {

using stirrup::fuzz::require;
using namespace stirrup;

ChatMessage make_message(std::uint8_t byte, std::size_t index)
{
    const std::string tag = "m" + std::to_string(index);
    switch (byte % 6) {
    case 0:
        return SystemMessage{tag};
    case 1:
        if (byte & 0x40)
            return UserMessage{std::vector<ContentPart>{tag, ImageBlock{"png", "image/png"}}, UserKind::user, {}};
        return UserMessage{tag, UserKind::user, {}};
    case 2: {
        std::vector<std::string> ids;
        for (int i = 0; i < (byte >> 6); ++i)
            ids.push_back(tag + "-old" + std::to_string(i));
        return UserMessage{tag, UserKind::summary, ids};
    }
    case 3:
        return UserMessage{tag, UserKind::turn_warning, {}};
    case 4: {
        AssistantMessage a;
        a.id = tag;
        a.blocks.push_back(TextBlock{tag, std::nullopt});
        return a;
    }
    default: {
        ToolMessage t;
        t.tool_call_id = tag;
        std::vector<ContentPart> parts{tag};
        for (int i = 0; i < (byte >> 6); ++i)
            parts.emplace_back(ImageBlock{"png" + std::to_string(i), "image/png"});
        t.content = std::move(parts);
        return t;
    }
    }
}

// The text every generated message starts with: its position in the input.
std::string fingerprint(const ChatMessage& m)
{
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, AssistantMessage>)
                return "A" + x.id;
            else
                return std::string(typeid(T).name()) + content_text(x.content);
        },
        m);
}

bool is_summary(const ChatMessage& m)
{
    const auto* u = std::get_if<UserMessage>(&m);
    return u && u->kind == UserKind::summary;
}

bool is_assistant(const ChatMessage& m)
{
    return std::holds_alternative<AssistantMessage>(m);
}

void check_unwind(const std::vector<ChatMessage>& messages)
{
    std::optional<std::size_t> last_summary;
    for (std::size_t i = 0; i < messages.size(); ++i)
        if (is_summary(messages[i]))
            last_summary = i;
    const std::size_t after = last_summary ? *last_summary + 1 : 0;
    std::vector<std::size_t> turns;
    for (std::size_t i = after; i < messages.size(); ++i)
        if (is_assistant(messages[i]))
            turns.push_back(i);

    detail::UnwoundTurn out;
    try {
        out = detail::unwind_latest_turn(messages, 1000);
    } catch (const ContextOverflowError&) {
        require(turns.size() < 2);
        return;
    }
    require(turns.size() >= 2);
    require(out.kept.size() < messages.size());
    for (std::size_t i = 0; i < out.kept.size(); ++i)
        require(fingerprint(out.kept[i]) == fingerprint(messages[i]));
    require(out.kept.size() > turns.front());
    const std::size_t last = turns.back();
    require(out.dropped_assistant_id == std::get<AssistantMessage>(messages[last]).id);
    const auto* warning = last > 0 ? std::get_if<UserMessage>(&messages[last - 1]) : nullptr;
    const bool warned = warning && warning->kind == UserKind::turn_warning;
    require(out.kept.size() == (warned ? last - 1 : last));
}

void check_summarized(const std::vector<ChatMessage>& messages, std::string_view summary)
{
    const auto out = detail::summarized_conversation(messages, summary);
    std::size_t prefix = 0;
    while (prefix < messages.size() && !is_assistant(messages[prefix]) && !is_summary(messages[prefix]))
        ++prefix;
    require(out.size() == prefix + 2);
    for (std::size_t i = 0; i < prefix; ++i)
        require(fingerprint(out[i]) == fingerprint(messages[i]));

    std::vector<std::string> replaced;
    for (std::size_t i = prefix; i < messages.size(); ++i) {
        if (const auto* a = std::get_if<AssistantMessage>(&messages[i]))
            replaced.push_back(a->id);
        else if (is_summary(messages[i]))
            for (const auto& id : std::get<UserMessage>(messages[i]).replaced_ids)
                replaced.push_back(id);
    }
    const auto& s = std::get<UserMessage>(out[out.size() - 2]);
    require(s.kind == UserKind::summary);
    require(std::get<std::string>(s.content) == detail::summary_bridge(summary));
    require(s.replaced_ids == replaced);
    const auto& ack = std::get<UserMessage>(out.back());
    require(ack.kind == UserKind::user);
    require(std::get<std::string>(ack.content) == "Got it, thanks!");
}

void check_images(const std::vector<ChatMessage>& messages)
{
    std::vector<ToolMessage> tools;
    std::size_t images = 0;
    for (const auto& m : messages) {
        if (const auto* t = std::get_if<ToolMessage>(&m)) {
            tools.push_back(*t);
            for (const auto& part : std::get<std::vector<ContentPart>>(t->content))
                images += std::holds_alternative<ImageBlock>(part);
        }
    }
    const auto moved = detail::move_images_out_of_tool_results(tools);
    require(moved.size() == images);
    for (const auto& t : tools)
        for (const auto& part : std::get<std::vector<ContentPart>>(t.content))
            require(!std::holds_alternative<ImageBlock>(part));
    for (const auto& u : moved) {
        const auto& parts = std::get<std::vector<ContentPart>>(u.content);
        require(parts.size() == 2 && std::holds_alternative<ImageBlock>(parts[1]));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // Longer conversations find nothing new and cost the run its speed
    // (every check copies the list).
    constexpr std::size_t max_messages = 48;
    std::vector<ChatMessage> messages;
    messages.reserve(max_messages);
    std::size_t i = 0;
    for (; i < size && i < max_messages && data[i] != 0xFF; ++i)
        messages.push_back(make_message(data[i], i));
    while (i < size && data[i] != 0xFF)
        ++i;
    const std::string_view summary = i < size ? stirrup::fuzz::as_text(data + i + 1, size - i - 1) : std::string_view{};

    check_unwind(messages);
    check_summarized(messages, summary);
    check_images(messages);
    require(detail::count_turns({messages}, messages) ==
            2 * static_cast<int>(std::count_if(messages.begin(), messages.end(), is_assistant)));
    return 0;
}
