// stirrup-cpp's side of the MCP client benchmark (bench/run-mcp-bench.sh runs
// it next to the official TypeScript SDK's client, tests/fakes/mcp/sdk_bench.mjs,
// with the same arguments and output): ONE provider, so one server
// connection, shared by --sessions concurrent sessions, each making
// --calls-per-session sequential calls through the agent's own path (schema
// check, tools/call, result conversion).
//
//   mcp_bench --transport stdio -- node tests/fakes/mcp/everything.mjs stdio [options before --]
//   mcp_bench --transport http --url http://127.0.0.1:PORT/mcp
//             [--sessions 100] [--calls-per-session 20] [--tool echo] [--args '{"message":"hi"}'] [--warmup 100]
//
// Prints one JSON line: calls, seconds, calls_per_second, cpu_user_ms,
// cpu_system_ms, cpu_ms_per_call (this process only, not the server),
// errors, latency_p50_ms, latency_p99_ms, transport, sessions,
// calls_per_session, tool.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "stirrup/tools/mcp/mcp_tool_provider.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace stirrup;

namespace {

struct Args {
    std::string transport;
    std::vector<std::string> command;
    std::string url;
    int sessions = 100;
    int calls_per_session = 20;
    std::string tool = "echo";
    json::object args{{"message", "hi"}};
    int warmup = 100;
};

Args parse(int argc, char** argv)
{
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&] {
            if (i + 1 >= argc)
                throw std::runtime_error(arg + " needs a value");
            return std::string(argv[++i]);
        };
        if (arg == "--") {
            for (++i; i < argc; ++i)
                a.command.emplace_back(argv[i]);
            break;
        } else if (arg == "--transport")
            a.transport = value();
        else if (arg == "--url")
            a.url = value();
        else if (arg == "--sessions")
            a.sessions = std::stoi(value());
        else if (arg == "--calls-per-session")
            a.calls_per_session = std::stoi(value());
        else if (arg == "--tool")
            a.tool = value();
        else if (arg == "--args")
            a.args = json::parse(value()).as_object();
        else if (arg == "--warmup")
            a.warmup = std::stoi(value());
        else
            throw std::runtime_error("unknown argument " + arg);
    }
    if (a.transport != "stdio" && a.transport != "http")
        throw std::runtime_error("--transport stdio|http");
    if (a.transport == "stdio" && a.command.empty())
        throw std::runtime_error("stdio needs -- COMMAND...");
    if (a.transport == "http" && a.url.empty())
        throw std::runtime_error("http needs --url");
    return a;
}

double cpu_ms(const timeval& t)
{
    return t.tv_sec * 1000.0 + t.tv_usec / 1000.0;
}

class NullContext : public ToolContext {
public:
    CodeExecProvider* exec_env() const override { return nullptr; }
    int depth() const override { return 0; }
};

struct Run {
    std::vector<double> latencies_ms;
    int errors = 0;
};

asio::awaitable<void> session(const Tool& tool, const json::object& args, int calls, Run& run)
{
    NullContext ctx;
    for (int i = 0; i < calls; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        try {
            auto parsed = tool.parse_arguments(args);
            ToolResult r = co_await tool.execute(std::move(parsed), ctx);
            if (!r.success)
                ++run.errors;
        } catch (const std::exception&) {
            ++run.errors;
        }
        run.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
}

asio::awaitable<json::object> bench(Args a)
{
    auto ex = co_await asio::this_coro::executor;
    McpServerConfig server;
    server.name = "bench";
    if (a.transport == "stdio") {
        server.transport = McpTransport::stdio;
        server.command = a.command.front();
        server.args.assign(a.command.begin() + 1, a.command.end());
    } else {
        server.transport = McpTransport::streamable_http;
        server.url = a.url;
    }
    McpConfig config;
    config.servers.push_back(server);
    McpOptions options;
    options.http.pool.max_connections_per_host = 256;
    auto provider = McpToolProvider::make(ex, config, options);
    co_await provider->connect();
    const auto tools = provider->tools();
    const Tool* tool = nullptr;
    for (const auto& t : tools)
        if (t.name == "bench__" + a.tool)
            tool = &t;
    if (!tool)
        throw std::runtime_error("the server has no tool " + a.tool);

    Run warm;
    co_await session(*tool, a.args, a.warmup, warm);

    Run run;
    rusage before{};
    ::getrusage(RUSAGE_SELF, &before);
    const auto t0 = std::chrono::steady_clock::now();
    int done = 0;
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (int s = 0; s < a.sessions; ++s)
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                co_await session(*tool, a.args, a.calls_per_session, run);
                if (++done == a.sessions)
                    all_done.cancel();
            },
            asio::detached);
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage after{};
    ::getrusage(RUSAGE_SELF, &after);
    co_await provider->close();

    const double calls = static_cast<double>(run.latencies_ms.size());
    auto& l = run.latencies_ms;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, std::size_t(p * l.size()))]; };
    const double user = cpu_ms(after.ru_utime) - cpu_ms(before.ru_utime);
    const double sys = cpu_ms(after.ru_stime) - cpu_ms(before.ru_stime);
    json::object out;
    out["calls"] = calls;
    out["seconds"] = seconds;
    out["calls_per_second"] = calls / seconds;
    out["cpu_user_ms"] = user;
    out["cpu_system_ms"] = sys;
    out["cpu_ms_per_call"] = (user + sys) / calls;
    out["errors"] = run.errors;
    out["latency_p50_ms"] = pct(0.5);
    out["latency_p99_ms"] = pct(0.99);
    out["transport"] = a.transport;
    out["sessions"] = a.sessions;
    out["calls_per_session"] = a.calls_per_session;
    out["tool"] = a.tool;
    co_return out;
}

} // namespace

int main(int argc, char** argv)
{
    Args a;
    try {
        a = parse(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "mcp_bench: " << e.what() << '\n';
        return 2;
    }
    asio::io_context io;
    int status = 1;
    asio::co_spawn(io, bench(std::move(a)), [&](std::exception_ptr e, json::object out) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << "mcp_bench: " << ex.what() << '\n';
            }
            return;
        }
        std::cout << json::serialize(out) << std::endl;
        status = out.at("errors").as_int64() == 0 ? 0 : 1;
    });
    io.run();
    return status;
}
