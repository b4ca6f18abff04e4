// The console logger: exact output of scripted callback sequences written to
// an in-memory FILE*, the closing summary, live-line redraws, and the text
// helpers behind them.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>

#include "stirrup/agent/console_logger.hpp"
#include "stirrup/agent/detail/console_format.hpp"

using namespace stirrup;
namespace json = boost::json;
namespace console = stirrup::detail::console;

namespace {

// An in-memory FILE*. Declare it before the logger, so the logger (whose
// destructor may still write) is destroyed first.
class Capture {
public:
    Capture() : file_(open_memstream(&buf_, &size_)) { REQUIRE(file_ != nullptr); }
    ~Capture()
    {
        std::fclose(file_);
        std::free(buf_);
    }
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;

    std::FILE* file() const { return file_; }
    std::string text()
    {
        std::fflush(file_);
        return std::string(buf_, size_);
    }

private:
    char* buf_ = nullptr;
    std::size_t size_ = 0;
    std::FILE* file_;
};

ConsoleLoggerOptions plain(Capture& capture, int width = 60)
{
    ConsoleLoggerOptions options;
    options.out = capture.file();
    options.color = false;
    options.live = false;
    options.width = width;
    return options;
}

std::string repeat(std::string_view unit, std::size_t n)
{
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += unit;
    return out;
}

std::string dashes(std::size_t n)
{
    return repeat("─", n);
}
std::string spaces(std::size_t n)
{
    return std::string(n, ' ');
}

// The lines the logger draws, with the dash counts worked out by hand in
// each test (title widths: every character here is one column, 🔧 two).
std::string rule(std::size_t indent, std::size_t left, std::string_view title, std::size_t right)
{
    return spaces(indent) + dashes(left) + " " + std::string(title) + " " + dashes(right) + "\n";
}
std::string head(std::size_t indent, std::string_view title, std::size_t fill)
{
    return spaces(indent) + "╭─ " + std::string(title) + " " + dashes(fill) + "\n";
}
std::string body(std::size_t indent, std::string_view text)
{
    return spaces(indent) + (text.empty() ? "│" : "│ " + std::string(text)) + "\n";
}
std::string foot(std::size_t indent, std::size_t width)
{
    return spaces(indent) + "╰" + dashes(width - indent - 1) + "\n";
}
std::string line(std::size_t indent, std::string_view text)
{
    return spaces(indent) + std::string(text) + "\n";
}

const LogScope root{"coder", "gpt-test", 5, 0, 1};
const LogScope child{"researcher", "gpt-mini", 3, 1, 2};

AssistantBlock text_block(std::string text)
{
    TextBlock block;
    block.text = std::move(text);
    return block;
}

AssistantBlock tool_call(std::string name, std::string arguments)
{
    ToolCall call;
    call.name = std::move(name);
    call.arguments = std::move(arguments);
    call.tool_call_id = "call";
    return call;
}

UserMessage user(std::string text, UserKind kind = UserKind::user)
{
    UserMessage m;
    m.content = std::move(text);
    m.kind = kind;
    return m;
}

AssistantMessage assistant(std::vector<AssistantBlock> blocks)
{
    AssistantMessage m;
    m.blocks = std::move(blocks);
    return m;
}

ToolMessage tool_message(std::string content, std::string name, bool args_valid = true, bool success = true)
{
    ToolMessage m;
    m.content = std::move(content);
    m.tool_call_id = "id";
    m.name = std::move(name);
    m.args_was_valid = args_valid;
    m.success = success;
    return m;
}

FinishCall finish_call(std::string_view params)
{
    return {"finish", json::parse(params).as_object()};
}

SessionReport report(const std::optional<FinishCall>* finish, const RunMetadata* metadata)
{
    SessionReport r;
    r.finish = finish;
    r.metadata = metadata;
    return r;
}

std::shared_ptr<SubAgentMetadata> child_run(RunMetadata run)
{
    auto sub = std::make_shared<SubAgentMetadata>();
    sub->run_metadata = std::move(run);
    return sub;
}

ToolMetadata sub_agent_meta(std::shared_ptr<SubAgentMetadata> sub)
{
    ToolMetadata m;
    m.sub_agent = std::move(sub);
    return m;
}

} // namespace

TEST_CASE("ConsoleLogger prints a root session with a depth-1 sub-agent, sub-agent lines indented by 8")
{
    Capture capture;
    {
        ConsoleLogger log(plain(capture));
        log.session_start(root);
        log.warnings(root, {"No code execution tool"});
        log.task(root, "  Analyse the data\n\n   and write   report.md  \n");
        log.assistant_message(root, 1, 5,
                              assistant({text_block("I will delegate."),
                                         tool_call("researcher", R"({"task":"find facts","input_files":[]})")}));
        log.session_start(child);
        log.task(child, "find facts");
        log.assistant_message(child, 1, 3, assistant({tool_call("code_exec", R"({"cmd": "ls -la", "n": 1.50})")}));
        log.tool_result(child, tool_message("<shell_results>&lt;ok&gt;</shell_results>", "code_exec"));
        log.step(child, {1, 1, 100, 20}); // sub-agents have no progress line

        const std::optional<FinishCall> child_finish = finish_call(R"({"reason":"done","paths":[]})");
        RunMetadata child_metadata;
        child_metadata.tools["code_exec"] = {ToolMetadata::use_count(1)};
        child_metadata.token_usage = {{100, 20, 0}};
        child_metadata.tool_durations["code_exec"] = {0.25};
        log.session_end(child, report(&child_finish, &child_metadata));

        log.tool_result(root, tool_message("<sub_agent_result>ok</sub_agent_result>", "researcher"));
        log.step(root, {1, 1, 1234567, 890});
        log.user_message(root, user("You have 3 turns left.", UserKind::turn_warning));

        const std::optional<FinishCall> root_finish = finish_call(R"({"reason":"Report written.","paths":[]})");
        RunMetadata root_metadata;
        root_metadata.tools["researcher"] = {sub_agent_meta(child_run(child_metadata))};
        root_metadata.tools["finish"] = {};
        root_metadata.tool_durations["researcher"] = {3.0};
        root_metadata.token_usage = {{1000, 100, 0}};
        log.session_end(root, report(&root_finish, &root_metadata));
    }

    const std::string expected =
        // "▶ coder (gpt-test)" is 18 columns, 20 with its spaces: (60-20)/2 dashes a side.
        rule(0, 20, "▶ coder (gpt-test)", 20) + "\n" + line(0, "Warnings") + "\n" +
        line(0, "⚠ No code execution tool") + "\n" + line(0, "Agent Task:") + "\n" +
        line(0, "Analyse the data and write report.md") + "\n" +
        // 3 + 35 + 1 columns before the fill.
        head(0, "AssistantMessage │ coder │ Turn 1/5", 21) + body(0, "I will delegate.") + body(0, "") +
        body(0, "Tool Calls:") + body(0, "  🔧 researcher") + body(0, "    {") +
        body(0, "      \"task\": \"find facts\",") + body(0, "      \"input_files\": []") + body(0, "    }") +
        foot(0, 60) +
        // Indented 8: 52 columns left; the title is 32 columns.
        rule(8, 9, "▶ researcher: Level 1 (gpt-mini)", 9) + "\n" + line(8, "Sub Agent Task:") + "\n" +
        line(8, "find facts") + "\n" + head(8, "AssistantMessage │ researcher │ Turn 1/3", 8) + body(8, "Tool Calls:") +
        body(8, "  🔧 code_exec") + body(8, "    {") + body(8, "      \"cmd\": \"ls -la\",") +
        body(8, "      \"n\": 1.5") + body(8, "    }") + foot(8, 60) +
        head(8, "✓ ToolResult │ researcher │ code_exec", 11) + body(8, "<shell_results><ok></shell_results>") +
        foot(8, 60) +
        // A sub-agent's end is its status rule only.
        "\n" + rule(8, 13, "✓ researcher - Complete", 14) + head(0, "✓ ToolResult │ coder │ researcher", 23) +
        body(0, "<sub_agent_result>ok</sub_agent_result>") + foot(0, 60) +
        // Not a terminal: the progress line is printed once per step.
        line(0, "Running coder  │  step 1/5  │  1 tool calls  │  1,234,567 input tokens  │  890 output tokens") +
        head(0, "UserMessage │ coder", 37) + body(0, "You have 3 turns left.") + foot(0, 60) + "\n" +
        rule(0, 20, "✓ coder - Complete", 20) + "\n" + head(0, "Reason", 50) + body(0, "Report written.") +
        foot(0, 60) + head(0, "Tool Usage", 46) + body(0, "🔧 Tools") + body(0, "└── researcher: 1 call(s), avg 3.00s") +
        body(0, "    ├── code_exec: 1 call(s), avg 0.25s") + body(0, "    └── token_usage: 120 tokens") + foot(0, 60) +
        head(0, "Token Usage", 45) + body(0, "Input     1,100") + body(0, "Answer      120") + body(0, dashes(15)) +
        body(0, "Total     1,220") + foot(0, 60) + line(0, dashes(60)) + "\n";
    CHECK(capture.text() == expected);
}

TEST_CASE("ConsoleLogger's summary lists tool usage, saved and failed paths, rolled-up tokens and model speed")
{
    RunMetadata child_a;
    child_a.tools["code_exec"] = {ToolMetadata::use_count(1)};
    child_a.tool_durations["code_exec"] = {0.25};
    child_a.token_usage = {{100, 20, 0}};
    child_a.model_speed = ModelSpeed{"gpt-mini", 1, 20, 0.5, 40};
    RunMetadata child_b = child_a;
    child_b.tool_durations["code_exec"] = {0.75};
    child_b.model_speed = ModelSpeed{"gpt-mini", 2, 60, 1.5, 40};

    RunMetadata metadata;
    metadata.tools["researcher"] = {sub_agent_meta(child_run(child_a)), sub_agent_meta(child_run(child_b))};
    metadata.tools["done"] = {ToolMetadata::use_count(1)}; // the finish tool, under another name
    metadata.tools["web_fetch"] = {ToolMetadata::use_count(1), ToolMetadata::use_count(1)};
    metadata.tools["web_fetch"][0].values["pages"] = json::array{"a"};
    metadata.tools["web_fetch"][1].values["pages"] = json::array{"b"};
    metadata.tools["web_fetch"][1].values["note"] = nullptr;
    metadata.tools["mystery"] = {};
    metadata.tool_durations["researcher"] = {12.3456, 2.0};
    metadata.tool_durations["web_fetch"] = {1.0, 2.0};
    metadata.token_usage = {{1234000, 800, 90}};
    metadata.model_speed = ModelSpeed{"gpt-test", 1, 890, 10.0, 89.0};

    const std::optional<FinishCall> finish =
        FinishCall{"done", json::parse(R"({"reason":"Wrote it.","paths":["report.md","missing.txt"]})").as_object()};
    const std::optional<SaveOutputFilesResult> files = SaveOutputFilesResult{
        {{"report.md", "out/report.md", 2048}, {"data/x.csv", "data/x.csv", 10}}, {{"missing.txt", "File not found"}}};
    SessionReport r = report(&finish, &metadata);
    r.output_dir = std::filesystem::path("out");
    r.output_files = &files;

    Capture capture;
    {
        ConsoleLogger log(plain(capture));
        log.session_end(root, r);
    }
    const std::string expected =
        "\n" + rule(0, 20, "✓ coder - Complete", 20) + "\n" + head(0, "Reason", 50) + body(0, "Wrote it.") +
        foot(0, 60) + head(0, "Tool Usage", 46) + body(0, "🔧 Tools") +
        // A tool without metadata shows its name only; null fields are left out.
        body(0, "├── mystery") + body(0, "├── researcher: 2 call(s), avg 7.17s") +
        body(0, "│   ├── code_exec: 2 call(s), avg 0.50s") + body(0, "│   └── token_usage: 240 tokens") +
        body(0, "└── web_fetch: 2 call(s), avg 1.50s") + body(0, "    └── pages: ['a', 'b']") + foot(0, 60) +
        // "out/report.md" is already under out/; "data/x.csv" is relative to it.
        head(0, "Paths", 51) + body(0, "✓ out/report.md (2.0 KiB)") + body(0, "✓ out/data/x.csv (10 B)") +
        body(0, "✗ missing.txt: File not found") + foot(0, 60) + head(0, "Token Usage", 45) +
        body(0, "Input     1,234,200") + body(0, "Answer          840") + body(0, "Reasoning        90") +
        body(0, dashes(19)) + body(0, "Total     1,235,130") + foot(0, 60) +
        // The two gpt-mini runs are one row: 80 tokens in 2 s.
        head(0, "Model Speed", 45) + body(0, "Model     E2E OTPS  Calls  Time(s)") +
        body(0, "gpt-test     89.00      1    10.00") + body(0, "gpt-mini     40.00      3     2.00") + foot(0, 60) +
        line(0, dashes(60)) + "\n";
    CHECK(capture.text() == expected);
}

TEST_CASE("ConsoleLogger shows the finish paths when nothing was saved, and 'No reason provided'")
{
    const std::optional<FinishCall> finish = finish_call(R"({"paths":["a.txt"]})");
    const RunMetadata metadata;
    Capture capture;
    {
        ConsoleLogger log(plain(capture));
        log.session_end(root, report(&finish, &metadata));
    }
    CHECK(capture.text() == "\n" + rule(0, 20, "✓ coder - Complete", 20) + "\n" + head(0, "Reason", 50) +
                                body(0, "No reason provided") + foot(0, 60) + head(0, "Paths", 51) + body(0, "a.txt") +
                                foot(0, 60) + line(0, dashes(60)) + "\n");
}

TEST_CASE("ConsoleLogger reports max turns, errors, and a sub-agent's failure")
{
    const std::optional<FinishCall> none;
    const RunMetadata metadata;

    SUBCASE("no finish and no error: Failed, then Max Turns Exceeded")
    {
        Capture capture;
        {
            ConsoleLogger log(plain(capture));
            log.session_end(root, report(&none, &metadata));
        }
        CHECK(capture.text() ==
              "\n" + rule(0, 21, "✗ coder - Failed", 21) + "\n" + line(0, dashes(60)) +
                  head(0, "⚠ Max Turns Exceeded", 36) + body(0, "Maximum turns reached") + body(0, "") +
                  body(0, "Turns used: 5") + body(0, "") +
                  body(0, "The agent was not able to finish the task. Consider increasing the max_turns parameter.") +
                  foot(0, 60) + "\n");
    }
    SUBCASE("an error: its text in the status line, whitespace collapsed, no max-turns panel")
    {
        Capture capture;
        {
            ConsoleLogger log(plain(capture));
            SessionReport r = report(&none, &metadata);
            r.error = std::make_exception_ptr(std::runtime_error("model unreachable:\n  connection refused"));
            log.session_end(root, r);
        }
        CHECK(capture.text() == "\n" + rule(0, 2, "✗ coder - Error: model unreachable: connection refused", 2) + "\n" +
                                    line(0, dashes(60)) + "\n");
    }
    SUBCASE("a sub-agent: the status rule only")
    {
        Capture capture;
        {
            ConsoleLogger log(plain(capture));
            log.session_end(child, report(&none, &metadata));
        }
        CHECK(capture.text() == "\n" + rule(8, 14, "✗ researcher - Failed", 15));
    }
}

TEST_CASE("ConsoleLogger prints invalid tool-call JSON as written instead of failing")
{
    Capture capture;
    {
        ConsoleLogger log(plain(capture));
        CHECK_NOTHROW(log.assistant_message(root, 2, 5,
                                            assistant({tool_call("code_exec", R"({"cmd": "ls")"),
                                                       tool_call("finish", "   "), tool_call("calc", "NaN")})));
    }
    CHECK(capture.text() == head(0, "AssistantMessage │ coder │ Turn 2/5", 21) + body(0, "Tool Calls:") +
                                body(0, "  🔧 code_exec") + body(0, "    {\"cmd\": \"ls\"") + body(0, "  🔧 finish") +
                                body(0, "  🔧 calc") + body(0, "    NaN") + foot(0, 60));
}

TEST_CASE("ConsoleLogger cuts long text: messages at 500, arguments at 1000, tool results with truncate_msg")
{
    Capture capture;
    {
        ConsoleLogger log(plain(capture, 3000));
        log.assistant_message(root, 1, 5,
                              assistant({text_block(std::string(400, 'a')), text_block(std::string(200, 'b'))}));
        log.assistant_message(root, 1, 5,
                              assistant({tool_call("write", R"({"text":")" + std::string(1200, 'x') + R"("})")}));
        log.user_message(root, user(std::string(501, 'u')));
        log.tool_result(root, tool_message(std::string(3000, 'r'), "code_exec"));
    }
    const std::string text = capture.text();
    // joined_text of both blocks, cut at 500.
    CHECK(text.find("│ " + std::string(400, 'a') + std::string(100, 'b') + "...\n") != std::string::npos);
    // '{' '\n' '  "text": "' is 13 characters, so 987 x's fit in 1000.
    CHECK(text.find("│ " + std::string(6, ' ') + "\"text\": \"" + std::string(987, 'x') + "...\n") !=
          std::string::npos);
    CHECK(text.find("│ " + std::string(500, 'u') + "...\n") != std::string::npos);
    CHECK(text.find("│ " + std::string(500, 'r') +
                    "\n│ ... This content has been truncated from an original 3000 "
                    "characters to stay below 1000 characters ...\n│ " +
                    std::string(500, 'r') + "\n") != std::string::npos);
}

TEST_CASE("ConsoleLogger marks a tool result ✗ when the arguments were invalid or the tool failed")
{
    Capture capture;
    {
        ConsoleLogger log(plain(capture));
        log.tool_result(root, tool_message("Tool arguments are not valid", "code_exec", false, false));
        log.tool_result(child, tool_message("failed", "finish", true, false));
        ToolMessage unnamed = tool_message("x", "");
        unnamed.name.reset();
        log.tool_result(root, unnamed);
    }
    CHECK(capture.text() == head(0, "✗ ToolResult │ coder │ code_exec", 24) + body(0, "Tool arguments are not valid") +
                                foot(0, 60) + head(8, "✗ ToolResult │ researcher │ finish", 14) + body(8, "failed") +
                                foot(8, 60) + head(0, "✓ ToolResult │ coder │ unknown", 26) + body(0, "x") +
                                foot(0, 60));
}

TEST_CASE("ConsoleLogger prints summarization panels; the bridge only at debug level")
{
    Capture capture;
    {
        ConsoleLogger log(plain(capture));
        log.summarization_start(root, 0.7123, 0.7);
        log.summarization_end(root, std::string(801, 's'), "bridge text");
    }
    const std::string text = capture.text();
    CHECK(text.starts_with(head(0, "📝 Context Summarization", 32) + body(0, "Context window limit reached") +
                           body(0, "") + body(0, "Used: 71.2%  │  Threshold: 70.0%") + body(0, "") +
                           body(0, "Summarizing conversation history...") + foot(0, 60) +
                           head(0, "✓ Summary Generated", 37) + body(0, "Summary:") + body(0, std::string(58, 's'))));
    CHECK(text.ends_with(body(0, std::string(800 - 58 * 13, 's') + "...") + foot(0, 60)));
    CHECK(text.find("bridge") == std::string::npos);

    Capture debug_capture;
    {
        ConsoleLoggerOptions options = plain(debug_capture);
        options.level = LogLevel::debug;
        ConsoleLogger log(options);
        log.summarization_end(root, "short", "bridge text");
    }
    CHECK(debug_capture.text() == head(0, "✓ Summary Generated", 37) + body(0, "Summary:") + body(0, "short") +
                                      body(0, "") + body(0, "Bridge Message:") + body(0, "bridge text") + foot(0, 60));
}

TEST_CASE("ConsoleLogger's level hides panels above info and filters message()")
{
    Capture capture;
    {
        ConsoleLoggerOptions options = plain(capture);
        options.level = LogLevel::warning;
        ConsoleLogger log(options);
        log.task(root, "hidden");
        log.warnings(root, {"hidden"});
        log.assistant_message(root, 1, 5, assistant({text_block("hidden")}));
        log.user_message(root, user("hidden"));
        log.tool_result(root, tool_message("hidden", "code_exec"));
        log.message(root, LogLevel::info, "hidden");
        log.message(root, LogLevel::debug, "hidden");
        log.message(root, LogLevel::warning, "resuming from cache");
        log.message(child, LogLevel::error, "two\nlines");
    }
    CHECK(capture.text() == line(0, "⚠ resuming from cache") + line(8, "✗ two") + line(8, "lines"));
}

TEST_CASE("ConsoleLogger colours only when asked, and never passes control characters through")
{
    Capture plain_capture;
    {
        ConsoleLogger log(plain(plain_capture));
        CHECK_FALSE(log.color());
        CHECK_FALSE(log.live());
        log.session_start(root);
        log.assistant_message(root, 1, 5, assistant({text_block("red \x1b[31mX\rY\ttab")}));
    }
    const std::string text = plain_capture.text();
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(text.find("│ red ␛[31mX␍Y    tab\n") != std::string::npos);

    Capture color_capture;
    {
        ConsoleLoggerOptions options = plain(color_capture);
        options.color = true;
        ConsoleLogger log(options);
        CHECK(log.color());
        log.session_start(root);
    }
    CHECK(color_capture.text() == "\x1b[36m" + dashes(20) + "\x1b[0m \x1b[1;36m▶ coder (gpt-test)\x1b[0m \x1b[36m" +
                                      dashes(20) + "\x1b[0m\n\n");
}

TEST_CASE("ConsoleLogger's live line is redrawn in place below everything else printed")
{
    Capture capture;
    const std::string erase = "\r\x1b[2K";
    const std::string step0 = "Running coder  │  step 0/5  │  0 tool calls  │  0 input tokens  │  0 output tokens";
    const std::string step1 = "Running coder  │  step 1/5  │  2 tool calls  │  1,500 input tokens  │  30 output tokens";
    {
        ConsoleLoggerOptions options = plain(capture, 100);
        options.live = true;
        ConsoleLogger log(options);
        CHECK(log.live());
        log.session_start(root);
        log.step(root, {1, 2, 1500, 30});
        log.message(root, LogLevel::info, "hello");
        log.step(child, {1, 1, 10, 1}); // sub-agents do not touch the line
        log.pause_live();
        log.message(root, LogLevel::info, "while paused");
        log.resume_live();
        const std::optional<FinishCall> none;
        const RunMetadata metadata;
        log.session_end(child, report(&none, nullptr));
    }
    const std::string expected = rule(0, 40, "▶ coder (gpt-test)", 40) + "\n" + step0 + erase + step1 + erase +
                                 "hello\n" + step1 + erase + "while paused\n" + step1 + erase + "\n" +
                                 rule(8, 34, "✗ researcher - Failed", 35) + step1 +
                                 // The destructor erases the line left behind.
                                 erase;
    CHECK(capture.text() == expected);
}

TEST_CASE("ConsoleLogger's live line ends with its session and is cut to the terminal width")
{
    Capture capture;
    const std::string erase = "\r\x1b[2K";
    {
        ConsoleLoggerOptions options = plain(capture, 40);
        options.live = true;
        ConsoleLogger log(options);
        log.session_start(root);
        const std::optional<FinishCall> none;
        log.session_end(root, report(&none, nullptr));
    }
    const std::string text = capture.text();
    // 39 columns: a wrapped line could not be erased with "\r".
    CHECK(text == rule(0, 10, "▶ coder (gpt-test)", 10) + "\n" + "Running coder  │  step 0/5  │  0 tool c" + erase +
                      "\n" + rule(0, 11, "✗ coder - Failed", 11) + "\n" + line(0, dashes(40)) + "\n");
}

TEST_CASE("ConsoleLogger keeps whole panels together when sessions log from many threads")
{
    Capture capture;
    constexpr int threads = 8;
    constexpr int per_thread = 50;
    {
        ConsoleLogger log(plain(capture));
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&log, t] {
                const LogScope scope{"agent" + std::to_string(t), "m", 5, t % 2, static_cast<std::uint64_t>(100 + t)};
                log.session_start(scope);
                for (int i = 0; i < per_thread; ++i) {
                    log.tool_result(scope, tool_message("line one " + std::to_string(i) + "\nline two", "code_exec"));
                    if (scope.depth == 0)
                        log.step(scope, {i + 1, i + 1, 10, 1});
                }
            });
        }
        for (auto& worker : workers)
            worker.join();
    }
    const std::vector<std::string> lines = console::split_lines(capture.text());
    int panels = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto start = lines[i].find("╭─ ✓ ToolResult │ agent");
        if (start == std::string::npos)
            continue;
        ++panels;
        const std::string indent = lines[i].substr(0, start);
        REQUIRE(i + 3 < lines.size());
        CHECK(lines[i + 1].starts_with(indent + "│ line one "));
        CHECK(lines[i + 2] == indent + "│ line two");
        CHECK(lines[i + 3].starts_with(indent + "╰─"));
    }
    CHECK(panels == threads * per_thread);
}

// ---- the text helpers ------------------------------------------------------

TEST_CASE("console::pretty_json matches Python's json.dumps(indent=2, ensure_ascii=False)")
{
    CHECK(console::pretty_json(R"({"a":1,"b":[1,2.50,{}],"c":{"d":null,"e":[]},"f":true})") ==
          "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2.5,\n    {}\n  ],\n  \"c\": {\n    \"d\": null,\n    \"e\": []\n"
          "  },\n  \"f\": true\n}");
    CHECK(console::pretty_json(R"( "caf\u00e9 \"q\" \\ \n\t\u0001/" )") == "\"café \\\"q\\\" \\\\ \\n\\t\\u0001/\"");
    CHECK(console::pretty_json("[1e16, 0.00001, 1.0, -0.0, 9223372036854775807]") ==
          "[\n  1e+16,\n  1e-05,\n  1.0,\n  -0.0,\n  9223372036854775807\n]");
    CHECK(console::pretty_json("{}") == "{}");
    CHECK_FALSE(console::pretty_json("{\"a\": 1,}"));
    CHECK_FALSE(console::pretty_json(""));
    CHECK_FALSE(console::pretty_json("NaN"));
    CHECK_FALSE(console::pretty_json("{\"a\"} trailing"));
}

TEST_CASE("console number formatting follows Python's format specs")
{
    CHECK(console::with_thousands(0) == "0");
    CHECK(console::with_thousands(999) == "999");
    CHECK(console::with_thousands(1000) == "1,000");
    CHECK(console::with_thousands(-1234567) == "-1,234,567");
    CHECK(console::with_thousands(INT64_MIN) == "-9,223,372,036,854,775,808");
    CHECK(console::fixed(2.675, 2) == "2.67"); // the double just below 2.675
    CHECK(console::fixed(0.125, 2) == "0.12"); // ties to even, as Python
    CHECK(console::percent(0.7) == "70.0%");
    CHECK(console::percent(0.71234) == "71.2%");
    CHECK(console::human_size(0) == "0 B");
    CHECK(console::human_size(1023) == "1023 B");
    CHECK(console::human_size(1536) == "1.5 KiB");
    CHECK(console::human_size(5ULL * 1024 * 1024 * 1024) == "5.0 GiB");
    CHECK(console::display_value(json::parse(R"("text")")) == "text");
    CHECK(console::display_value(json::parse(R"([1, 2.5, "it's", true, null, {"k": "v"}])")) ==
          R"([1, 2.5, "it's", True, None, {'k': 'v'}])");
    // Python's float and str reprs, as the sub-agent result text prints them too.
    CHECK(console::display_value(json::parse(R"([1e16, 1e-5, -0.0, 0.1, "tab\there", "\u0085", "\u00e9"])")) ==
          "[1e+16, 1e-05, -0.0, 0.1, 'tab\\there', '\\x85', '\u00e9']");
}

TEST_CASE("console display width follows the Unicode tables")
{
    // Wide East Asian: CJK ideographs, Hangul syllables, full-width forms, ideographic space.
    CHECK(console::display_width("漢字") == 4);
    CHECK(console::display_width("한국어") == 6);
    CHECK(console::display_width("ＡＢ") == 4);
    CHECK(console::display_width("\u3000") == 2);
    CHECK(console::display_width("𠀀") == 2); // U+20000, CJK extension B
    // Emoji with emoji presentation are wide, also outside the old table's range.
    CHECK(console::display_width("😀👍") == 4);
    CHECK(console::display_width("⌚") == 2); // U+231A
    CHECK(console::display_width("🔧") == 2);
    // Combining marks take no column, in any block.
    CHECK(console::display_width("e\u0301") == 1);
    CHECK(console::display_width("\u0e01\u0e31") == 1); // Thai ko kai + mai han-akat
    CHECK(console::display_width("a\u20d7") == 1);      // combining right arrow above
    // Zero-width: joiner, space, variation selector.
    CHECK(console::display_width("a\u200d\u200bb") == 2);
    CHECK(console::display_width("\u2764\ufe0f") == 1); // ❤ is narrow; the selector adds nothing
    // fit_width never splits a wide character and keeps zero-width ones attached.
    CHECK(console::fit_width("漢字", 3) == "漢");
    CHECK(console::fit_width("e\u0301x", 1) == "e\u0301");
    CHECK(console::fit_width("😀", 1).empty());
}

TEST_CASE("console text helpers count code points and columns")
{
    CHECK(console::cut("héllo wörld", 5) == "héllo...");
    CHECK(console::cut("héllo", 5) == "héllo");
    CHECK(console::collapse_whitespace("  a\n\n  b   c \t\n") == "a b c");
    CHECK(console::display_width("a界🔧é") == 6);
    CHECK(console::fit_width("ab界cd", 3) == "ab");
    CHECK(console::fit_width("ab界cd", 4) == "ab界");
    CHECK(console::visible("a\tb\x1b[0m\r\x7f\xc2\x9b") == "a       b␛[0m␍␡�");
    CHECK(console::visible("1234567\tx\nab\ty") == "1234567 x\nab      y");
    CHECK(console::wrap("the quick brown fox", 10) == std::vector<std::string>{"the quick", "brown fox"});
    CHECK(console::wrap("abcdefghijkl", 5) == std::vector<std::string>{"abcde", "fghij", "kl"});
    CHECK(console::wrap("a\n\nb", 5) == std::vector<std::string>{"a", "", "b"});
    CHECK(console::html_unescape("&lt;a&gt; &amp;amp; &#65;&#x42;&#0; &bogus; &#12") ==
          "<a> &amp; AB\xEF\xBF\xBD &bogus; &#12");
    CHECK(console::content_display(
              std::vector<ContentPart>{std::string("see"), ImageBlock{std::string(2048, 'x'), "image/png"}}) ==
          "see\n[image image/png, 2.0 KiB]");
}
