#include "demo_model.hpp"

#include <algorithm>
#include <type_traits>

#include <boost/json.hpp>

namespace stirrup::cli {
namespace json = boost::json;

namespace {

constexpr const char* primes_script = R"(cat > primes.py <<'EOF'
# Written by the offline demo model: primes below 200, summarised in report.md.
import statistics

primes = [n for n in range(2, 200) if all(n % d for d in range(2, int(n ** 0.5) + 1))]
gaps = [b - a for a, b in zip(primes, primes[1:])]
with open("report.md", "w") as f:
    f.write("# Primes below 200\n\n")
    f.write(f"- count: {len(primes)}\n")
    f.write(f"- sum: {sum(primes)}\n")
    f.write(f"- largest gap: {max(gaps)} (after {primes[gaps.index(max(gaps))]})\n")
    f.write(f"- mean gap: {statistics.mean(gaps):.2f}\n")
print(f"wrote report.md: {len(primes)} primes")
EOF
echo "primes.py: $(wc -l < primes.py) lines")";

constexpr const char* run_script = "python3 primes.py && cat report.md";

// The tokens a real model would have counted, roughly: a quarter of the characters.
std::int64_t estimate_tokens(std::size_t chars)
{
    return static_cast<std::int64_t>((chars + 3) / 4);
}

std::size_t message_chars(const ChatMessage& m)
{
    return std::visit(
        [](const auto& msg) -> std::size_t {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, AssistantMessage>) {
                std::size_t n = joined_text(msg.blocks).value_or("").size();
                for (const auto& call : tool_call_blocks(msg.blocks))
                    n += call.name.size() + call.arguments.size();
                return n;
            } else {
                return content_text(msg.content).size();
            }
        },
        m);
}

std::size_t prompt_chars(const std::vector<ChatMessage>& messages, const std::vector<ToolDefinition>& tools)
{
    std::size_t n = 0;
    for (const auto& m : messages)
        n += message_chars(m);
    for (const auto& t : tools)
        n += t.name.size() + t.description.size() + t.parameters_schema.value_or("").size();
    return n;
}

int assistant_turns(const std::vector<ChatMessage>& messages)
{
    return static_cast<int>(std::count_if(messages.begin(), messages.end(), [](const ChatMessage& m) {
        return std::holds_alternative<AssistantMessage>(m);
    }));
}

// Whether the last tool result reports exit code 0 (the <shell_results> text).
bool last_command_succeeded(const std::vector<ChatMessage>& messages)
{
    for (auto it = messages.rbegin(); it != messages.rend(); ++it)
        if (const auto* tool = std::get_if<ToolMessage>(&*it))
            return content_text(tool->content).find("<exit_code>0</exit_code>") != std::string::npos;
    return false;
}

ToolCall call(int turn, const std::string& name, const json::object& args)
{
    ToolCall c;
    c.name = name;
    c.arguments = json::serialize(args);
    c.tool_call_id = "call_demo_" + std::to_string(turn);
    return c;
}

TextBlock text(std::string t)
{
    TextBlock b;
    b.text = std::move(t);
    return b;
}

std::vector<AssistantBlock> script_turn(int turn, const std::vector<ChatMessage>& messages)
{
    switch (turn) {
    case 1:
        return {ReasoningBlock{"The script is fixed: write a small program, run it, hand in its report."},
                text("I'll write a small Python program that finds the primes below 200 and summarises them "
                     "in report.md."),
                call(turn, "code_exec", {{"cmd", primes_script}})};
    case 2:
        return {text("Now I run it and look at the report."), call(turn, "code_exec", {{"cmd", run_script}})};
    default:
        break;
    }
    if (!last_command_succeeded(messages)) {
        json::object args{{"reason", "The demo program did not run successfully (see the last tool result; is "
                                     "python3 installed?), so there is no report to hand in."},
                          {"paths", json::array{}}};
        return {text("The program failed."), call(turn, "finish", args)};
    }
    json::object args{{"reason", "Wrote primes.py, ran it, and it produced report.md with a summary of the primes "
                                 "below 200. (Scripted by the offline demo model, not an LLM.)"},
                      {"paths", json::array{"report.md", "primes.py"}}};
    return {text("Done: report.md is written."), call(turn, "finish", args)};
}

} // namespace

boost::asio::awaitable<AssistantMessage> DemoModel::generate(const std::vector<ChatMessage>& messages,
                                                             const std::vector<ToolDefinition>& tools)
{
    // No request_start/end_time: answering takes no time, and the model-speed
    // report would show an absurd rate.
    AssistantMessage out;
    const int turn = assistant_turns(messages) + 1;
    out.blocks = script_turn(turn, messages);
    std::size_t answer_chars = 0;
    std::size_t reasoning_chars = 0;
    for (const auto& block : out.blocks) {
        if (const auto* text = std::get_if<TextBlock>(&block))
            answer_chars += text->text.size();
        else if (const auto* reasoning = std::get_if<ReasoningBlock>(&block))
            reasoning_chars += reasoning->content.size();
        else if (const auto* tool_call = std::get_if<ToolCall>(&block))
            answer_chars += tool_call->name.size() + tool_call->arguments.size();
    }
    out.token_usage = TokenUsage{estimate_tokens(prompt_chars(messages, tools)), estimate_tokens(answer_chars),
                                 estimate_tokens(reasoning_chars)};
    co_return out;
}

} // namespace stirrup::cli
