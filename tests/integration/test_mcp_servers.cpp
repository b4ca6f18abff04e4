// The MCP client against the official reference servers (npm
// @modelcontextprotocol/server-everything over stdio, SSE and streamable
// HTTP; server-filesystem over stdio), a WebSocket server built on the
// official SDK, and an agent that calls an MCP tool end to end.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/tools/mcp/mcp_tool_provider.hpp"
#include "support/agent_fixture.hpp"
#include "support/helpers.hpp"
#include "support/mcp_servers.hpp"
#include "support/node_server.hpp"
#include "support/processes.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace stirrup::test;
namespace asio = boost::asio;
namespace json = boost::json;

// The executor is always awaited before McpToolProvider::make: GCC 12
// corrupts a defaulted argument (McpOptions) of a call that holds a co_await.

namespace {

const Tool& find_tool(const std::vector<Tool>& tools, std::string_view name)
{
    for (const auto& t : tools)
        if (t.name == name)
            return t;
    FAIL("no tool " << name);
    return tools.front();
}

awaitable<ToolResult> call(const std::vector<Tool>& tools, std::string_view name, json::object args,
                           RecordingContext& ctx)
{
    const Tool& t = find_tool(tools, name);
    auto parsed = t.parse_arguments(args);
    co_return co_await t.execute(std::move(parsed), ctx);
}

// What every transport of server-everything must do the same way.
void exercise_everything(const McpConfig& config)
{
    RecordingContext ctx;
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_await p->connect();
        auto tools = p->tools();
        const Tool& echo = find_tool(tools, "everything__echo");
        CHECK(echo.description == "Echoes back the input string");
        CHECK(contains(*echo.parameters_schema, "\"message\""));

        ToolResult r = co_await call(tools, "everything__echo", obj("message", "hi there"), ctx);
        CHECK(text_of(r) == "Echo: hi there");
        CHECK(r.success);
        REQUIRE(r.metadata);
        CHECK(r.metadata->values.at("num_uses") == 1);

        r = co_await call(tools, "everything__get-sum", obj("a", 2, "b", 3.5), ctx);
        CHECK(text_of(r) == "The sum of 2 and 3.5 is 5.5.");

        // Text, a 20x20 PNG, text: the image checked and re-encoded as view_image does.
        r = co_await call(tools, "everything__get-tiny-image", obj(), ctx);
        auto* parts = std::get_if<std::vector<ContentPart>>(&r.content);
        REQUIRE(parts);
        REQUIRE(parts->size() == 3);
        CHECK(std::holds_alternative<std::string>((*parts)[0]));
        const auto* image = std::get_if<ImageBlock>(&(*parts)[1]);
        REQUIRE(image);
        CHECK(image->mime_type == "image/png");
        CHECK(image->data.substr(1, 3) == "PNG");

        // A long-running tool: its progress reaches the calling session.
        r = co_await call(tools, "everything__trigger-long-running-operation", obj("duration", 1, "steps", 2), ctx);
        CHECK(r.success);
        CHECK(ctx.contains("everything__trigger-long-running-operation: progress 1/2"));
        CHECK(ctx.contains("everything__trigger-long-running-operation: progress 2/2"));

        // Arguments that miss the schema never reach the server.
        CHECK_THROWS_AS(find_tool(tools, "everything__echo").parse_arguments(obj("message", 3)), InvalidToolArguments);
        CHECK_THROWS_AS(find_tool(tools, "everything__get-sum").parse_arguments(obj("a", 1)), InvalidToolArguments);

        // The server's own error answers reach the caller with their text.
        std::string error;
        try {
            co_await p->call_tool("everything", "no-such-tool", obj());
        } catch (const McpError& e) {
            error = e.what();
        }
        CHECK(contains(error, "MCP tool 'no-such-tool' failed: "));
        CHECK(contains(error, "no-such-tool not found"));

        // Structured content and resource links come back as text.
        r = co_await call(tools, "everything__get-resource-links", obj("count", 2), ctx);
        CHECK(contains(content_text(r.content), "[resource link: "));

        // 50 calls at once on one connection: each gets its own answer.
        std::vector<decltype(asio::co_spawn(std::declval<asio::any_io_executor>(),
                                            std::declval<awaitable<ToolResult>>(), asio::deferred))>
            ops;
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 50; ++i)
            ops.push_back(asio::co_spawn(
                ex, call(tools, "everything__echo", obj("message", "m" + std::to_string(i)), ctx), asio::deferred));
        auto [order, errors, results] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        (void)order;
        for (int i = 0; i < 50; ++i) {
            CHECK_FALSE(errors[i]);
            CHECK(content_text(results[i].content) == "Echo: m" + std::to_string(i));
        }
        co_await p->close();
    });
}

} // namespace

TEST_CASE("mcp servers: server-everything over stdio")
{
    McpConfig config;
    config.servers.push_back(node_stdio("everything", "everything.mjs", {"stdio"}));
    exercise_everything(config);
    CHECK(processes_left_with_cmdline("everything.mjs stdio") == 0);
}

TEST_CASE("mcp servers: a call past its timeout fails alone; the others and the connection go on")
{
    McpConfig config;
    config.servers.push_back(node_stdio("everything", "everything.mjs", {"stdio"}));
    config.servers[0].call_timeout = std::chrono::seconds(1);
    RecordingContext ctx;
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_await p->connect();
        auto tools = p->tools();
        using Op = decltype(asio::co_spawn(exec, std::declval<awaitable<ToolResult>>(), asio::deferred));
        std::vector<Op> ops;
        ops.push_back(asio::co_spawn(
            exec, call(tools, "everything__trigger-long-running-operation", obj("duration", 5, "steps", 5), ctx),
            asio::deferred));
        for (int i = 0; i < 5; ++i)
            ops.push_back(
                asio::co_spawn(exec, call(tools, "everything__echo", obj("message", "quick"), ctx), asio::deferred));
        auto [order, errors, results] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        (void)order;
        REQUIRE(errors[0]);
        CHECK(error_of<McpError>([&] { std::rethrow_exception(errors[0]); }) ==
              "MCP server 'everything' did not answer tools/call within 1 s");
        for (int i = 1; i <= 5; ++i) {
            CHECK_FALSE(errors[i]);
            CHECK(content_text(results[i].content) == "Echo: quick");
        }
        ToolResult after = co_await call(tools, "everything__echo", obj("message", "still here"), ctx);
        CHECK(text_of(after) == "Echo: still here");
        co_await p->close();
    });
}

TEST_CASE("mcp servers: server-everything over streamable HTTP")
{
    NodeServer server(mcp_script("everything.mjs"), strings("streamableHttp", "--quiet"));
    exercise_everything(http_config("everything", server.port(), "/mcp"));
}

TEST_CASE("mcp servers: server-everything over the legacy HTTP+SSE transport")
{
    NodeServer server(mcp_script("everything.mjs"), strings("sse", "--quiet"));
    exercise_everything(http_config("everything", server.port(), "/sse"));
}

TEST_CASE("mcp servers: server-filesystem over stdio reads, lists, refuses paths outside, and returns audio")
{
    ScratchDir dir;
    write_bytes(dir.path() / "notes.txt", "hello from a file\n");
    // A minimal WAV header (44 bytes) and a few samples.
    std::string wav = "RIFF";
    wav += std::string("\x2c\x00\x00\x00", 4) + "WAVEfmt " + std::string("\x10\x00\x00\x00\x01\x00\x01\x00", 8);
    wav += std::string("\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00", 12) + "data" +
           std::string("\x08\x00\x00\x00", 4) + std::string(8, '\0');
    write_bytes(dir.path() / "beep.wav", wav);
    McpConfig config;
    auto s =
        node_stdio("fs", "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", {dir.path().string()});
    config.servers.push_back(s);
    RecordingContext ctx;
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_await p->connect();
        auto tools = p->tools();
        const std::string file = (dir.path() / "notes.txt").string();
        ToolResult r = co_await call(tools, "fs__read_text_file", obj("path", file), ctx);
        CHECK(contains(content_text(r.content), "hello from a file"));

        r = co_await call(tools, "fs__list_directory", obj("path", dir.path().string()), ctx);
        CHECK(contains(content_text(r.content), "[FILE] notes.txt"));

        r = co_await call(tools, "fs__read_text_file", obj("path", "/etc/passwd"), ctx);
        CHECK_FALSE(r.success);
        CHECK(contains(content_text(r.content), "denied"));

        r = co_await call(tools, "fs__read_media_file", obj("path", (dir.path() / "beep.wav").string()), ctx);
        auto* parts = std::get_if<std::vector<ContentPart>>(&r.content);
        REQUIRE(parts);
        const AudioBlock* audio = nullptr;
        for (const auto& part : *parts)
            if (auto* a = std::get_if<AudioBlock>(&part))
                audio = a;
        REQUIRE(audio);
        CHECK(audio->data == wav);
        CHECK(contains(audio->mime_type, "wav"));
        co_await p->close();
    });
    CHECK(processes_left_with_cmdline("server-filesystem/dist/index.js") == 0);
}

TEST_CASE("mcp servers: a WebSocket server on the official SDK")
{
    NodeServer server(mcp_script("ws_server.mjs"), strings("--port", "0"));
    McpConfig config;
    McpServerConfig s;
    s.name = "ws";
    s.transport = McpTransport::websocket;
    s.url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
    config.servers.push_back(s);
    RecordingContext ctx;
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_await p->connect();
        auto tools = p->tools();
        ToolResult r = co_await call(tools, "ws__echo", obj("message", "over ws"), ctx);
        CHECK(text_of(r) == "Echo: over ws");
        r = co_await call(tools, "ws__add", obj("a", 2, "b", 40), ctx);
        CHECK(contains(text_of(r), "42"));
        r = co_await call(tools, "ws__fail", obj(), ctx);
        CHECK_FALSE(r.success);
        co_await p->close();
    });
}

TEST_CASE("mcp servers: one provider shared by concurrent sessions starts its server once")
{
    run_sync([&]() -> awaitable<void> {
        McpConfig config;
        config.servers.push_back(node_stdio("everything", "everything.mjs", {"stdio"}));
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        auto ex = co_await asio::this_coro::executor;
        std::vector<decltype(asio::co_spawn(ex, p->start(nullptr), asio::deferred))> starts;
        for (int i = 0; i < 10; ++i)
            starts.push_back(asio::co_spawn(ex, p->start(nullptr), asio::deferred));
        auto [order, errors, started] = co_await asio::experimental::make_parallel_group(std::move(starts))
                                            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        (void)order;
        for (auto& e : errors)
            CHECK_FALSE(e);
        CHECK(count_processes_with_cmdline("everything.mjs stdio") == 1);
        // The server stays while any session holds it.
        for (std::size_t i = 0; i + 1 < started.size(); ++i)
            co_await started[i]->stop();
        CHECK(count_processes_with_cmdline("everything.mjs stdio") == 1);
        RecordingContext ctx;
        ToolResult r = co_await call(started.back()->tools, "everything__echo", obj("message", "last"), ctx);
        CHECK(text_of(r) == "Echo: last");
        co_await started.back()->stop();
    });
    CHECK(processes_left_with_cmdline("everything.mjs stdio") == 0);
}

TEST_CASE("mcp servers: an agent calls an MCP tool and the result reaches the next model request")
{
    json::array steps;
    // First arguments that miss the schema: the model reads why, nothing is sent.
    steps.push_back(tool_calls_step({{"everything__echo", obj("message", 42)}}));
    steps.push_back(tool_calls_step({{"everything__echo", obj("message", "from the model")}}));
    steps.push_back(finish_step({}));
    FakeOpenAi fake(json::serialize(obj("steps", std::move(steps))));
    auto result = run_sync([&]() -> awaitable<RunResult> {
        auto ex = co_await asio::this_coro::executor;
        McpConfig config;
        config.servers.push_back(node_stdio("everything", "everything.mjs", {"stdio"}));
        AgentOptions o;
        o.tools = std::vector<ToolSource>{McpToolProvider::make(ex, config)};
        Agent agent(fake_client(fake, ex), "mcp-user", o);
        auto r = co_await agent.run("use the echo tool");
        co_return std::move(r.value);
    });
    CHECK(result.finished());
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 3);
    // The first request offers the server's tools under SERVER__TOOL.
    bool offered = false;
    for (const auto& t : requests[0].at("body").at("tools").as_array())
        offered = offered || t.at("function").at("name") == "everything__echo";
    CHECK(offered);
    bool explained = false;
    for (const auto& m : requests[1].at("body").at("messages").as_array())
        if (m.at("role") == "tool")
            explained =
                explained || contains(json::serialize(m.at("content")),
                                      "Tool arguments are not valid: at /message: expected string, got integer");
    CHECK(explained);
    // The third carries the tool's answer.
    const auto& messages = requests[2].at("body").at("messages").as_array();
    bool answered = false;
    for (const auto& m : messages)
        if (m.at("role") == "tool")
            answered = answered || contains(json::serialize(m.at("content")), "Echo: from the model");
    CHECK(answered);
    CHECK(processes_left_with_cmdline("everything.mjs stdio") == 0);
}

TEST_CASE("mcp servers: calls from sessions on four threads share one server safely")
{
    boost::asio::io_context io;
    McpConfig config;
    config.servers.push_back(node_stdio("everything", "everything.mjs", {"stdio"}));
    auto provider = McpToolProvider::make(io.get_executor(), config);
    std::atomic<int> ok{0}, failed{0};
    // Each session on its own strand, as a multi-threaded service runs them.
    for (int s = 0; s < 40; ++s) {
        asio::co_spawn(
            asio::make_strand(io),
            [&, s]() -> awaitable<void> {
                auto started = co_await provider->start(nullptr);
                RecordingContext ctx;
                for (int i = 0; i < 10; ++i) {
                    const std::string message = "s" + std::to_string(s) + "-" + std::to_string(i);
                    ToolResult r = co_await call(started->tools, "everything__echo", obj("message", message), ctx);
                    (content_text(r.content) == "Echo: " + message ? ok : failed)++;
                }
                co_await started->stop();
            },
            [&](std::exception_ptr e) {
                if (e)
                    failed++;
            });
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { io.run(); });
    for (auto& t : threads)
        t.join();
    CHECK(ok == 400);
    CHECK(failed == 0);
    provider.reset();
    CHECK(processes_left_with_cmdline("everything.mjs stdio") == 0);
}
