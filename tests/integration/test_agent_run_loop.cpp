// The agent's run loop against the fake OpenAI-compatible server over real
// TLS, with the local execution backend: the cases of Stirrup's
// tests/test_agent.py (named after them), scripted as chat completions. Each
// test checks what the run returned and what the agent sent to the model
// (the fake records every request body).

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/core/tool_params.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/tools/finish_tool.hpp"
#include "support/fake_openai.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace std::chrono_literals;
using stirrup::test::FakeOpenAi;
using stirrup::test::run_sync;
using stirrup::test::test_certs;
namespace json = boost::json;

namespace {

// ---- Stirrup's model-facing texts (notes: stirrup-behaviour.md 1.3, 1.9, 1.11, 3.2) ----

std::string stirrup_system_prompt(int max_turns)
{
    return "You are an AI agent that will be given a specific task. You are to complete that task using the tools "
           "provided in " +
           std::to_string(max_turns) +
           " steps. You will need to call a finish tool as your last step, where you will pass your finish reason and "
           "any required final fields for that tool.\n You are not able to interact with the user during the task.";
}

std::string turns_remaining(int n)
{
    return "You have " + std::to_string(n) +
           " turns remaining to complete the task. Please continue. Remember you will need a separate turn to call a "
           "finish tool.";
}

const std::string last_turn = "This is the last turn. Please finish the task by calling a finish tool.";
const std::string please_continue = "Please continue the task";

std::string bridge(const std::string& summary)
{
    return "**Context Continuation**\n\nDue to context window limitations, the previous conversation has been "
           "summarized. Below is a summary of what happened before:\n\n---\n\n" +
           summary +
           "\n\n---\n\nYou should continue working on this task from where it was left off. All the progress, current "
           "state, and next steps are described in the summary above. Proceed with completing any outstanding work.";
}

const std::string summarizer_text_only =
    "IMPORTANT: Respond with the summary as plain prose text only. Do NOT call any tools \xe2\x80\x94 a tool call "
    "cannot serve as a summary and will cause the summarization to fail.";

const std::string finish_description =
    "Signal task completion with a reason. Use when the task is finished or cannot proceed further. Note that you "
    "will need a separate turn to finish.";

const std::string finish_schema =
    R"({"description":"Explanation for why the task is complete or cannot proceed.","properties":{"reason":{"description":"Reason for finishing.","title":"Reason","type":"string"},"paths":{"description":"List of file paths created or modified. Do not include directories, only files.","items":{"type":"string"},"title":"Paths","type":"array"}},"required":["reason","paths"],"title":"FinishParams","type":"object"})";

std::string overflow_message(const std::string& where, int window)
{
    return "Context overflow reached the " + where + " (configured context_window_tokens=" + std::to_string(window) +
           "; providers that count the response budget inside the context window leave less room for input)";
}

// ---- scripting the model ----------------------------------------------------

/// A tool call as the fake serves it; `arguments` is sent verbatim.
json::object call(const std::string& id, const std::string& name, const std::string& arguments)
{
    return {{"id", id}, {"name", name}, {"arguments", arguments}};
}

/// A completion step: text, tool calls and usage.
json::object reply(const std::string& content, json::array calls = {}, std::int64_t prompt_tokens = 100,
                   std::int64_t completion_tokens = 50)
{
    json::object completion{{"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}}}};
    if (!content.empty() || calls.empty())
        completion["content"] = content;
    if (!calls.empty())
        completion["tool_calls"] = std::move(calls);
    return {{"completion", std::move(completion)}};
}

json::object finish_reply(const std::string& id, const std::string& reason = "done")
{
    return reply("", {call(id, "finish", R"({"reason": ")" + reason + R"(", "paths": []})")});
}

/// OpenAI's 400 for a request that does not fit; the client maps it to ContextOverflowError.
json::object overflow()
{
    return {{"error",
             {{"status", 400},
              {"code", "context_length_exceeded"},
              {"param", "messages"},
              {"message", "This model's maximum context length is 10000 tokens. However, your messages resulted in "
                          "12000 tokens. Please reduce the length of the messages."}}}};
}

std::string scenario(const json::array& steps)
{
    return json::serialize(steps);
}

// ---- running an agent against the fake ----------------------------------------

struct ClientSettings {
    std::int64_t context_window = 10000;
    std::int64_t max_tokens = 1000;
};

ChatCompletionsOptions client_options(const FakeOpenAi& fake, ClientSettings settings)
{
    ChatCompletionsOptions o;
    o.model = "gpt-test";
    o.max_tokens = settings.max_tokens;
    o.context_window_tokens = settings.context_window;
    o.base_url = fake.base_url();
    o.api_key = "sk-test";
    return o;
}

net::HttpClientOptions trusting_test_ca()
{
    net::HttpClientOptions o;
    o.tls.ca_file = test_certs().ca_cert.string();
    o.retry.initial_backoff = 10ms;
    return o;
}

/// One session of an agent named "test-agent", running `init` once.
RunResult run_agent(const FakeOpenAi& fake, const AgentOptions& options, const std::vector<ChatMessage>& init,
                    ClientSettings settings = {})
{
    return run_sync([&]() -> awaitable<RunResult> {
        auto http = std::make_shared<net::HttpClient>(co_await boost::asio::this_coro::executor, trusting_test_ca());
        auto client = std::make_shared<ChatCompletionsClient>(http, client_options(fake, settings));
        Agent agent(client, "test-agent", options);
        SessionOptions session_options;
        auto result = co_await agent.run_session(session_options, [&init](Session& s) { return s.run(init); });
        co_return std::move(result.value);
    });
}

RunResult run_task(const FakeOpenAi& fake, const AgentOptions& options, const std::string& task = "Test task",
                   ClientSettings settings = {})
{
    std::vector<ChatMessage> init;
    init.emplace_back(UserMessage{task});
    return run_agent(fake, options, init, settings);
}

/// Stirrup's usual test agent: no ordinary tools, the default finish tool.
AgentOptions bare_options(int max_turns = 5)
{
    AgentOptions o;
    o.tools = std::vector<ToolSource>{};
    o.max_turns = max_turns;
    return o;
}

/// An agent with the local execution environment (and its code_exec tool).
AgentOptions local_options(int max_turns = 5)
{
    AgentOptions o;
    o.tools = std::vector<ToolSource>{local_code_exec()};
    o.max_turns = max_turns;
    return o;
}

/// max_turns 30 with warnings only in the last 5 turns, as in Stirrup's
/// test_no_successive_assistant_messages: no warning in short runs, so the
/// sent messages can be compared exactly.
AgentOptions quiet(AgentOptions o)
{
    o.max_turns = 30;
    o.turns_remaining_warning_threshold = 5;
    return o;
}

// ---- reading what was sent and what came back ---------------------------------

std::string wire_text(const json::value& message)
{
    const auto& content = message.at("content");
    if (content.is_string())
        return std::string(content.get_string());
    std::string out;
    if (content.is_array())
        for (const auto& part : content.get_array())
            if (part.at("type") == "text")
                out += part.at("text").as_string();
    return out;
}

const json::array& sent_messages(const json::value& request)
{
    return request.at("body").at("messages").as_array();
}

/// Each sent message in one line: "system: ...", "user: ...",
/// "assistant: text -> id id", "tool id name: content".
std::vector<std::string> shape(const json::value& request)
{
    std::vector<std::string> out;
    for (const auto& m : sent_messages(request)) {
        std::string role(m.at("role").as_string());
        if (role == "assistant") {
            std::string line = "assistant: " + wire_text(m);
            if (const auto* calls = m.as_object().if_contains("tool_calls")) {
                line += " ->";
                for (const auto& c : calls->as_array())
                    line += " " + std::string(c.at("id").as_string());
            }
            out.push_back(line);
        } else if (role == "tool") {
            out.push_back("tool " + std::string(m.at("tool_call_id").as_string()) + " " +
                          std::string(m.at("name").as_string()) + ": " + wire_text(m));
        } else {
            out.push_back(role + ": " + wire_text(m));
        }
    }
    return out;
}

std::string last_sent_text(const json::value& request)
{
    return wire_text(sent_messages(request).back());
}

std::vector<std::string> sent_tool_names(const json::value& request)
{
    std::vector<std::string> out;
    if (const auto* tools = request.at("body").as_object().if_contains("tools"))
        for (const auto& t : tools->as_array())
            out.emplace_back(t.at("function").at("name").as_string());
    return out;
}

const json::value& sent_tool(const json::value& request, const std::string& name)
{
    for (const auto& t : request.at("body").at("tools").as_array())
        if (t.at("function").at("name").as_string() == name)
            return t.at("function");
    throw std::runtime_error("tool not sent: " + name);
}

std::string text_of(const Content& c)
{
    return content_text(c);
}

/// Each history message in one line: "system", "user: ...", "summary: ...",
/// "warning: ...", "assistant: text -> ids", "tool id ok|failed: content".
std::vector<std::string> shape(const std::vector<ChatMessage>& group)
{
    std::vector<std::string> out;
    for (const auto& m : group) {
        if (std::holds_alternative<SystemMessage>(m)) {
            out.emplace_back("system");
        } else if (const auto* u = std::get_if<UserMessage>(&m)) {
            const char* kind = u->kind == UserKind::summary        ? "summary: "
                               : u->kind == UserKind::turn_warning ? "warning: "
                                                                   : "user: ";
            out.push_back(kind + text_of(u->content));
        } else if (const auto* a = std::get_if<AssistantMessage>(&m)) {
            std::string line = "assistant: " + joined_text(a->blocks).value_or("");
            auto calls = tool_call_blocks(a->blocks);
            if (!calls.empty()) {
                line += " ->";
                for (const auto& c : calls)
                    line += " " + c.tool_call_id;
            }
            out.push_back(line);
        } else {
            const auto& t = std::get<ToolMessage>(m);
            out.push_back("tool " + t.tool_call_id + (t.success ? " ok: " : " failed: ") + text_of(t.content));
        }
    }
    return out;
}

std::vector<ToolMessage> tool_messages(const RunResult& r)
{
    std::vector<ToolMessage> out;
    for (const auto& group : r.history)
        for (const auto& m : group)
            if (const auto* t = std::get_if<ToolMessage>(&m))
                out.push_back(*t);
    return out;
}

std::vector<AssistantMessage> assistant_messages(const RunResult& r)
{
    std::vector<AssistantMessage> out;
    for (const auto& group : r.history)
        for (const auto& m : group)
            if (const auto* a = std::get_if<AssistantMessage>(&m))
                out.push_back(*a);
    return out;
}

ToolMessage tool_message(const std::vector<ToolMessage>& all, const std::string& id)
{
    for (const auto& t : all)
        if (t.tool_call_id == id)
            return t;
    throw std::runtime_error("no tool message for " + id);
}

int count_user_texts(const RunResult& r, const std::string& text, UserKind kind)
{
    int n = 0;
    for (const auto& group : r.history)
        for (const auto& m : group)
            if (const auto* u = std::get_if<UserMessage>(&m); u && u->kind == kind && text_of(u->content) == text)
                ++n;
    return n;
}

bool has_key(const std::map<std::string, std::vector<ToolMetadata>>& tools, const std::string& name)
{
    return tools.find(name) != tools.end();
}

// ---- custom tools ---------------------------------------------------------------

struct EchoParams {
    std::string message;
    static auto stirrup_params()
    {
        return params<EchoParams>("EchoParams", "", field(&EchoParams::message, "message", ""));
    }
};

Tool echo_tool()
{
    return make_tool<EchoParams>("echo", "Echo a message", [](EchoParams p, ToolContext&) -> awaitable<ToolResult> {
        co_return ToolResult{"Echo: " + p.message, true, std::nullopt};
    });
}

/// A tool without parameters (Stirrup's EmptyParams) that records its runs.
Tool marker_tool(std::vector<std::string>& runs)
{
    Tool t;
    t.name = "marker";
    t.description = "Leave a mark";
    t.execute = [&runs](json::object, ToolContext&) -> awaitable<ToolResult> {
        runs.emplace_back("marker");
        co_return ToolResult{std::string("marked"), true, ToolMetadata::use_count()};
    };
    return t;
}

struct ReasonParams {
    std::string reason;
    static auto stirrup_params()
    {
        return params<ReasonParams>("ReasonParams", "", field(&ReasonParams::reason, "reason", ""));
    }
};

/// A finish tool whose parameters all have defaults.
struct DefaultedFinishParams {
    std::string reason;
    static auto stirrup_params()
    {
        return params<DefaultedFinishParams>(
            "DefaultedFinishParams", "",
            field(&DefaultedFinishParams::reason, "reason", "").with_default(std::string("no reason given")));
    }
};

awaitable<ToolResult> record_and_finish(std::vector<std::string>& runs, std::string name, std::string reason)
{
    runs.push_back(std::move(name));
    co_return ToolResult{std::move(reason), true, ToolMetadata::use_count()};
}

/// A finish tool that succeeds and records that it ran.
Tool recording_finish(const std::string& name, std::vector<std::string>& runs)
{
    // Not a coroutine lambda: GCC 12 mishandles by-value captures in those.
    return make_tool<ReasonParams>(name, "Finish as " + name, [&runs, name](ReasonParams p, ToolContext&) {
        return record_and_finish(runs, name, std::move(p.reason));
    });
}

} // namespace

// ================================================================================
// Finishing
// ================================================================================

TEST_CASE("agent loop: test_agent_basic_finish")
{
    FakeOpenAi fake(scenario({reply(
        "I'll finish now", {call("call_1", "finish", R"({"reason": "Task completed successfully", "paths": []})")})}));
    std::vector<ChatMessage> init;
    init.emplace_back(SystemMessage{std::string("Test system message")});
    init.emplace_back(UserMessage{std::string("Test task")});
    RunResult r = run_agent(fake, bare_options(5), init);

    REQUIRE(r.finished());
    CHECK(r.finish->tool_name == "finish");
    CHECK(r.finish->params.at("reason") == "Task completed successfully");
    CHECK(r.turns == 1);
    REQUIRE(r.metadata.token_usage.size() == 1);
    CHECK(r.metadata.token_usage[0] == TokenUsage{100, 50, 0});
    REQUIRE(r.history.size() == 1);
    CHECK(shape(r.history[0]) == std::vector<std::string>{"system", "system", "user: Test task",
                                                          "assistant: I'll finish now -> call_1",
                                                          "tool call_1 ok: Task completed successfully"});
    CHECK(has_key(r.metadata.tools, "finish"));

    const auto requests = fake.requests();
    REQUIRE(requests.size() == 1);
    // The built prompt first, then the caller's messages.
    CHECK(shape(requests[0]) == std::vector<std::string>{"system: " + stirrup_system_prompt(5),
                                                         "system: Test system message", "user: Test task"});
    CHECK(sent_tool_names(requests[0]) == std::vector<std::string>{"finish"});
    const auto& finish = sent_tool(requests[0], "finish");
    CHECK(finish.at("description").as_string() == finish_description);
    CHECK(json::serialize(finish.at("parameters")) == finish_schema);
    CHECK(requests[0].at("body").at("tool_choice") == "auto");
}

TEST_CASE("agent loop: test_agent_max_turns")
{
    FakeOpenAi fake(scenario({json::object{
        {"completion", {{"content", "Still working"}, {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 50}}}}},
        {"repeat", 5}}}));
    AgentOptions options = bare_options(3);
    options.system_prompt = "Answer in French.";
    RunResult r = run_task(fake, options);

    CHECK_FALSE(r.finished());
    CHECK(r.turns == 3);
    CHECK(fake.requests().size() == 3);
    CHECK(r.metadata.token_usage.size() == 3);
    CHECK(r.metadata.total_tokens() == TokenUsage{300, 150, 0});
    CHECK(last_sent_text(fake.requests()[0]) == "Test task");
    CHECK(wire_text(sent_messages(fake.requests()[0])[0]) ==
          stirrup_system_prompt(3) + "\n\nFollow these instructions from the User:\nAnswer in French.");
}

TEST_CASE("agent loop: test_finish_runs_last_however_the_provider_ordered_the_calls")
{
    // The model puts finish first; the files it names only exist once the
    // two code_exec calls after it have run.
    FakeOpenAi fake(scenario(
        {reply("Writing both files",
               {call("call_finish", "finish", R"({"reason": "wrote both", "paths": ["report.md", "notes.md"]})"),
                call("call_report", "code_exec", R"({"cmd": "echo report > report.md"})"),
                call("call_notes", "code_exec", R"({"cmd": "test -f report.md && echo notes > notes.md"})")})}));
    RunResult r = run_task(fake, local_options());

    REQUIRE(r.finished());
    CHECK(r.finish->paths() == std::vector<std::string>{"report.md", "notes.md"});
    CHECK(r.finish->params.at("reason") == "wrote both");
    const auto tools = tool_messages(r);
    REQUIRE(tools.size() == 3);
    CHECK(tools[0].tool_call_id == "call_report");
    CHECK(tools[1].tool_call_id == "call_notes");
    CHECK(tools[2].tool_call_id == "call_finish");
    CHECK(text_of(tools[1].content).find("<exit_code>0</exit_code>") != std::string::npos);
    CHECK(tools[2].success);
    CHECK(text_of(tools[2].content) == "wrote both");
    CHECK(fake.requests().size() == 1);
    CHECK(r.metadata.tools.at("code_exec").size() == 2);
    const json::object aggregated = aggregate_metadata(r.metadata);
    CHECK(aggregated.at("code_exec").at("num_uses") == 2);
    CHECK(aggregated.contains("token_usage"));
}

TEST_CASE("agent loop: test_unsuccessful_finish_does_not_terminate_the_run")
{
    struct Case {
        const char* name;
        const char* finish_arguments;
        const char* expected_content;
        bool args_was_valid;
    };
    const Case cases[] = {
        {"unsuccessful", R"({"reason": "done", "paths": ["nope.txt"]})",
         "ERROR: Files do not exist: ['nope.txt']. Verify paths and ensure files were saved.", true},
        {"invalid-arguments", R"({"reason": "done"})", "Tool arguments are not valid", false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        FakeOpenAi fake(
            scenario({reply("Trying", {call("call_write", "code_exec", R"({"cmd": "echo hi > a.txt"})"),
                                       call("call_finish", "finish", c.finish_arguments)}),
                      reply("", {call("call_finish2", "finish", R"({"reason": "really", "paths": ["a.txt"]})")})}));
        RunResult r = run_task(fake, quiet(local_options()));

        const auto tools = tool_messages(r);
        REQUIRE(tools.size() == 3);
        CHECK(tools[0].success);
        CHECK_FALSE(tools[1].success);
        CHECK(text_of(tools[1].content) == c.expected_content);
        CHECK(tools[1].args_was_valid == c.args_was_valid);
        // The run went on, and a.txt (written by the ordinary call) let the next finish succeed.
        REQUIRE(r.finished());
        CHECK(r.finish->params.at("reason") == "really");
        const auto requests = fake.requests();
        REQUIRE(requests.size() == 2);
        const auto sent = shape(requests[1]);
        REQUIRE(sent.size() == 5);
        CHECK(sent[2] == "assistant: Trying -> call_write call_finish");
        CHECK(sent[3].rfind("tool call_write code_exec: ", 0) == 0);
        CHECK(sent[4] == std::string("tool call_finish finish: ") + c.expected_content);
    }
}

TEST_CASE("agent loop: test_finish_without_arguments_completes_the_run")
{
    for (const char* arguments : {"", "   "}) {
        CAPTURE(std::string(arguments));
        FakeOpenAi fake(scenario({reply("", {call("call_1", "done", arguments)})}));
        AgentOptions options = bare_options();
        options.finish_tools = std::vector<Tool>{make_finish_tool<DefaultedFinishParams>(
            "done", "Finish the task", [](DefaultedFinishParams p, ToolContext&) -> awaitable<ToolResult> {
                co_return ToolResult{p.reason, true, std::nullopt};
            })};
        RunResult r = run_task(fake, options);
        REQUIRE(r.finished());
        CHECK(r.finish->tool_name == "done");
        CHECK(r.finish->params == json::object{{"reason", "no reason given"}});
        CHECK(fake.requests().size() == 1);
        CHECK(tool_messages(r).at(0).args_was_valid);
    }
}

TEST_CASE("agent loop: test_finish_tool_validates_file_paths")
{
    FakeOpenAi fake(scenario(
        {reply("Finishing with fake file",
               {call("call_1", "finish", R"({"reason": "Done", "paths": ["nonexistent.txt"]})")}),
         reply("Finishing properly", {call("call_2", "finish", R"({"reason": "Actually done", "paths": []})")})}));
    RunResult r = run_task(fake, local_options());

    CHECK(fake.requests().size() == 2);
    REQUIRE(r.finished());
    CHECK(r.finish->params.at("reason") == "Actually done");
    const ToolMessage failed = tool_message(tool_messages(r), "call_1");
    CHECK_FALSE(failed.success);
    CHECK(text_of(failed.content) ==
          "ERROR: Files do not exist: ['nonexistent.txt']. Verify paths and ensure files were saved.");
}

TEST_CASE("agent loop: test_agent_finish_tool_validation")
{
    struct StatusParams {
        std::string reason;
        std::string status;
        static auto stirrup_params()
        {
            return params<StatusParams>("CustomFinishParams", "", field(&StatusParams::reason, "reason", ""),
                                        field(&StatusParams::status, "status", ""));
        }
    };
    FakeOpenAi fake(scenario(
        {reply("Trying to finish", {call("call_1", "finish", R"({"reason": "Not ready", "status": "pending"})")}),
         reply("Now finishing", {call("call_2", "finish", R"({"reason": "Task done", "status": "complete"})")})}));
    AgentOptions options = bare_options();
    options.finish_tools = std::vector<Tool>{make_finish_tool<StatusParams>(
        "finish", "Finish with status validation", [](StatusParams p, ToolContext&) -> awaitable<ToolResult> {
            const bool complete = p.status == "complete";
            co_return ToolResult{p.reason, complete, ToolMetadata::use_count()};
        })};
    RunResult r = run_task(fake, options);

    CHECK(fake.requests().size() == 2);
    REQUIRE(r.finished());
    CHECK(r.finish->params == json::object{{"reason", "Task done"}, {"status", "complete"}});
    CHECK(r.metadata.tools.at("finish").size() == 2);
}

TEST_CASE("agent loop: test_multiple_finish_tool_calls_in_one_turn_all_rejected")
{
    std::vector<std::string> runs;
    FakeOpenAi fake(
        scenario({reply("Both", {call("call_a", "finish_a", R"({"reason": "a"})"), call("call_m", "marker", "{}"),
                                 call("call_b", "finish_b", R"({"reason": "b"})")}),
                  reply("One", {call("call_a2", "finish_a", R"({"reason": "a again"})")})}));
    AgentOptions options = quiet(bare_options());
    options.tools = std::vector<ToolSource>{marker_tool(runs)};
    options.finish_tools = std::vector<Tool>{recording_finish("finish_a", runs), recording_finish("finish_b", runs)};
    RunResult r = run_task(fake, options);

    CHECK(runs == std::vector<std::string>{"marker", "finish_a"});
    REQUIRE(r.finished());
    CHECK(r.finish->tool_name == "finish_a");
    CHECK(r.finish->params.at("reason") == "a again");

    auto rejection = [](const std::string& name) {
        return "Cannot call finish tool '" + name +
               "': multiple finish tools (['finish_a', 'finish_b']) were called in the same turn. Only one finish tool "
               "may be called per turn \xe2\x80\x94 retry with a single finish tool call.";
    };
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    // Execution order: the ordinary call first, then the finish calls as emitted.
    CHECK(shape(requests[1]) == std::vector<std::string>{"system: " + stirrup_system_prompt(30), "user: Test task",
                                                         "assistant: Both -> call_a call_m call_b",
                                                         "tool call_m marker: marked",
                                                         "tool call_a finish_a: " + rejection("finish_a"),
                                                         "tool call_b finish_b: " + rejection("finish_b")});
    const auto tools = tool_messages(r);
    CHECK_FALSE(tool_message(tools, "call_a").success);
    CHECK_FALSE(tool_message(tools, "call_b").success);
    // Rejected calls never ran: no metadata key, no duration.
    CHECK_FALSE(has_key(r.metadata.tools, "finish_b"));
    CHECK(r.metadata.tool_durations.count("finish_b") == 0);
    CHECK(r.metadata.tool_durations.at("finish_a").size() == 1);
    CHECK(r.metadata.tools.at("marker").size() == 1);
}

TEST_CASE("agent loop: test_agent_accepts_multiple_finish_tools")
{
    std::vector<std::string> runs;
    json::object sessions{
        {"[run-a]", json::array{reply("", {call("call_1", "finish_without_files", R"({"reason": "no files"})")})}},
        {"[run-b]", json::array{reply("", {call("call_2", "submit_files", R"({"reason": "files"})")})}}};
    FakeOpenAi fake(json::serialize(json::object{{"sessions", sessions}}));
    AgentOptions options = bare_options();
    options.finish_tools =
        std::vector<Tool>{recording_finish("submit_files", runs), recording_finish("finish_without_files", runs)};

    RunResult a = run_task(fake, options, "Task [run-a]");
    RunResult b = run_task(fake, options, "Task [run-b]");

    REQUIRE(a.finished());
    CHECK(a.finish->tool_name == "finish_without_files");
    CHECK(has_key(a.metadata.tools, "finish_without_files"));
    REQUIRE(b.finished());
    CHECK(b.finish->tool_name == "submit_files");
    CHECK(has_key(b.metadata.tools, "submit_files"));
    CHECK(runs == std::vector<std::string>{"finish_without_files", "submit_files"});
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    for (const auto& req : requests)
        CHECK(sent_tool_names(req) == std::vector<std::string>{"submit_files", "finish_without_files"});
}

TEST_CASE("agent loop: test_agent_continues_after_failed_finish_tool_from_multiple_finish_tools")
{
    struct PathsParams {
        std::vector<std::string> paths;
        static auto stirrup_params()
        {
            return params<PathsParams>("SubmitFilesParams", "", field(&PathsParams::paths, "paths", ""));
        }
    };
    std::vector<std::string> runs;
    FakeOpenAi fake(
        scenario({reply("", {call("call_1", "submit_files", R"({"paths": []})")}),
                  reply("", {call("call_2", "finish_without_files", R"({"reason": "nothing to submit"})")})}));
    AgentOptions options = quiet(bare_options());
    options.finish_tools = std::vector<Tool>{
        make_finish_tool<PathsParams>(
            "submit_files", "Submit files",
            [](PathsParams p, ToolContext&) -> awaitable<ToolResult> {
                const bool ok = !p.paths.empty();
                co_return ToolResult{std::string(ok ? "submitted" : "No files given"), ok, std::nullopt};
            }),
        recording_finish("finish_without_files", runs)};
    RunResult r = run_task(fake, options);

    CHECK(fake.requests().size() == 2);
    REQUIRE(r.finished());
    CHECK(r.finish->tool_name == "finish_without_files");
    CHECK(shape(fake.requests()[1]).back() == "tool call_1 submit_files: No files given");
}

// ================================================================================
// Tool calls the model gets wrong, and tools that fail
// ================================================================================

TEST_CASE("agent loop: test_agent_tool_execution")
{
    FakeOpenAi fake(
        scenario({reply("I'll echo your message", {call("call_1", "echo", R"({"message": "Hello"})")}),
                  reply("Done", {call("call_2", "finish", R"({"reason": "Echoed successfully", "paths": []})")})}));
    AgentOptions options = quiet(bare_options());
    options.tools = std::vector<ToolSource>{echo_tool()};
    RunResult r = run_task(fake, options, "Echo 'Hello'");

    REQUIRE(r.finished());
    CHECK(r.finish->params.at("reason") == "Echoed successfully");
    CHECK(has_key(r.metadata.tools, "echo"));
    const auto tools = tool_messages(r);
    REQUIRE(tools.size() == 2);
    CHECK(text_of(tool_message(tools, "call_1").content) == "Echo: Hello");
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    CHECK(shape(requests[1]).back() == "tool call_1 echo: Echo: Hello");
    // Static tools first, then the finish tool.
    CHECK(sent_tool_names(requests[0]) == std::vector<std::string>{"echo", "finish"});
    CHECK(
        json::serialize(sent_tool(requests[0], "echo").at("parameters")) ==
        R"({"properties":{"message":{"title":"Message","type":"string"}},"required":["message"],"title":"EchoParams","type":"object"})");
}

TEST_CASE("agent loop: test_agent_invalid_tool_call")
{
    FakeOpenAi fake(
        scenario({reply("I'll call a tool", {call("call_1", "nonexistent_tool", R"({"param": "value"})")}),
                  reply("Done", {call("call_2", "finish", R"({"reason": "Handled error", "paths": []})")})}));
    RunResult r = run_task(fake, quiet(bare_options()));

    REQUIRE(r.finished());
    CHECK(r.finish->params.at("reason") == "Handled error");
    // The unknown name is tracked, with no metadata.
    REQUIRE(has_key(r.metadata.tools, "nonexistent_tool"));
    CHECK(r.metadata.tools.at("nonexistent_tool").empty());
    const ToolMessage bad = tool_message(tool_messages(r), "call_1");
    CHECK_FALSE(bad.success);
    CHECK(bad.args_was_valid);
    CHECK(text_of(bad.content) == "nonexistent_tool is not a valid tool");
    CHECK(shape(fake.requests()[1]).back() == "tool call_1 nonexistent_tool: nonexistent_tool is not a valid tool");
}

TEST_CASE("agent loop: tool arguments that are not JSON are reported to the model")
{
    FakeOpenAi fake(scenario({reply("", {call("call_1", "code_exec", R"({"cmd": "echo hi")")}),
                              reply("", {call("call_2", "code_exec", R"({"command": "echo hi"})")}),
                              reply("", {call("call_ok", "code_exec", R"({"cmd": "echo hi", "extra": 1})")}),
                              finish_reply("call_3")}));
    RunResult r = run_task(fake, quiet(local_options()));

    REQUIRE(r.finished());
    const auto tools = tool_messages(r);
    for (const char* id : {"call_1", "call_2"}) {
        CAPTURE(id);
        const ToolMessage t = tool_message(tools, id);
        CHECK_FALSE(t.success);
        CHECK_FALSE(t.args_was_valid);
        CHECK(text_of(t.content) == "Tool arguments are not valid");
    }
    // Extra keys are ignored, as pydantic does.
    CHECK(tool_message(tools, "call_ok").success);
    CHECK(tool_message(tools, "call_ok").args_was_valid);
    CHECK(r.metadata.tools.at("code_exec").size() == 1);
    CHECK(shape(fake.requests()[1]).back() == "tool call_1 code_exec: Tool arguments are not valid");
}

TEST_CASE("agent loop: a tool that throws gives a failed result and the run goes on")
{
    FakeOpenAi fake(scenario({reply("", {call("call_1", "explode", "{}")}), finish_reply("call_2")}));
    AgentOptions options = quiet(bare_options());
    Tool explode;
    explode.name = "explode";
    explode.description = "Always fails";
    explode.execute = [](json::object, ToolContext&) -> awaitable<ToolResult> {
        throw std::runtime_error("disk on fire");
        co_return ToolResult{};
    };
    options.tools = std::vector<ToolSource>{explode};
    RunResult r = run_task(fake, options);

    REQUIRE(r.finished());
    CHECK(fake.requests().size() == 2);
    const ToolMessage t = tool_message(tool_messages(r), "call_1");
    CHECK_FALSE(t.success);
    CHECK(t.args_was_valid);
    CHECK(text_of(t.content).find("disk on fire") != std::string::npos);
    CHECK(shape(fake.requests()[1]).back().rfind("tool call_1 explode: ", 0) == 0);
    // A tool without parameters is sent without a "parameters" key.
    CHECK_FALSE(sent_tool(fake.requests()[0], "explode").as_object().contains("parameters"));
}

TEST_CASE("agent loop: images in tool results are moved into user messages (text_only_tool_responses)")
{
    // A 1x1 red PNG.
    const unsigned char png_bytes[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
        0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff,
        0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    const std::string png(reinterpret_cast<const char*>(png_bytes), sizeof png_bytes);
    FakeOpenAi fake(scenario({reply("", {call("call_1", "snapshot", "{}")}), finish_reply("call_2")}));
    AgentOptions options = quiet(bare_options());
    Tool snapshot;
    snapshot.name = "snapshot";
    snapshot.description = "Take a picture";
    snapshot.execute = [&png](json::object, ToolContext&) -> awaitable<ToolResult> {
        std::vector<ContentPart> parts;
        parts.emplace_back(std::string("Here it is. "));
        parts.emplace_back(ImageBlock{png, "image/png"});
        co_return ToolResult{std::move(parts), true, std::nullopt};
    };
    options.tools = std::vector<ToolSource>{snapshot};
    RunResult r = run_task(fake, options);

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    const auto sent = shape(requests[1]);
    REQUIRE(sent.size() == 5);
    CHECK(sent[3] == "tool call_1 snapshot: Here it is. Done! The User will provide the image for tool call call_1");
    CHECK(sent[4] == "user: Here is the image for tool call call_1");
    const auto& image_message = sent_messages(requests[1])[4].at("content").as_array();
    REQUIRE(image_message.size() == 2);
    CHECK(image_message[1].at("type") == "image_url");
    CHECK(image_message[1].at("image_url").at("url").as_string().starts_with("data:image/png;base64,iVBORw0KGgo"));
    // No continue prompt: the turn had tool and image messages.
    CHECK(count_user_texts(r, please_continue, UserKind::user) == 0);
}

// ================================================================================
// Turn warnings and the continue prompt
// ================================================================================

TEST_CASE("agent loop: test_no_successive_assistant_messages")
{
    FakeOpenAi fake(scenario(
        {reply("Let me think about this"),
         reply("Now I'll finish", {call("call_1", "finish", R"({"reason": "Task completed", "paths": []})")})}));
    RunResult r = run_task(fake, quiet(bare_options()));

    REQUIRE(r.finished());
    CHECK(r.finish->params.at("reason") == "Task completed");
    CHECK(count_user_texts(r, please_continue, UserKind::user) == 1);
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    CHECK(shape(requests[1]) == std::vector<std::string>{"system: " + stirrup_system_prompt(30), "user: Test task",
                                                         "assistant: Let me think about this",
                                                         "user: " + please_continue});
}

TEST_CASE("agent loop: test_allow_successive_assistant_messages")
{
    FakeOpenAi fake(scenario(
        {reply("Let me think about this"),
         reply("Now I'll finish", {call("call_1", "finish", R"({"reason": "Task completed", "paths": []})")})}));
    AgentOptions options = quiet(bare_options());
    options.block_successive_assistant_messages = false;
    RunResult r = run_task(fake, options);

    REQUIRE(r.finished());
    CHECK(count_user_texts(r, please_continue, UserKind::user) == 0);
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    CHECK(shape(requests[1]).back() == "assistant: Let me think about this");
}

TEST_CASE("agent loop: turn warnings count down the last turns, and replace the continue prompt")
{
    // Text-only answers for all 30 turns, warnings in the last 5.
    FakeOpenAi fake(scenario({json::object{{"completion", {{"content", "thinking"}}}, {"repeat", 30}}}));
    RunResult r = run_task(fake, quiet(bare_options()));

    CHECK_FALSE(r.finished());
    CHECK(r.turns == 30);
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 30);
    CHECK(last_sent_text(requests[0]) == "Test task");
    for (int k = 1; k < 25; ++k) {
        CAPTURE(k);
        CHECK(last_sent_text(requests[k]) == please_continue);
    }
    // Request 26 is made at turn 25: 5 turns remain; no continue prompt before the warning.
    CHECK(shape(requests[25]).back() == "user: " + turns_remaining(5));
    CHECK(shape(requests[25]).rbegin()[1] == "assistant: thinking");
    CHECK(last_sent_text(requests[26]) == turns_remaining(4));
    CHECK(last_sent_text(requests[27]) == turns_remaining(3));
    CHECK(last_sent_text(requests[28]) == turns_remaining(2));
    CHECK(last_sent_text(requests[29]) == last_turn);

    REQUIRE(r.history.size() == 1);
    CHECK(count_user_texts(r, please_continue, UserKind::user) == 24);
    int warnings = 0;
    const auto& msgs = r.history[0];
    for (std::size_t i = 0; i < msgs.size(); ++i)
        if (const auto* u = std::get_if<UserMessage>(&msgs[i]); u && u->kind == UserKind::turn_warning) {
            ++warnings;
            // Each warning comes right before the assistant turn it warns.
            REQUIRE(i + 1 < msgs.size());
            CHECK(std::holds_alternative<AssistantMessage>(msgs[i + 1]));
        }
    CHECK(warnings == 5);
    CHECK(std::holds_alternative<AssistantMessage>(msgs.back()));
}

TEST_CASE("agent loop: with Stirrup's defaults the turn warnings start at the 11th turn")
{
    FakeOpenAi fake(
        scenario({json::object{{"completion", {{"content", "thinking"}}}, {"repeat", 10}}, finish_reply("call_1")}));
    AgentOptions options = bare_options();
    options.max_turns = 30;
    RunResult r = run_task(fake, options);

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 11);
    CHECK(last_sent_text(requests[9]) == please_continue);
    CHECK(last_sent_text(requests[10]) == turns_remaining(20));
}

// ================================================================================
// Context summarization
// ================================================================================

TEST_CASE("agent loop: summarization at the context-window cutoff")
{
    // 650 + 50 = 700 tokens of a 1000-token window: exactly the 0.7 cutoff.
    FakeOpenAi fake(scenario({reply("Step one", {call("call_1", "code_exec", R"({"cmd": "echo one"})")}, 650, 50),
                              reply("SUMMARY-1"), finish_reply("call_2")}));
    RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000});

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 3);

    // The summarizer request: the conversation so far plus the summarizer prompt, with the tools.
    const auto summarizer = shape(requests[1]);
    REQUIRE(summarizer.size() == 5);
    CHECK(summarizer[2] == "assistant: Step one -> call_1");
    CHECK(summarizer[3].rfind("tool call_1 code_exec: ", 0) == 0);
    const std::string prompt = last_sent_text(requests[1]);
    CHECK(prompt.find("Keep the summary concise but comprehensive. Do not use any tools.") != std::string::npos);
    CHECK(prompt.back() == '\n');
    CHECK(sent_tool_names(requests[1]) == sent_tool_names(requests[0]));

    // The next turn starts from the task context, the summary and the acknowledgement.
    CHECK(shape(requests[2]) == std::vector<std::string>{"system: " + stirrup_system_prompt(30), "user: Test task",
                                                         "user: " + bridge("SUMMARY-1"), "user: Got it, thanks!"});

    REQUIRE(r.history.size() == 2);
    const auto& first_id = std::get<AssistantMessage>(r.history[0][2]).id;
    CHECK(shape(r.history[0]).size() == 4);
    const auto& summary = std::get<UserMessage>(r.history[1][2]);
    CHECK(summary.kind == UserKind::summary);
    CHECK(summary.replaced_ids == std::vector<std::string>{first_id});
    CHECK(text_of(summary.content) == bridge("SUMMARY-1"));
    // The summarizer call is not a turn and uses no tokens of the run.
    CHECK(r.turns == 2);
    CHECK(r.metadata.token_usage.size() == 2);
    CHECK(r.metadata.tools.at("code_exec").size() == 1);
}

TEST_CASE("agent loop: just under the cutoff does not summarize")
{
    FakeOpenAi fake(scenario(
        {reply("Step one", {call("call_1", "code_exec", R"({"cmd": "echo one"})")}, 650, 49), finish_reply("call_2")}));
    RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000});

    REQUIRE(r.finished());
    CHECK(fake.requests().size() == 2);
    CHECK(r.history.size() == 1);
}

TEST_CASE("agent loop: test_output_limit_does_not_control_context_summarization")
{
    // 800 tokens is far above max_tokens (100) but a small part of the 64k window.
    FakeOpenAi fake(scenario({reply("Step one", {call("call_1", "code_exec", R"({"cmd": "echo one"})")}, 700, 100),
                              finish_reply("call_2")}));
    RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 64000, .max_tokens = 100});

    REQUIRE(r.finished());
    CHECK(fake.requests().size() == 2);
    CHECK(r.history.size() == 1);
}

TEST_CASE("agent loop: no summarization on a finishing turn or on the last turn")
{
    SUBCASE("finishing turn")
    {
        FakeOpenAi fake(
            scenario({reply("", {call("call_1", "finish", R"({"reason": "done", "paths": []})")}, 900, 50)}));
        RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000});
        CHECK(r.finished());
        CHECK(fake.requests().size() == 1);
        CHECK(r.history.size() == 1);
    }
    SUBCASE("last turn")
    {
        FakeOpenAi fake(scenario({reply("", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}, 100, 10),
                                  reply("", {call("call_2", "code_exec", R"({"cmd": "echo 2"})")}, 900, 50)}));
        RunResult r = run_task(fake, local_options(2), "Test task", {.context_window = 1000});
        CHECK_FALSE(r.finished());
        CHECK(fake.requests().size() == 2);
        CHECK(r.history.size() == 1);
    }
}

TEST_CASE("agent loop: a summarized turn without tool calls is followed by the continue prompt")
{
    FakeOpenAi fake(scenario({reply("Thinking hard", {}, 800, 10), reply("SUMMARY-1"), finish_reply("call_1")}));
    RunResult r = run_task(fake, quiet(bare_options()), "Test task", {.context_window = 1000});

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 3);
    // The summarizer sees the turn without a continue prompt; the next turn gets one after the summary.
    CHECK(shape(requests[1])[2] == "assistant: Thinking hard");
    CHECK(shape(requests[1]).size() == 4);
    CHECK(shape(requests[2]) == std::vector<std::string>{"system: " + stirrup_system_prompt(30), "user: Test task",
                                                         "user: " + bridge("SUMMARY-1"), "user: Got it, thanks!",
                                                         "user: " + please_continue});
}

TEST_CASE("agent loop: test_summarize_history_has_one_summary_per_trajectory")
{
    FakeOpenAi fake(
        scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo one"})")}, 800, 10), reply("SUMMARY-1"),
                  reply("Second", {call("call_2", "code_exec", R"({"cmd": "echo two"})")}, 800, 10), reply("SUMMARY-2"),
                  finish_reply("call_3")}));
    RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000});

    REQUIRE(r.finished());
    CHECK(fake.requests().size() == 5);
    REQUIRE(r.history.size() == 3);
    auto summaries = [](const std::vector<ChatMessage>& group) {
        std::vector<UserMessage> out;
        for (const auto& m : group)
            if (const auto* u = std::get_if<UserMessage>(&m); u && u->kind == UserKind::summary)
                out.push_back(*u);
        return out;
    };
    CHECK(summaries(r.history[0]).empty());
    REQUIRE(summaries(r.history[1]).size() == 1);
    REQUIRE(summaries(r.history[2]).size() == 1);
    CHECK(text_of(summaries(r.history[1])[0].content) == bridge("SUMMARY-1"));
    CHECK(text_of(summaries(r.history[2])[0].content) == bridge("SUMMARY-2"));
    // The second summary replaces both earlier turns: its own and the first summary's.
    const auto assistants = assistant_messages(r);
    REQUIRE(assistants.size() == 3);
    CHECK(summaries(r.history[2])[0].replaced_ids == std::vector<std::string>{assistants[0].id, assistants[1].id});
    // The second summarizer request sends the first summary, not the first turn.
    const auto second_summarizer = shape(fake.requests()[3]);
    REQUIRE(second_summarizer.size() == 7);
    CHECK(second_summarizer[2] == "user: " + bridge("SUMMARY-1"));
    CHECK(r.turns == 3);
}

TEST_CASE("agent loop: test_summarizer_tool_call_only_escalates_to_toolless_retry")
{
    FakeOpenAi fake(scenario({reply("Step one", {call("call_1", "code_exec", R"({"cmd": "echo one"})")}, 800, 10),
                              reply("", {call("call_s1", "code_exec", R"({"cmd": "ls"})")}),
                              reply("", {call("call_s2", "code_exec", R"({"cmd": "ls"})")}), reply("SUMMARY-3"),
                              finish_reply("call_2")}));
    RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000});

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 5);
    const auto tools = sent_tool_names(requests[0]);
    CHECK(tools == std::vector<std::string>{"finish", "code_exec"});
    CHECK(sent_tool_names(requests[1]) == tools);
    CHECK(sent_tool_names(requests[2]) == tools);
    CHECK_FALSE(requests[3].at("body").as_object().contains("tools"));
    CHECK_FALSE(requests[3].at("body").as_object().contains("tool_choice"));

    const std::string p1 = last_sent_text(requests[1]);
    CHECK(last_sent_text(requests[2]) == p1 + "\n\n" + summarizer_text_only);
    const std::string code_exec_description(sent_tool(requests[0], "code_exec").at("description").as_string());
    CHECK(last_sent_text(requests[3]) ==
          p1 + "\n\n" + summarizer_text_only +
              "\n\nTools are disabled for this response. For reference, the tools available earlier in the "
              "conversation were:\n- finish: " +
              finish_description + "\n- code_exec: " + code_exec_description);
    // Each attempt starts from the same conversation: failed replies are not kept.
    CHECK(sent_messages(requests[2]).size() == sent_messages(requests[1]).size());
    CHECK(sent_messages(requests[3]).size() == sent_messages(requests[1]).size());
    CHECK(shape(requests[4])[2] == "user: " + bridge("SUMMARY-3"));
    CHECK(r.metadata.token_usage.size() == 2);
}

TEST_CASE("agent loop: test_summarizer_tool_call_only_exhausts_retries_and_raises")
{
    FakeOpenAi fake(scenario(
        {reply("Step one", {call("call_1", "code_exec", R"({"cmd": "echo one"})")}, 800, 10),
         json::object{{"completion", {{"tool_calls", json::array{call("call_s", "code_exec", R"({"cmd": "ls"})")}}}},
                      {"repeat", 3}}}));
    CHECK_THROWS_WITH(run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000}),
                      "Summarizer response contained no text blocks; cannot summarize context");
    CHECK(fake.requests().size() == 4);
}

// ================================================================================
// Context overflow
// ================================================================================

TEST_CASE("agent loop: test_context_overflow_unwinds_one_turn_and_retries")
{
    std::vector<std::string> runs;
    FakeOpenAi fake(
        scenario({reply("First step", {call("call_1", "code_exec", R"({"cmd": "echo first"})")}),
                  reply("Second step", {call("call_2", "marker", "{}")}), overflow(),
                  reply("Recovered", {call("call_3", "finish", R"({"reason": "recovered", "paths": []})")})}));
    AgentOptions options = quiet(local_options());
    options.tools->push_back(marker_tool(runs));
    RunResult r = run_task(fake, options);

    REQUIRE(r.finished());
    CHECK(r.finish->params.at("reason") == "recovered");
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 4);
    // The retry sends the conversation without the second turn.
    const auto overflowed = sent_messages(requests[2]);
    const auto retried = sent_messages(requests[3]);
    REQUIRE(overflowed.size() == 6);
    REQUIRE(retried.size() == 4);
    for (std::size_t i = 0; i < retried.size(); ++i)
        CHECK(retried[i] == overflowed[i]);
    REQUIRE(r.history.size() == 1);
    const auto h = shape(r.history[0]);
    CHECK(std::find(h.begin(), h.end(), "assistant: Second step -> call_2") == h.end());
    CHECK(h[h.size() - 2] == "assistant: Recovered -> call_3");
    CHECK(r.turns == 2);
    CHECK(r.metadata.token_usage.size() == 2);
    CHECK(runs == std::vector<std::string>{"marker"});
}

TEST_CASE("agent loop: test_context_overflow_removes_unwound_turn_metadata")
{
    std::vector<std::string> runs;
    FakeOpenAi fake(
        scenario({reply("First step", {call("call_1", "code_exec", R"({"cmd": "echo first"})")}),
                  reply("Second step", {call("call_2", "marker", "{}")}), overflow(), finish_reply("call_3")}));
    AgentOptions options = quiet(local_options());
    options.tools->push_back(marker_tool(runs));
    RunResult r = run_task(fake, options);

    REQUIRE(r.finished());
    CHECK(runs.size() == 1); // it ran, but its turn was dropped
    CHECK_FALSE(has_key(r.metadata.tools, "marker"));
    CHECK(r.metadata.tool_durations.count("marker") == 0);
    CHECK(r.metadata.tools.at("code_exec").size() == 1);
    for (const auto& t : tool_messages(r))
        CHECK(t.name != std::optional<std::string>("marker"));
}

TEST_CASE("agent loop: test_context_overflow_turn_count_uses_surviving_progress")
{
    // max_turns 3 with the default threshold: every turn after the first is warned.
    FakeOpenAi fake(scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}),
                              reply("Second", {call("call_2", "code_exec", R"({"cmd": "echo 2"})")}), overflow(),
                              reply("Recovered second", {call("call_3", "code_exec", R"({"cmd": "echo 3"})")}),
                              reply("Done", {call("call_4", "finish", R"({"reason": "done", "paths": []})")})}));
    RunResult r = run_task(fake, local_options(3));

    REQUIRE(r.finished());
    CHECK(fake.requests().size() == 5);
    std::vector<std::string> texts;
    for (const auto& a : assistant_messages(r))
        texts.push_back(joined_text(a.blocks).value_or(""));
    CHECK(texts == std::vector<std::string>{"First", "Recovered second", "Done"});
    const auto requests = fake.requests();
    // The overflowing request carried the second turn (with its warning) and the last-turn warning.
    CHECK(last_sent_text(requests[2]) == last_turn);
    // The unwound turn's warning went with it; the retry adds none.
    CHECK(shape(requests[3]).back().rfind("tool call_1 code_exec: ", 0) == 0);
    CHECK(sent_messages(requests[3]).size() == 4);
    CHECK(last_sent_text(requests[4]) == last_turn);
}

TEST_CASE("agent loop: overflow twice in a row unwinds two turns")
{
    FakeOpenAi fake(scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}),
                              reply("Second", {call("call_2", "code_exec", R"({"cmd": "echo 2"})")}),
                              reply("Third", {call("call_3", "code_exec", R"({"cmd": "echo 3"})")}), overflow(),
                              overflow(), finish_reply("call_4")}));
    RunResult r = run_task(fake, quiet(local_options()));

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 6);
    CHECK(sent_messages(requests[3]).size() == 8);
    CHECK(sent_messages(requests[4]).size() == 6);
    CHECK(sent_messages(requests[5]).size() == 4);
    CHECK(r.turns == 2);
    CHECK(r.metadata.tools.at("code_exec").size() == 1);
}

TEST_CASE("agent loop: overflow right after a summary does not unwind past it")
{
    FakeOpenAi fake(
        scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}, 800, 10), reply("SUMMARY-1"),
                  reply("Second", {call("call_2", "code_exec", R"({"cmd": "echo 2"})")}, 100, 10), overflow()}));
    CHECK_THROWS_WITH_AS(run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000}),
                         overflow_message("summarized context", 1000).c_str(), ContextOverflowError);
    CHECK(fake.requests().size() == 4);
}

TEST_CASE("agent loop: test_context_overflow_at_original_prompt_raises")
{
    FakeOpenAi fake(scenario({overflow()}));
    CHECK_THROWS_WITH_AS(run_task(fake, quiet(bare_options())), overflow_message("original prompt", 10000).c_str(),
                         ContextOverflowError);
    CHECK(fake.requests().size() == 1);
}

TEST_CASE("agent loop: test_context_overflow_does_not_unwind_first_turn_after_initial_prompt")
{
    FakeOpenAi fake(scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}), overflow()}));
    CHECK_THROWS_WITH_AS(run_task(fake, quiet(local_options())), overflow_message("original prompt", 10000).c_str(),
                         ContextOverflowError);
    CHECK(fake.requests().size() == 2);
}

TEST_CASE("agent loop: test_context_overflow_does_not_unwind_existing_summary")
{
    FakeOpenAi fake(scenario({overflow()}));
    std::vector<ChatMessage> init;
    init.emplace_back(UserMessage{std::string("Test task")});
    init.emplace_back(UserMessage{bridge("Earlier work"), UserKind::summary, {"abc"}});
    CHECK_THROWS_WITH_AS(run_agent(fake, quiet(bare_options()), init),
                         overflow_message("summarized context", 10000).c_str(), ContextOverflowError);
    CHECK(fake.requests().size() == 1);
}

TEST_CASE("agent loop: test_context_overflow_recovery_can_be_disabled")
{
    FakeOpenAi fake(scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}),
                              reply("Second", {call("call_2", "code_exec", R"({"cmd": "echo 2"})")}), overflow()}));
    AgentOptions options = quiet(local_options());
    options.recover_from_context_overflow = false;
    CHECK_THROWS_WITH_AS(run_task(fake, options), "Context overflow recovery is disabled", ContextOverflowError);
    CHECK(fake.requests().size() == 3);
}

TEST_CASE("agent loop: test_summarization_context_overflow_unwinds_and_retries")
{
    FakeOpenAi fake(scenario({reply("First", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}, 100, 10),
                              reply("Second", {call("call_2", "code_exec", R"({"cmd": "echo 2"})")}, 700, 10),
                              overflow(), reply("SUMMARY-AFTER-UNWIND"), finish_reply("call_3")}));
    RunResult r = run_task(fake, quiet(local_options()), "Test task", {.context_window = 1000});

    REQUIRE(r.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 5);
    // The summarizer first sees both turns, then (after the overflow) only the first.
    const auto first_try = shape(requests[2]);
    const auto second_try = shape(requests[3]);
    REQUIRE(first_try.size() == 7);
    REQUIRE(second_try.size() == 5);
    CHECK(second_try[2] == "assistant: First -> call_1");
    CHECK(second_try.back() == first_try.back());
    CHECK(shape(requests[4]) == std::vector<std::string>{"system: " + stirrup_system_prompt(30), "user: Test task",
                                                         "user: " + bridge("SUMMARY-AFTER-UNWIND"),
                                                         "user: Got it, thanks!"});
    REQUIRE(r.history.size() == 2);
    const auto assistants = assistant_messages(r);
    REQUIRE(assistants.size() == 2);
    CHECK(joined_text(assistants[0].blocks) == "First");
    const auto& summary = std::get<UserMessage>(r.history[1][2]);
    CHECK(summary.replaced_ids == std::vector<std::string>{assistants[0].id});
    // The unwound turn's metadata and tokens are gone.
    CHECK(r.metadata.tools.at("code_exec").size() == 1);
    CHECK(r.metadata.token_usage.size() == 2);
    CHECK(r.turns == 2);
}

// ================================================================================
// Errors that end the run, metadata, configuration
// ================================================================================

TEST_CASE("agent loop: test_output_token_limit_surfaces_without_agent_retry_or_recovery")
{
    FakeOpenAi fake(scenario({json::object{{"completion", {{"content", "partial"}, {"finish_reason", "length"}}}}}));
    CHECK_THROWS_WITH_AS(run_task(fake, quiet(bare_options())),
                         "Model 'gpt-test' exhausted its configured output budget (max_tokens=1000; provider reason: "
                         "length). Increase max_tokens or ask the model for a shorter response.",
                         OutputTokenLimitError);
    CHECK(fake.requests().size() == 1);
}

TEST_CASE("agent loop: model speed and tool durations are in the run metadata")
{
    FakeOpenAi fake(scenario({reply("", {call("call_1", "code_exec", R"({"cmd": "echo 1"})")}, 100, 40),
                              reply("", {call("call_2", "finish", R"({"reason": "done", "paths": []})")}, 120, 60)}));
    RunResult r = run_task(fake, quiet(local_options()));

    REQUIRE(r.finished());
    REQUIRE(r.metadata.model_speed.has_value());
    const auto& speed = *r.metadata.model_speed;
    CHECK(speed.model_slug == "gpt-test");
    CHECK(speed.num_calls == 2);
    CHECK(speed.output_tokens == 100);
    CHECK(speed.duration > 0);
    CHECK(speed.e2e_otps == doctest::Approx(100 / speed.duration));
    REQUIRE(r.metadata.tool_durations.count("code_exec") == 1);
    REQUIRE(r.metadata.tool_durations.count("finish") == 1);
    CHECK(r.metadata.tool_durations.at("code_exec").size() == 1);
    CHECK(r.metadata.tool_durations.at("finish").size() == 1);
    CHECK(r.metadata.tool_durations.at("code_exec")[0] >= 0);
    CHECK(r.metadata.token_usage == std::vector<TokenUsage>{{100, 40, 0}, {120, 60, 0}});
    // Provider tools come after the finish tool, as in Stirrup's active-tools dict.
    CHECK(sent_tool_names(fake.requests()[0]) == std::vector<std::string>{"finish", "code_exec"});
}

TEST_CASE("agent loop: construction validation errors carry Stirrup's messages")
{
    boost::asio::io_context io;
    ChatCompletionsOptions o;
    o.model = "gpt-test";
    o.context_window_tokens = 10000;
    o.max_tokens = 1000;
    o.base_url = "https://127.0.0.1:9/v1";
    o.api_key = "sk-test";
    auto client = std::make_shared<ChatCompletionsClient>(io.get_executor(), o);
    auto tool_named = [](const std::string& name) {
        Tool t;
        t.name = name;
        t.description = "d";
        return t;
    };

    SUBCASE("agent name pattern")
    {
        for (const std::string& bad :
             std::vector<std::string>{"bad name!", "", std::string(129, 'a'), "dots.are.bad"}) {
            CAPTURE(bad);
            CHECK_THROWS_WITH_AS(Agent(client, bad, bare_options()),
                                 ("Invalid agent name '" + bad +
                                  "'. Agent names must match pattern '^[a-zA-Z0-9_-]{1,128}$' (alphanumeric, "
                                  "underscores, hyphens only, 1-128 characters).")
                                     .c_str(),
                                 ConfigError);
        }
        CHECK_NOTHROW(Agent(client, std::string(128, 'a'), bare_options()));
        CHECK_NOTHROW(Agent(client, "Agent_1-x", bare_options()));
    }
    SUBCASE("finish list empty")
    {
        AgentOptions options = bare_options();
        options.finish_tools = std::vector<Tool>{};
        CHECK_THROWS_WITH_AS(Agent(client, "a", options), "finish_tool list cannot be empty", ConfigError);
    }
    SUBCASE("duplicate finish names")
    {
        AgentOptions options = bare_options();
        options.finish_tools = std::vector<Tool>{tool_named("done"), tool_named("stop"), tool_named("done")};
        CHECK_THROWS_WITH_AS(Agent(client, "a", options),
                             "Finish tools must have unique names, found duplicates: ['done']", ConfigError);
    }
    SUBCASE("test_tools_finish_tool_name_collision_raises_at_init")
    {
        AgentOptions options = bare_options();
        options.tools = std::vector<ToolSource>{tool_named("finish")};
        CHECK_THROWS_WITH_AS(Agent(client, "a", options),
                             "Tool name 'finish' in `tools` collides with a finish tool. Tool names must be unique "
                             "across `tools` and `finish_tool`.",
                             ConfigError);
    }
    SUBCASE("test_multiple_exec_env_raises_error")
    {
        AgentOptions options = bare_options();
        options.tools = std::vector<ToolSource>{local_code_exec(), local_code_exec()};
        CHECK_THROWS_WITH_AS(Agent(client, "a", options),
                             "Agent can only have one CodeExecToolProvider, found 2: ['LocalCodeExecToolProvider', "
                             "'LocalCodeExecToolProvider']",
                             ConfigError);
    }
}
