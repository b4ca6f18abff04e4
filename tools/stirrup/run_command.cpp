#include "run_command.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "backend_args.hpp"
#include "cli_args.hpp"
#include "demo_model.hpp"
#include "stirrup/agent/agent.hpp"
#include "stirrup/agent/console_logger.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/tools/mcp/mcp_tool_provider.hpp"

namespace stirrup::cli {
namespace asio = boost::asio;
namespace json = boost::json;

const char* const run_usage = R"(usage: stirrup run [options] [--] TASK

Runs an agent on TASK: the model calls code_exec in a fresh execution
environment until it calls finish; the finish paths are saved to --output.

model (defaults from the environment):
  --base-url URL        OpenAI-compatible endpoint (OPENAI_BASE_URL, else https://api.openai.com/v1)
  --api-key KEY         (OPENROUTER_API_KEY, else OPENAI_API_KEY)
  --model NAME          (STIRRUP_MODEL)
  --context-window N    the model's context window in tokens (128000)
  --max-tokens N        most tokens per answer (64000, at most half the context window)
  --ca-file PATH        extra CA certificates (PEM) to trust
  --request-timeout S   seconds one attempt at a model request may take (600)
  --idle-timeout S      seconds without data from the model's server before an
                        attempt fails (120); a request gets 3 attempts
  --demo                an offline scripted model instead (not an LLM; no key, no network)
files:
  --input PATH|GLOB     upload into the environment before the run (repeatable)
  --output DIR          save the files the agent lists in finish here
tools:
  --mcp-config PATH     add the tools of the MCP servers in PATH (mcp.json:
                        {"mcpServers": {NAME: {...}}}), named NAME__TOOL
  --mcp-server NAME     only this server of --mcp-config (repeatable)
agent:
  --max-turns N         (30)
  --system-prompt TEXT  instructions appended to the system prompt
output:
  --json                print one JSON summary line on stdout (logs go to stderr)

exit status: 0 finished, 2 max turns ran out, 1 error, 130 interrupted
)";

namespace {

constexpr std::int64_t default_context_window = 128'000;
constexpr std::int64_t default_max_tokens = 64'000;

struct RunArgs {
    std::optional<std::string> base_url;
    std::optional<std::string> api_key;
    std::optional<std::string> model;
    std::optional<std::int64_t> context_window;
    std::optional<std::int64_t> max_tokens;
    std::optional<std::string> ca_file;
    std::optional<Milliseconds> request_timeout;
    std::optional<Milliseconds> idle_timeout;
    BackendArgs env;
    std::vector<std::string> inputs;
    std::optional<std::string> output;
    int max_turns = default_max_turns;
    std::optional<std::string> system_prompt;
    std::optional<std::string> mcp_config;
    std::vector<std::string> mcp_servers;
    bool json = false;
    bool demo = false;
    std::string task;
};

std::optional<std::string> env(const char* name)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        return std::nullopt;
    return std::string(v);
}

void check_demo(const RunArgs& a)
{
    // The demo model ignores these; accepting them silently would hide a mistake.
    const std::pair<const char*, bool> model_flags[] = {{"--base-url", a.base_url.has_value()},
                                                        {"--api-key", a.api_key.has_value()},
                                                        {"--model", a.model.has_value()},
                                                        {"--context-window", a.context_window.has_value()},
                                                        {"--max-tokens", a.max_tokens.has_value()},
                                                        {"--ca-file", a.ca_file.has_value()},
                                                        {"--request-timeout", a.request_timeout.has_value()},
                                                        {"--idle-timeout", a.idle_timeout.has_value()}};
    for (const auto& [flag, given] : model_flags)
        if (given)
            throw UsageError(std::string(flag) + " has no effect with --demo (the demo model is offline)");
}

RunArgs parse(const std::vector<std::string>& args)
{
    RunArgs a;
    std::vector<std::string> positional;
    std::size_t i = 0;
    auto value = [&](const std::string& flag) -> const std::string& {
        if (i + 1 >= args.size())
            throw UsageError(flag + " needs a value");
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            positional.insert(positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (arg == "--base-url")
            a.base_url = value(arg);
        else if (arg == "--api-key")
            a.api_key = value(arg);
        else if (arg == "--model")
            a.model = value(arg);
        else if (arg == "--context-window")
            a.context_window = parse_positive(arg, value(arg));
        else if (arg == "--max-tokens")
            a.max_tokens = parse_positive(arg, value(arg));
        else if (arg == "--ca-file")
            a.ca_file = value(arg);
        else if (arg == "--request-timeout")
            a.request_timeout = parse_seconds(arg, value(arg));
        else if (arg == "--idle-timeout")
            a.idle_timeout = parse_seconds(arg, value(arg));
        else if (parse_backend_flag(args, i, a.env))
            continue;
        else if (arg == "--input")
            a.inputs.push_back(value(arg));
        else if (arg == "--output")
            a.output = value(arg);
        else if (arg == "--max-turns")
            a.max_turns = static_cast<int>(std::min<std::int64_t>(parse_positive(arg, value(arg)), 1'000'000));
        else if (arg == "--system-prompt")
            a.system_prompt = value(arg);
        else if (arg == "--mcp-config")
            a.mcp_config = value(arg);
        else if (arg == "--mcp-server")
            a.mcp_servers.push_back(value(arg));
        else if (arg == "--json")
            a.json = true;
        else if (arg == "--demo")
            a.demo = true;
        else if (arg.size() > 1 && arg[0] == '-')
            throw UsageError("unknown option '" + arg + "'");
        else
            positional.push_back(arg);
    }
    if (positional.empty())
        throw UsageError("no task given: stirrup run [options] TASK");
    if (positional.size() > 1)
        throw UsageError("give the task as one argument (quote it); got " + std::to_string(positional.size()) +
                         " words");
    a.task = positional.front();
    if (!a.mcp_servers.empty() && !a.mcp_config)
        throw UsageError("--mcp-server needs --mcp-config PATH");
    check_backend_args(a.env);
    if (a.demo)
        check_demo(a);
    return a;
}

std::shared_ptr<LlmClient> make_client(asio::any_io_executor ex, const RunArgs& a)
{
    if (a.demo)
        return std::make_shared<DemoModel>();
    ChatCompletionsOptions o;
    o.model = a.model ? *a.model : env("STIRRUP_MODEL").value_or("");
    if (o.model.empty())
        throw UsageError("no model: pass --model NAME or set STIRRUP_MODEL (or try --demo)");
    if (!a.api_key && !env("OPENROUTER_API_KEY") && !env("OPENAI_API_KEY"))
        throw UsageError("no API key: pass --api-key KEY or set OPENROUTER_API_KEY or OPENAI_API_KEY (or try --demo)");
    o.api_key = a.api_key;
    o.base_url = a.base_url;
    o.timeout = a.request_timeout;
    o.idle_timeout = a.idle_timeout;
    o.context_window_tokens = a.context_window.value_or(default_context_window);
    // Half the window by default, so a small --context-window alone is valid.
    o.max_tokens = a.max_tokens.value_or(std::min(default_max_tokens, o.context_window_tokens / 2));
    if (o.max_tokens <= 0)
        o.max_tokens = 1;
    net::HttpClientOptions http;
    http.tls.ca_file = a.ca_file;
    return std::make_shared<ChatCompletionsClient>(std::make_shared<net::HttpClient>(ex, http), o);
}

std::shared_ptr<McpToolProvider> make_mcp(asio::any_io_executor ex, const RunArgs& a)
{
    McpOptions o;
    // Warnings and errors of the servers (their stderr is info: too chatty).
    o.log = [](LogLevel level, std::string_view server, std::string_view text) {
        if (level == LogLevel::warning || level == LogLevel::error)
            std::cerr << "stirrup: mcp " << server << ": " << text << '\n';
    };
    o.http.tls.ca_file = a.ca_file;
    return McpToolProvider::from_config(std::move(ex), *a.mcp_config, a.mcp_servers, std::move(o));
}

Agent make_agent(asio::any_io_executor ex, std::shared_ptr<LlmClient> client, const RunArgs& a)
{
    std::vector<ToolSource> tools{make_tool_provider(a.env)};
    if (a.mcp_config)
        tools.emplace_back(make_mcp(std::move(ex), a));
    AgentOptions options;
    options.tools = std::move(tools);
    options.max_turns = a.max_turns;
    options.system_prompt = a.system_prompt;
    options.logger = std::make_shared<ConsoleLogger>(); // stderr: stdout is kept for --json
    return Agent{std::move(client), "stirrup", std::move(options)};
}

struct Outcome {
    RunResult result;
    std::optional<SaveOutputFilesResult> output_files;
};

awaitable<Outcome> run_agent(const Agent& agent, SessionOptions options, const std::string& task)
{
    auto r = co_await agent.run_session(std::move(options), [&task](Session& s) { return s.run(task); });
    co_return Outcome{std::move(r.value), std::move(r.output_files)};
}

json::object summary_json(const Outcome& o)
{
    json::object out;
    out["finished"] = o.result.finished();
    out["finish"] = o.result.finish ? json::value(o.result.finish->params) : json::value(nullptr);
    if (o.output_files) {
        json::array saved;
        for (const auto& f : o.output_files->saved)
            saved.push_back(json::object{{"source", f.source_path}, {"path", f.output_path}, {"size", f.size}});
        json::object failed;
        for (const auto& [src, reason] : o.output_files->failed)
            failed[src] = reason;
        out["output_files"] = json::object{{"saved", std::move(saved)}, {"failed", std::move(failed)}};
    } else {
        out["output_files"] = nullptr;
    }
    out["turns"] = o.result.turns;
    const TokenUsage usage = o.result.metadata.total_tokens();
    out["token_usage"] = json::object{{"input", usage.input}, {"answer", usage.answer}, {"reasoning", usage.reasoning}};
    return out;
}

// Exception texts may span lines (an API error body); the CLI promises one.
std::string one_line(std::string text)
{
    for (auto& c : text)
        if (c == '\n' || c == '\r')
            c = ' ';
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    return text;
}

int report(const RunArgs& a, const Outcome& o)
{
    if (o.output_files)
        for (const auto& [src, reason] : o.output_files->failed)
            std::cerr << "stirrup: warning: output file '" << src << "' not saved: " << one_line(reason) << '\n';
    if (!o.result.finished())
        std::cerr << "stirrup: the agent did not finish within " << a.max_turns << " turns\n";
    if (a.json)
        std::cout << json::serialize(summary_json(o)) << '\n' << std::flush;
    return o.result.finished() ? 0 : 2;
}

int fail(const std::string& message)
{
    std::cerr << "stirrup: error: " << one_line(message) << '\n';
    return 1;
}

} // namespace

int run_command(const std::vector<std::string>& args)
{
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << run_usage << backend_usage();
        return 0;
    }
    RunArgs parsed;
    try {
        parsed = parse(args);
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    if (parsed.demo)
        std::cerr << demo_banner << '\n';

    asio::io_context io;
    std::optional<Agent> agent;
    try {
        agent.emplace(make_agent(io.get_executor(), make_client(io.get_executor(), parsed), parsed));
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    SessionOptions session;
    if (parsed.output)
        session.output_dir = *parsed.output;
    session.input_files = parsed.inputs;

    // The first SIGINT/SIGTERM cancels the run: the running command's process
    // group is killed and the environment removed before the exit. A second
    // one exits at once, for a teardown that hangs.
    asio::cancellation_signal cancel;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    bool interrupted = false;
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int) {
        if (ec)
            return;
        if (interrupted) {
            std::cerr << "stirrup: interrupted again: exiting without cleanup\n";
            std::_Exit(130);
        }
        interrupted = true;
        std::cerr << "stirrup: interrupted: stopping the run and cleaning up\n";
        cancel.emit(asio::cancellation_type::terminal);
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    int status = 1;
    asio::co_spawn(io, run_agent(*agent, std::move(session), parsed.task),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, Outcome o) {
                       signals.cancel();
                       if (interrupted) {
                           status = 130;
                           return;
                       }
                       if (!e) {
                           status = report(parsed, o);
                           return;
                       }
                       try {
                           std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                           status = fail(ex.what());
                       } catch (...) {
                           status = fail("unknown failure");
                       }
                   }));
    io.run();
    return status;
}

} // namespace stirrup::cli
