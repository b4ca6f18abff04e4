// The MCP client against a server that misbehaves in every way the issue
// names (tests/fakes/mcp/bad_server.mjs): each gives a clear error, nothing
// hangs, and no process or connection is left behind.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "stirrup/tools/mcp/mcp_tool_provider.hpp"
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

// The provider's standalone form: connect, one call, close.
struct Outcome {
    std::string text;
    bool success = false;
    std::string error;
};

awaitable<Outcome> call_once(std::shared_ptr<McpToolProvider> p, std::string_view tool, json::object args,
                             RecordingContext* context = nullptr)
{
    RecordingContext fallback;
    RecordingContext& ctx = context ? *context : fallback;
    Outcome out;
    co_await p->connect();
    const Tool* t = nullptr;
    auto tools = p->tools();
    for (const auto& x : tools)
        if (x.name == tool)
            t = &x;
    REQUIRE(t != nullptr);
    try {
        ToolResult r = co_await t->execute(std::move(args), ctx);
        out.text = content_text(r.content);
        out.success = r.success;
    } catch (const McpError& e) {
        out.error = e.what();
    }
    co_await p->close();
    co_return out;
}

} // namespace

TEST_CASE("mcp faults: non-JSON lines on stdout are skipped and logged, calls still work")
{
    McpLog log;
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("garbage-stdout"), log.options());
        co_return co_await call_once(p, "bad__t", obj("x", "a"));
    });
    CHECK(out.error == "");
    CHECK(out.text == "ok");
    CHECK(log.contains("ignored a message that is not JSON-RPC"));
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode garbage-stdout") == 0);
}

TEST_CASE("mcp faults: a 100 MB line is refused at the limit, the server is killed")
{
    auto config = bad_stdio("huge-line");
    config.servers[0].max_message_bytes = 1024 * 1024;
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_return co_await call_once(p, "bad__t", obj());
    });
    CHECK(out.error == "MCP server 'bad' wrote a line longer than 1048576 bytes to stdout");
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode huge-line") == 0);
}

TEST_CASE("mcp faults: an answer for an unknown id is logged; the call ends at its timeout and is cancelled")
{
    McpLog log;
    auto config = bad_stdio("unknown-id");
    config.servers[0].call_timeout = std::chrono::milliseconds(1500);
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config, log.options());
        co_return co_await call_once(p, "bad__t", obj());
    });
    CHECK(out.error == "MCP server 'bad' did not answer tools/call within 1500 ms");
    CHECK(log.contains("answer to an unknown request id"));
}

TEST_CASE("mcp faults: a server that never answers: timeout, notifications/cancelled, then it is stopped")
{
    McpLog log;
    auto config = bad_stdio("hang");
    config.servers[0].call_timeout = std::chrono::seconds(1);
    config.servers[0].stop_grace = std::chrono::milliseconds(300);
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config, log.options());
        co_return co_await call_once(p, "bad__t", obj());
    });
    CHECK(out.error == "MCP server 'bad' did not answer tools/call within 1 s");
    // The server logs each notifications/cancelled it reads on its stderr,
    // which the client logs: tools/call was request 3 (after initialize, tools/list).
    CHECK(log.contains("stderr: cancelled 3"));
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode hang") == 0);
}

TEST_CASE("mcp faults: cancelling a session's call cancels it on the server too")
{
    McpLog log;
    auto config = bad_stdio("hang");
    run_sync([&]() -> awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto ex = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(ex, config, log.options());
        co_await p->connect();
        auto tools = p->tools();
        RecordingContext ctx;
        asio::steady_timer timer(ex, std::chrono::milliseconds(300));
        auto call = tools.at(0).execute(obj(), ctx);
        auto which = co_await (std::move(call) || timer.async_wait(asio::use_awaitable));
        CHECK(which.index() == 1);
        // The notification is sent in the background: give it a moment.
        for (int i = 0; i < 100 && !log.contains("stderr: cancelled 3"); ++i) {
            asio::steady_timer pause(ex, std::chrono::milliseconds(20));
            co_await pause.async_wait(asio::use_awaitable);
        }
        INFO("log: " << [&] {
            std::string all;
            for (const auto& l : log.lines())
                all += l + " | ";
            return all;
        }());
        CHECK(log.contains("stderr: cancelled 3"));
        co_await p->close();
    });
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode hang") == 0);
}

TEST_CASE("mcp faults: a crash fails the running call clearly; the next call restarts the server once")
{
    ScratchFile marker;
    auto config = bad_stdio("crash", {"--crash-once", marker.path});
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_await p->connect();
        auto tools = p->tools();
        RecordingContext ctx;
        auto& t = tools.at(0);
        std::string error;
        try {
            co_await t.execute(obj(), ctx);
        } catch (const McpError& e) {
            error = e.what();
        }
        CHECK(contains(error, "MCP server 'bad' exited with status 3"));
        ToolResult again = co_await t.execute(obj(), ctx);
        CHECK(content_text(again.content) == "ok");
        co_await p->close();
    });
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode crash") == 0);
}

TEST_CASE("mcp faults: a server that keeps crashing: one restart per call, then a clear error")
{
    auto config = bad_stdio("crash");
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        co_await p->connect();
        auto tools = p->tools();
        RecordingContext ctx;
        for (int i = 0; i < 2; ++i) {
            std::string error;
            try {
                co_await tools.at(0).execute(obj(), ctx);
            } catch (const McpError& e) {
                error = e.what();
            }
            CHECK(contains(error, "exited with status 3"));
        }
        co_await p->close();
    });
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode crash") == 0);
}

TEST_CASE("mcp faults: sampling, elicitation and roots are refused, ping answered, progress and logs passed on")
{
    McpLog log;
    RecordingContext ctx;
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("server-requests"), log.options());
        co_return co_await call_once(p, "bad__t", obj(), &ctx);
    });
    CHECK(out.error == "");
    CHECK(out.text == "sampling:-32601 elicitation:-32601 roots:-32601 ping:ok");
    CHECK(ctx.contains("bad__t: progress"));
    CHECK(log.contains("bad: bad-server: asking the client four things"));
}

TEST_CASE("mcp faults: tools/list pages are all read")
{
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("paginate"));
        co_await p->connect();
        std::vector<std::string> names;
        for (const auto& t : p->tools())
            names.push_back(t.name);
        CHECK(names == std::vector<std::string>{"bad__t1", "bad__t2", "bad__t3", "bad__t4", "bad__t5"});
        co_await p->close();
    });
}

TEST_CASE("mcp faults: protocol versions: 2024-11-05 is spoken, an unknown one refused")
{
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("old-version"));
        co_return co_await call_once(p, "bad__t", obj());
    });
    CHECK(out.text == "ok");
    const std::string error = run_sync([&]() -> awaitable<std::string> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("bad-version"));
        try {
            co_await p->connect();
        } catch (const McpError& e) {
            co_return std::string(e.what());
        }
        co_return std::string("connected");
    });
    CHECK(error == "cannot connect to MCP server 'bad': MCP server 'bad' speaks protocol version '1999-01-01', "
                   "which this client does not support (it supports 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05)");
    CHECK(processes_left_with_cmdline("bad_server.mjs --mode bad-version") == 0);
}

TEST_CASE("mcp faults: isError is a failed result with its text; an unknown block type a clear error")
{
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("is-error"));
        co_return co_await call_once(p, "bad__t", obj());
    });
    CHECK(out.text == "boom");
    CHECK_FALSE(out.success);
    auto bad = run_sync([&]() -> awaitable<std::string> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("unknown-block"));
        co_await p->connect();
        std::string error;
        try {
            co_await p->call_tool("bad", "t", obj());
        } catch (const McpError& e) {
            error = e.what();
        }
        co_await p->close();
        co_return error;
    });
    CHECK(bad == "MCP tool 't' returned an unsupported content block type 'hologram'");
}

TEST_CASE("mcp faults: arguments that miss the schema are a tool error the model reads, never sent")
{
    RecordingContext ctx;
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("ok"));
        co_await p->connect();
        auto tools = p->tools();
        REQUIRE(tools.size() == 1);
        CHECK(tools[0].parameters_schema == R"({"type":"object","properties":{"x":{"type":"string"}}})");
        CHECK(tools[0].description == "a tool");
        const std::string why = error_of<InvalidToolArguments>([&] { tools[0].parse_arguments(obj("x", 5)); });
        CHECK(contains(why, "/x"));
        CHECK(tools[0].parse_arguments(obj("x", "fine")) == obj("x", "fine"));
        co_await p->close();
    });
}

TEST_CASE("mcp faults: a stdio server that cannot start is a clear error")
{
    McpConfig config;
    McpServerConfig s;
    s.name = "missing";
    s.command = "/nonexistent/mcp-server";
    config.servers.push_back(s);
    const std::string error = run_sync([&]() -> awaitable<std::string> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, config);
        try {
            co_await p->connect();
        } catch (const McpError& e) {
            co_return std::string(e.what());
        }
        co_return std::string("connected");
    });
    CHECK(contains(error, "cannot connect to MCP server 'missing'"));
    CHECK(contains(error, "/nonexistent/mcp-server"));
}

TEST_CASE("mcp over HTTP: the negotiated version goes back on every request; close deletes the session")
{
    NodeServer server(mcp_script("bad_server.mjs"), strings("--mode", "ok", "--http", "--get-sse"));
    const std::string state_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/__state";
    auto out = run_sync([&]() -> awaitable<Outcome> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, http_config("bad", server.port()));
        co_await p->connect();
        const auto state = json::parse(blocking_request("GET", state_url).body);
        CHECK(state.at("sessions") == 1);
        CHECK(state.at("protocol_version") == "2025-11-25");
        co_await p->close();
        co_return co_await call_once(p, "bad__t", obj("x", "again"));
    });
    CHECK(out.text == "ok");
    // Each close() sent DELETE: no session is left.
    CHECK(json::parse(blocking_request("GET", state_url).body).at("sessions") == 0);
}

TEST_CASE("mcp faults over HTTP: HTML, a cut event stream, silence")
{
    SUBCASE("a server answering HTML")
    {
        NodeServer server(mcp_script("bad_server.mjs"), strings("--mode", "html", "--http"));
        const std::string error = run_sync([&]() -> awaitable<std::string> {
            const auto exec = co_await asio::this_coro::executor;
            auto p = McpToolProvider::make(exec, http_config("bad", server.port()));
            try {
                co_await p->connect();
            } catch (const McpError& e) {
                co_return std::string(e.what());
            }
            co_return std::string("connected");
        });
        CHECK(contains(error, "cannot connect to MCP server 'bad'"));
        CHECK(contains(error, "Content-Type 'text/html"));
    }
    SUBCASE("an event stream cut in the middle of an event")
    {
        NodeServer server(mcp_script("bad_server.mjs"), strings("--mode", "cut-sse", "--http"));
        auto out = run_sync([&]() -> awaitable<Outcome> {
            const auto exec = co_await asio::this_coro::executor;
            auto p = McpToolProvider::make(exec, http_config("bad", server.port()));
            co_return co_await call_once(p, "bad__t", obj());
        });
        CHECK(contains(out.error, "MCP server 'bad'"));
        CHECK(contains(out.error, "closed the event stream of request 3 before answering it"));
    }
    SUBCASE("a server that never answers")
    {
        NodeServer server(mcp_script("bad_server.mjs"), strings("--mode", "no-answer", "--http"));
        auto config = http_config("bad", server.port());
        config.servers[0].call_timeout = std::chrono::seconds(1);
        auto out = run_sync([&]() -> awaitable<Outcome> {
            const auto exec = co_await asio::this_coro::executor;
            auto p = McpToolProvider::make(exec, config);
            co_return co_await call_once(p, "bad__t", obj());
        });
        CHECK(out.error == "MCP server 'bad' did not answer tools/call within 1 s");
    }
}

TEST_CASE("mcp faults: a provider dropped without close() still stops its server")
{
    // The marker only names this test's server among the processes.
    ScratchFile marker;
    run_sync([&]() -> awaitable<void> {
        const auto exec = co_await asio::this_coro::executor;
        auto p = McpToolProvider::make(exec, bad_stdio("ok", {"--crash-once", marker.path}));
        co_await p->connect();
        CHECK(count_processes_with_cmdline(marker.path) == 1);
        // No close(): the destructor closes it in the background.
    });
    CHECK(processes_left_with_cmdline(marker.path) == 0);
}
