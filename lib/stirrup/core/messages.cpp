#include "stirrup/core/messages.hpp"

#include <chrono>

namespace stirrup {

double steady_clock_seconds()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string content_text(const Content& content)
{
    if (const auto* s = std::get_if<std::string>(&content))
        return *s;
    std::string out;
    for (const auto& part : std::get<std::vector<ContentPart>>(content))
        if (const auto* s = std::get_if<std::string>(&part))
            out += *s;
    return out;
}

ToolCall ToolCall::from_provider(std::optional<std::string> provider_id, std::string name, std::string arguments)
{
    ToolCall call;
    call.name = std::move(name);
    call.arguments = std::move(arguments);
    if (provider_id && !provider_id->empty()) {
        call.tool_call_id = std::move(*provider_id);
        call.has_provider_tool_call_id = true;
    } else {
        call.tool_call_id = detail::uuid4_hex();
        call.has_provider_tool_call_id = false;
    }
    return call;
}

std::optional<std::string> joined_text(const std::vector<AssistantBlock>& blocks)
{
    std::optional<std::string> out;
    for (const auto& block : blocks) {
        if (const auto* t = std::get_if<TextBlock>(&block)) {
            if (!out)
                out.emplace();
            *out += t->text;
        }
    }
    return out;
}

std::optional<std::string> final_text(const std::vector<AssistantBlock>& blocks)
{
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it)
        if (const auto* t = std::get_if<TextBlock>(&*it))
            return t->text;
    return std::nullopt;
}

std::vector<ToolCall> tool_call_blocks(const std::vector<AssistantBlock>& blocks)
{
    std::vector<ToolCall> out;
    for (const auto& block : blocks)
        if (const auto* c = std::get_if<ToolCall>(&block))
            out.push_back(*c);
    return out;
}

std::vector<ReasoningBlock> reasoning_blocks(const std::vector<AssistantBlock>& blocks)
{
    std::vector<ReasoningBlock> out;
    for (const auto& block : blocks)
        if (const auto* r = std::get_if<ReasoningBlock>(&block))
            out.push_back(*r);
    return out;
}

std::optional<double> ToolMessage::tool_duration() const
{
    if (!tool_start_time || !tool_end_time)
        return std::nullopt;
    const double d = *tool_end_time - *tool_start_time;
    if (d < 0)
        return std::nullopt;
    return d;
}

} // namespace stirrup
