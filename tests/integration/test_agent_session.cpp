// Sessions of the agent against the fake OpenAI server with the local
// backend: files in and out, per-run reset, sub-agents, cleanup on
// exception and cancellation.

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <vips/vips.h>

#include "stirrup/agent/agent.hpp"
#include "stirrup/core/detail/base64.hpp"
#include "stirrup/core/tool_params.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/llm/errors.hpp"
#include "stirrup/tools/view_image_tool.hpp"
#include "support/agent_fixture.hpp"
#include "support/processes.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace stirrup::test;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string scenario(std::vector<json::object> steps)
{
    json::array a;
    for (auto& s : steps)
        a.push_back(std::move(s));
    return json::serialize(json::object{{"steps", std::move(a)}});
}

/// Local environments under `base`, so a test can see that none is left.
std::shared_ptr<CodeExecToolProvider> local_in(const fs::path& base)
{
    LocalCodeExecOptions o;
    o.temp_base_dir = base;
    return local_code_exec(o);
}

/// The text of the system message of recorded request `i`.
std::string system_prompt_of(const FakeOpenAi& fake, std::size_t i)
{
    auto reqs = fake.requests();
    REQUIRE(reqs.size() > i);
    const auto& c = reqs[i].at("body").at("messages").as_array().at(0).at("content");
    if (c.is_string())
        return std::string(c.as_string());
    std::string text;
    for (const auto& part : c.as_array())
        text += part.at("text").as_string();
    return text;
}

/// Text of every tool message of recorded request `i`.
std::vector<std::string> tool_texts(const FakeOpenAi& fake, std::size_t i)
{
    std::vector<std::string> out;
    auto reqs = fake.requests();
    REQUIRE(reqs.size() > i);
    for (const auto& m : reqs[i].at("body").at("messages").as_array()) {
        if (m.at("role") != "tool")
            continue;
        const auto& c = m.at("content");
        if (c.is_string())
            out.emplace_back(c.as_string());
        else
            for (const auto& part : c.as_array())
                if (part.at("type") == "text")
                    out.emplace_back(part.at("text").as_string());
    }
    return out;
}

// A finish tool that never checks its paths, so the output saver sees them raw.
struct LooseFinish {
    std::string reason;
    std::vector<std::string> paths;
    static auto stirrup_params()
    {
        return params<LooseFinish>("LooseFinish", "", field(&LooseFinish::reason, "reason", ""),
                                   field(&LooseFinish::paths, "paths", ""));
    }
};

awaitable<ToolResult> accept_finish(LooseFinish p, ToolContext&)
{
    co_return ToolResult{p.reason};
}

} // namespace

TEST_CASE("session: the finish paths are saved to output_dir, each with its own result")
{
    FakeOpenAi fake(scenario({exec_step("mkdir -p sub && echo real > real.txt && echo n > sub/notes.md"),
                              finish_step({"real.txt", "sub/notes.md", "../sneaky.txt", "gone.txt"})}));
    ScratchDir base, out;
    auto result = run_sync([&]() -> awaitable<SessionResult<RunResult>> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path())};
        o.finish_tools = std::vector<Tool>{make_tool<LooseFinish>("finish", "Finish.", accept_finish)};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "saver", o);
        SessionOptions so;
        so.output_dir = out.path() / "nested";
        co_return co_await agent.run("save", so);
    });
    CHECK(result.value.finished());
    REQUIRE(result.output_files);
    REQUIRE(result.output_files->saved.size() == 2);
    CHECK(result.output_files->saved[0].source_path == "real.txt");
    CHECK(read_text(out.path() / "nested/real.txt") == "real\n");
    CHECK(read_text(out.path() / "nested/sub/notes.md") == "n\n");
    REQUIRE(result.output_files->failed.size() == 2);
    CHECK(result.output_files->failed.at("../sneaky.txt").find("traversal") != std::string::npos);
    CHECK(result.output_files->failed.count("gone.txt") == 1);
    CHECK(base.entries().empty()); // the environment is gone
}

TEST_CASE("session: a second run that does not finish exports nothing of the first")
{
    FakeOpenAi fake(
        scenario({exec_step("echo one > one.txt"), finish_step({"one.txt"}), exec_step("true"), exec_step("true")}));
    ScratchDir base, out;
    auto result = run_sync([&]() -> awaitable<SessionResult<int>> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path())};
        o.max_turns = 2;
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "twice", o);
        SessionOptions so;
        so.output_dir = out.path();
        co_return co_await agent.run_session(so, [](Session& s) -> awaitable<int> {
            auto first = co_await s.run("first");
            CHECK(first.finished());
            auto second = co_await s.run("second");
            CHECK_FALSE(second.finished());
            co_return 7;
        });
    });
    CHECK(result.value == 7);
    CHECK_FALSE(result.output_files.has_value());
    CHECK(out.entries().empty());
}

TEST_CASE("session: input files, directories and globs are uploaded and listed in the system prompt")
{
    ScratchDir base, in;
    write_text(in.path() / "data/a.csv", "1\n");
    write_text(in.path() / "data/b.csv", "2\n");
    write_text(in.path() / "data/skip.txt", "x\n");
    write_text(in.path() / "docs/readme.md", "r\n");
    FakeOpenAi fake(scenario({exec_step("cat a.csv b.csv docs/readme.md"), finish_step({})}));
    run_sync([&]() -> awaitable<void> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path())};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "reader", o);
        SessionOptions so;
        so.input_files = strings((in.path() / "data/*.csv").string(), (in.path() / "docs").string());
        auto r = co_await agent.run("read", so);
        CHECK(r.value.finished());
    });
    CHECK(system_prompt_of(fake, 0).find("\n\nThe following input files have been provided for this task:\n- a.csv\n- "
                                         "b.csv\n- docs/readme.md") != std::string::npos);
    auto texts = tool_texts(fake, 1);
    REQUIRE(texts.size() == 1);
    CHECK(texts[0].find("<stdout>1\n2\nr\n</stdout>") != std::string::npos);
}

TEST_CASE("session: a missing input file or an empty glob fails before any request, leaving nothing")
{
    ScratchDir base, in;
    FakeOpenAi fake(scenario({finish_step({})}));
    auto attempt = [&](std::string entry) {
        std::string error;
        run_sync([&]() -> awaitable<void> {
            AgentOptions o;
            o.tools = std::vector<ToolSource>{local_in(base.path())};
            Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "reader", o);
            SessionOptions so;
            so.input_files.push_back(entry);
            try {
                co_await agent.run("read", so);
            } catch (const std::exception& e) {
                error = e.what();
            }
        });
        return error;
    };
    const auto pattern = (in.path() / "*.nothing").string();
    CHECK(attempt(pattern) == "Glob pattern '" + pattern + "' matched no files");
    auto missing = attempt((in.path() / "absent.txt").string());
    CHECK(missing.find("Failed to upload files: {") == 0);
    CHECK(missing.find("File or directory does not exist") != std::string::npos);
    CHECK(fake.requests().empty());
    CHECK(base.entries().empty());
}

TEST_CASE("session: providers are stopped when the body throws")
{
    FakeOpenAi fake(scenario({exec_step("echo x > x.txt"), finish_step({"x.txt"})}));
    ScratchDir base, out;
    bool caught = false;
    run_sync([&]() -> awaitable<void> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path())};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "thrower", o);
        SessionOptions so;
        so.output_dir = out.path();
        try {
            co_await agent.run_session(so, [&base](Session& s) -> awaitable<void> {
                co_await s.run("go");
                CHECK(base.entries().size() == 1);
                throw std::runtime_error("body failed");
            });
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "body failed";
        }
    });
    CHECK(caught);
    CHECK(base.entries().empty());
    CHECK(out.entries().empty()); // a failed session exports nothing
}

TEST_CASE("session: cancelling a run kills the running command and removes the environment")
{
    const std::string marker = "sleep 7391" + std::to_string(::getpid() % 1000);
    FakeOpenAi fake(scenario({exec_step(marker + " & " + marker + " & wait")}));
    ScratchDir base;
    boost::asio::io_context io;
    boost::asio::cancellation_signal cancel;
    std::exception_ptr outcome;
    bool done = false;
    AgentOptions o;
    o.tools = std::vector<ToolSource>{local_in(base.path())};
    Agent agent(fake_client(fake, io.get_executor()), "sleeper", o);
    boost::asio::co_spawn(io, agent.run("sleep"),
                          boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, auto) {
                              outcome = e;
                              done = true;
                          }));
    // Cancel once both sleeps run.
    boost::asio::steady_timer poll(io);
    std::function<void()> watch = [&] {
        poll.expires_after(20ms);
        poll.async_wait([&](auto) {
            if (done)
                return;
            if (count_processes_with_cmdline(marker) >= 2)
                cancel.emit(boost::asio::cancellation_type::terminal);
            else
                watch();
        });
    };
    watch();
    io.run();
    REQUIRE(outcome);
    CHECK_THROWS_AS(std::rethrow_exception(outcome), boost::system::system_error);
    CHECK(processes_left_with_cmdline(marker) == 0);
    CHECK(base.entries().empty());
}

TEST_CASE("sub-agent: files go into the child's environment and its outputs come back to the parent")
{
    // One model serves both agents; the calls are strictly sequential.
    std::vector<std::pair<std::string, json::value>> delegate;
    delegate.emplace_back("worker",
                          json::object{{"task", "double the input"}, {"input_files", json::array{"input.txt"}}});
    FakeOpenAi fake(scenario({
        exec_step("echo 21 > input.txt"),                                               // parent
        tool_calls_step(std::move(delegate)),                                           // parent calls the child
        exec_step("mkdir -p res && echo $(( $(cat input.txt) * 2 )) > res/double.txt"), // child
        finish_step({"res/double.txt"}, "doubled"),                                     // child
        exec_step("cat res/double.txt"),                                                // parent
        finish_step({"res/double.txt"}),                                                // parent
    }));
    ScratchDir base, out;
    auto logger = std::make_shared<RecordingLogger>();
    auto result = run_sync([&]() -> awaitable<SessionResult<RunResult>> {
        auto client = fake_client(fake, co_await boost::asio::this_coro::executor);
        AgentOptions child_options;
        child_options.tools = std::vector<ToolSource>{local_in(base.path())};
        child_options.logger = logger;
        Agent child(client, "worker", child_options);
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path()), child.to_tool()};
        o.logger = logger;
        Agent parent(client, "boss", o);
        SessionOptions so;
        so.output_dir = out.path();
        co_return co_await parent.run("delegate", so);
    });
    REQUIRE(result.value.finished());
    CHECK(read_text(out.path() / "res/double.txt") == "42\n");
    // The child's task and its system prompt listing the transferred file.
    CHECK(system_prompt_of(fake, 2).find("\n- input.txt") != std::string::npos);
    auto texts = tool_texts(fake, 4);
    REQUIRE(texts.size() == 2);
    CHECK(texts[1] == "<sub_agent_result>\n<response>Finish params: {'reason': 'doubled', 'paths': "
                      "['res/double.txt']}\nFiles available in your environment: ['res/double.txt']</response>\n"
                      "<finished>True</finished>\n</sub_agent_result>");
    CHECK(tool_texts(fake, 5).back().find("<stdout>42\n</stdout>") != std::string::npos);
    // The child's history and metadata are the tool's metadata.
    const auto& calls = result.value.metadata.tools.at("worker");
    REQUIRE(calls.size() == 1);
    REQUIRE(calls[0].sub_agent);
    CHECK(calls[0].sub_agent->message_history.size() == 1);
    CHECK(calls[0].sub_agent->run_metadata.token_usage.size() == 2);
    // The child logged at depth 1.
    bool child_depth_1 = false;
    for (const auto& e : logger->events("session_start"))
        if (e.agent == "worker")
            child_depth_1 = e.depth == 1;
    CHECK(child_depth_1);
    CHECK(base.entries().empty());
}

TEST_CASE("sub-agent: sharing the parent's environment validates outputs in place")
{
    std::vector<std::pair<std::string, json::value>> delegate;
    delegate.emplace_back("helper", json::object{{"task", "write"}});
    FakeOpenAi fake(scenario({
        tool_calls_step(std::move(delegate)),
        exec_step("mkdir artifacts && echo r > report.txt"),
        finish_step({"report.txt", "artifacts"}),
        exec_step("cat report.txt"),
        finish_step({"report.txt"}),
    }));
    ScratchDir base, out;
    auto result = run_sync([&]() -> awaitable<SessionResult<RunResult>> {
        auto client = fake_client(fake, co_await boost::asio::this_coro::executor);
        AgentOptions child_options;
        child_options.tools = std::vector<ToolSource>{local_in(base.path())};
        child_options.share_parent_exec_env = true;
        AgentOptions finish_any;
        child_options.finish_tools = std::vector<Tool>{make_tool<LooseFinish>("finish", "Finish.", accept_finish)};
        Agent child(client, "helper", child_options);
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path()), child.to_tool()};
        Agent parent(client, "boss", o);
        SessionOptions so;
        so.output_dir = out.path();
        co_return co_await parent.run("share", so);
    });
    REQUIRE(result.value.finished());
    auto texts = tool_texts(fake, 3);
    REQUIRE(texts.size() == 1);
    CHECK(texts[0].find("Files available in your environment: ['report.txt']") != std::string::npos);
    CHECK(texts[0].find("'artifacts': ") != std::string::npos);
    CHECK(tool_texts(fake, 4).back().find("<stdout>r\n</stdout>") != std::string::npos);
    CHECK(read_text(out.path() / "report.txt") == "r\n");
}

TEST_CASE("sub-agent: a child with code execution needs a parent with code execution")
{
    FakeOpenAi fake(scenario({}));
    run_sync([&]() -> awaitable<void> {
        auto client = fake_client(fake, co_await boost::asio::this_coro::executor);
        Agent child(client, "coder", {});
        AgentOptions o;
        o.tools = std::vector<ToolSource>{child.to_tool()};
        std::string error;
        try {
            Agent parent(client, "talker", o);
        } catch (const ConfigError& e) {
            error = e.what();
        }
        CHECK(error == "Subagent 'coder' has a code execution tool, but parent agent 'talker' does not. Parent must "
                       "have a code execution tool to receive files from subagent.");
        co_return;
    });
}

namespace {

/// A real PNG of w x h pixels, made with libvips.
std::string make_png(int w, int h)
{
    VipsImage* black = nullptr;
    REQUIRE(vips_black(&black, w, h, "bands", 3, nullptr) == 0);
    void* buf = nullptr;
    size_t len = 0;
    int rc = vips_pngsave_buffer(black, &buf, &len, nullptr);
    g_object_unref(black);
    REQUIRE(rc == 0);
    std::string out(static_cast<char*>(buf), len);
    g_free(buf);
    return out;
}

std::uint32_t be32(const std::string& s, std::size_t at)
{
    return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

} // namespace

TEST_CASE("view_image in a run: the image reaches the model as a user message, downsized; a corrupt one fails")
{
    ScratchDir base, in;
    write_text(in.path() / "big.png", make_png(3000, 2000));
    write_text(in.path() / "bad.png", "\x89PNG\r\n\x1a\nnot really");
    std::vector<std::pair<std::string, json::value>> look;
    look.emplace_back("view_image", json::object{{"path", "big.png"}});
    look.emplace_back("view_image", json::object{{"path", "bad.png"}});
    FakeOpenAi fake(scenario({tool_calls_step(std::move(look)), finish_step({})}));
    run_sync([&]() -> awaitable<void> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{std::make_shared<ViewImageToolProvider>(), local_in(base.path())};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "looker", o);
        SessionOptions so;
        so.input_files = strings((in.path() / "big.png").string(), (in.path() / "bad.png").string());
        auto r = co_await agent.run("look", so);
        CHECK(r.value.finished());
    });
    auto reqs = fake.requests();
    REQUIRE(reqs.size() == 2);
    const auto& msgs = reqs[1].at("body").at("messages").as_array();
    // system, task, assistant, 2 tool results, then the image as a user message
    REQUIRE(msgs.size() == 6);
    const auto& good = msgs[3].at("content").as_array();
    CHECK(good[0].at("text") == "Viewing image at path: big.png");
    const std::string call_id(msgs[3].at("tool_call_id").as_string());
    CHECK(good[1].at("text").as_string() == "Done! The User will provide the image for tool call " + call_id);
    INFO(json::serialize(msgs[4]));
    CHECK(msgs[4].at("content").as_array()[0].at("text").as_string().find(
              "You submitted a corrupt/unsupported image file") == 0);
    CHECK(msgs[5].at("role") == "user");
    const auto& parts = msgs[5].at("content").as_array();
    CHECK(parts[0].at("text").as_string() == "Here is the image for tool call " + call_id);
    std::string url(parts[1].at("image_url").at("url").as_string());
    const std::string prefix = "data:image/png;base64,";
    REQUIRE(url.rfind(prefix, 0) == 0);
    auto png = detail::base64::decode(url.substr(prefix.size()));
    REQUIRE(png);
    const auto w = be32(*png, 16), h = be32(*png, 20);
    CHECK(std::uint64_t(w) * h <= 1'000'000);
    CHECK(w > h);
}

namespace {

/// Records when it starts and stops, and whether the execution environment
/// was up at those moments.
struct OrderProbe final : ToolProvider {
    std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();

    struct Started final : StartedTools {
        std::shared_ptr<std::vector<std::string>> log;
        CodeExecProvider* env = nullptr;
        awaitable<void> stop() override
        {
            log->push_back(std::string("probe stop, env ") + (env && env->started() ? "up" : "down"));
            co_return;
        }
    };

    std::string name() const override { return "OrderProbe"; }
    awaitable<std::unique_ptr<StartedTools>> start(CodeExecProvider* env) const override
    {
        log->push_back(std::string("probe start, env ") + (env && env->started() ? "up" : "down"));
        auto s = std::make_unique<Started>();
        s->log = log;
        s->env = env;
        co_return s;
    }
};

} // namespace

TEST_CASE("session: the code-exec provider starts first and stops last, whatever the list order")
{
    FakeOpenAi fake(scenario({finish_step({})}));
    ScratchDir base;
    auto probe = std::make_shared<OrderProbe>();
    run_sync([&]() -> awaitable<void> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{probe, local_in(base.path())};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "ordered", o);
        auto r = co_await agent.run("go");
        CHECK(r.value.finished());
    });
    CHECK(*probe->log == std::vector<std::string>{"probe start, env up", "probe stop, env up"});
    CHECK(base.entries().empty());
}

TEST_CASE("session: skills are uploaded to skills/ and listed in the system prompt")
{
    ScratchDir base, skills;
    write_text(skills.path() / "csv/SKILL.md",
               "---\nname: csv-tools\ndescription: Read CSV files.\n---\nUse python3.\n");
    write_text(skills.path() / "csv/scripts/peek.sh", "head -1 \"$1\"\n");
    FakeOpenAi fake(scenario({exec_step("cat skills/csv/SKILL.md skills/csv/scripts/peek.sh"), finish_step({})}));
    run_sync([&]() -> awaitable<void> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path())};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "skilled", o);
        SessionOptions so;
        so.skills_dir = skills.path();
        auto r = co_await agent.run("use a skill", so);
        CHECK(r.value.finished());
    });
    CHECK(system_prompt_of(fake, 0).find("\n\n## Available Skills\n") != std::string::npos);
    CHECK(system_prompt_of(fake, 0).find("- **csv-tools**: Read CSV files. (`skills/csv/SKILL.md`)") !=
          std::string::npos);
    auto texts = tool_texts(fake, 1);
    REQUIRE(texts.size() == 1);
    CHECK(texts[0].find("Use python3.\nhead -1") != std::string::npos);
}

TEST_CASE("session: a skills_dir that does not exist is an error before any request")
{
    ScratchDir base, skills;
    FakeOpenAi fake(scenario({finish_step({})}));
    std::string error;
    run_sync([&]() -> awaitable<void> {
        AgentOptions o;
        o.tools = std::vector<ToolSource>{local_in(base.path())};
        Agent agent(fake_client(fake, co_await boost::asio::this_coro::executor), "skilled", o);
        SessionOptions so;
        so.skills_dir = skills.path() / "nope";
        try {
            co_await agent.run("use a skill", so);
        } catch (const ConfigError& e) {
            error = e.what();
        }
    });
    CHECK(error == "skills_dir is not a directory: " + (skills.path() / "nope").string());
    CHECK(fake.requests().empty());
    CHECK(base.entries().empty());
}
