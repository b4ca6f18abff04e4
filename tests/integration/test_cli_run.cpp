// `stirrup run` end to end: the real binary, run as a child process, against
// the fake OpenAI server over TLS (trusted with --ca-file), the offline demo
// model, and signals.

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "stirrup/exec/local/detail/child_process.hpp"
#include "support/cli_process.hpp"
#include "support/fake_openai.hpp"
#include "support/processes.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::detail::ChildProcessResult;
using stirrup::test::FakeOpenAi;
using stirrup::test::run_sync;
using stirrup::test::test_certs;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The environment minus everything that would point the CLI at a real model
// or a proxy: every test says what it uses.
std::vector<std::string> hermetic_env(const std::vector<std::string>& extra = {})
{
    static const std::set<std::string> dropped = {
        "OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL", "STIRRUP_MODEL", "HTTPS_PROXY",
        "https_proxy",    "HTTP_PROXY",         "http_proxy",      "ALL_PROXY",     "all_proxy"};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string kv = *e;
        if (!dropped.count(kv.substr(0, kv.find('='))))
            env.push_back(kv);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

ChildProcessResult stirrup_run(std::vector<std::string> args, std::vector<std::string> env = hermetic_env(),
                               std::function<void(int)> on_spawn = {})
{
    args.insert(args.begin(), "run");
    return test::run_stirrup(args, std::move(env), std::chrono::seconds(120), std::move(on_spawn));
}

// --base-url, --api-key, --model and --ca-file for `fake`, then `more`.
std::vector<std::string> against(const FakeOpenAi& fake, std::vector<std::string> more)
{
    std::vector<std::string> args = {"--base-url", fake.base_url(), "--api-key", "sk-cli-test",
                                     "--model",    "gpt-cli-test",  "--ca-file", test_certs().ca_cert.string()};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        out.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

// stdout must be exactly one line holding one JSON object.
json::object summary_of(const ChildProcessResult& r)
{
    const auto lines = lines_of(r.stdout_text);
    REQUIRE_MESSAGE(lines.size() == 1, "stdout: " << r.stdout_text << "\nstderr: " << r.stderr_text);
    REQUIRE(r.stdout_text.back() == '\n');
    return json::parse(lines[0]).as_object();
}

std::set<std::string> keys_of(const json::object& o)
{
    std::set<std::string> out;
    for (const auto& kv : o)
        out.insert(std::string(kv.key()));
    return out;
}

std::string read_file(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Text of a recorded message's content (a string, or text parts).
std::string text_of(const json::value& content)
{
    if (content.is_string())
        return std::string(content.as_string());
    std::string out;
    for (const auto& part : content.as_array())
        if (part.at("type") == "text")
            out += part.at("text").as_string();
    return out;
}

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() / ("stirrup-cli-run-" + name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::string> env_entries_of(const fs::path& dir)
{
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind("local_exec_env_", 0) == 0)
            out.push_back(e.path().string());
    return out;
}

} // namespace

TEST_CASE("stirrup run: a scripted model writes a file and finishes; --json prints the summary")
{
    FakeOpenAi fake(R"({"api_key": "sk-cli-test", "steps": [
        {"completion": {"content": "Writing it.",
                        "tool_calls": [{"id": "call_w", "name": "code_exec",
                                        "arguments": {"cmd": "mkdir -p notes && printf 'hello from the agent\\n' > notes/hello.txt"}}],
                        "usage": {"prompt_tokens": 500, "completion_tokens": 40}}},
        {"completion": {"tool_calls": [{"id": "call_f", "name": "finish",
                                        "arguments": {"reason": "wrote notes/hello.txt", "paths": ["notes/hello.txt"]}}],
                        "usage": {"prompt_tokens": 700, "completion_tokens": 30,
                                  "completion_tokens_details": {"reasoning_tokens": 12}}}}
    ]})");
    TempDir dir("finish");
    const auto out = dir.path / "out";
    auto r = stirrup_run(against(fake, {"--json", "--output", out.string(), "Write a greeting to notes/hello.txt"}));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    CHECK(read_file(out / "notes/hello.txt") == "hello from the agent\n");

    const auto s = summary_of(r);
    CHECK(keys_of(s) == std::set<std::string>{"finished", "finish", "output_files", "turns", "token_usage"});
    CHECK(s.at("finished") == true);
    CHECK(s.at("finish") == json::parse(R"({"reason": "wrote notes/hello.txt", "paths": ["notes/hello.txt"]})"));
    CHECK(s.at("turns") == 2);
    CHECK(s.at("token_usage") == json::parse(R"({"input": 1200, "answer": 58, "reasoning": 12})"));
    const auto& files = s.at("output_files").as_object();
    CHECK(keys_of(files) == std::set<std::string>{"saved", "failed"});
    CHECK(files.at("failed").as_object().empty());
    REQUIRE(files.at("saved").as_array().size() == 1);
    const auto& saved = files.at("saved").at(0).as_object();
    CHECK(keys_of(saved) == std::set<std::string>{"source", "path", "size"});
    CHECK(saved.at("source") == "notes/hello.txt");
    CHECK(fs::equivalent(std::string(saved.at("path").as_string()), out / "notes/hello.txt"));
    CHECK(saved.at("size") == 21);

    // What the CLI sent: the model, the key, and the command's result going back.
    const auto reqs = fake.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].at("body").at("model") == "gpt-cli-test");
    CHECK(reqs[0].at("headers").at("authorization") == "Bearer sk-cli-test");
    const auto& messages = reqs[1].at("body").at("messages").as_array();
    const auto& tool_message = messages.back();
    CHECK(tool_message.at("role") == "tool");
    CHECK(tool_message.at("tool_call_id") == "call_w");
    CHECK(text_of(tool_message.at("content")).find("<exit_code>0</exit_code>") != std::string::npos);
}

TEST_CASE("stirrup run: max turns ran out -> exit 2, finished false")
{
    FakeOpenAi fake(
        R"({"steps": [], "forever": {"completion": {"tool_calls": [{"name": "code_exec", "arguments": {"cmd": "true"}}]}}})");
    auto r = stirrup_run(against(fake, {"--json", "--max-turns", "3", "Never finish"}));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 2);
    const auto s = summary_of(r);
    CHECK(s.at("finished") == false);
    CHECK(s.at("finish").is_null());
    CHECK(s.at("output_files").is_null());
    CHECK(s.at("turns") == 3);
    CHECK(fake.requests().size() == 3);
    CHECK(r.stderr_text.find("did not finish within 3 turns") != std::string::npos);
}

TEST_CASE("stirrup run: the API refusing the key -> exit 1 with one clear line; set_scenario and stats")
{
    FakeOpenAi fake(R"([{"completion": {"content": "unused"}}])");
    fake.set_scenario(R"({"steps": [{"error": {"status": 401}}, {"completion": {"content": "never reached"}}]})");
    auto r = stirrup_run(against(fake, {"--json", "Do anything"}));
    CHECK(r.exit_code == 1);
    CHECK(r.stdout_text.empty());
    INFO("stderr: " << r.stderr_text);
    const auto lines = lines_of(r.stderr_text);
    REQUIRE(!lines.empty());
    const auto& last = lines.back();
    CHECK(last.rfind("stirrup: error: ", 0) == 0);
    CHECK(last.find("401") != std::string::npos);
    CHECK(last.find("Incorrect API key provided") != std::string::npos);
    // 401 is not retried: one step used, the second left.
    const auto stats = fake.stats();
    CHECK(stats.at("steps_used") == 1);
    CHECK(stats.at("steps_left") == 1);
}

TEST_CASE("stirrup run: --input files (and globs) are uploaded and listed in the system prompt")
{
    TempDir dir("input");
    fs::create_directories(dir.path / "data");
    std::ofstream(dir.path / "data/a.csv") << "x\n1\n";
    std::ofstream(dir.path / "data/b.csv") << "x\n2\n";
    std::ofstream(dir.path / "notes.txt") << "read me\n";
    FakeOpenAi fake(R"([
        {"completion": {"tool_calls": [{"name": "code_exec", "arguments": {"cmd": "cat a.csv b.csv notes.txt"}}]}},
        {"completion": {"tool_calls": [{"name": "finish", "arguments": {"reason": "read them", "paths": []}}]}}])");
    auto r = stirrup_run(against(fake, {"--input", (dir.path / "data/*.csv").string(), "--input",
                                        (dir.path / "notes.txt").string(), "Summarise the inputs"}));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    CHECK(r.stdout_text.empty()); // without --json, stdout stays empty
    const auto reqs = fake.requests();
    REQUIRE(reqs.size() == 2);
    const auto& first = reqs[0].at("body").at("messages").at(0);
    CHECK(first.at("role") == "system");
    const auto prompt = text_of(first.at("content"));
    CHECK(prompt.find("The following input files have been provided for this task:") != std::string::npos);
    CHECK(prompt.find("\n- a.csv") != std::string::npos);
    CHECK(prompt.find("\n- b.csv") != std::string::npos);
    CHECK(prompt.find("\n- notes.txt") != std::string::npos);
    CHECK(text_of(reqs[0].at("body").at("messages").at(1).at("content")) == "Summarise the inputs");
    // The model saw the files' contents through code_exec.
    const auto tool_out = text_of(reqs[1].at("body").at("messages").as_array().back().at("content"));
    CHECK(tool_out.find("x\n1\nx\n2\nread me\n") != std::string::npos);
}

TEST_CASE("stirrup run --demo: the offline scripted model end to end")
{
    TempDir dir("demo");
    const auto out = dir.path / "output";
    auto r = stirrup_run({"--demo", "--json", "--output", out.string(), "Show me what you can do"});
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    CHECK(r.stderr_text.find("offline demo model: scripted responses, not an LLM") != std::string::npos);
    const auto report = read_file(out / "report.md");
    CHECK(report.find("# Primes below 200") != std::string::npos);
    CHECK(report.find("- count: 46") != std::string::npos);
    CHECK(fs::exists(out / "primes.py"));
    const auto s = summary_of(r);
    CHECK(s.at("finished") == true);
    CHECK(s.at("turns") == 3);
    CHECK(s.at("output_files").at("saved").as_array().size() == 2);
    CHECK(s.at("token_usage").at("input").to_number<int>() > 0);
    CHECK(s.at("token_usage").at("answer").to_number<int>() > 0);
}

TEST_CASE("stirrup run: SIGINT or SIGTERM during a command -> exit 130, nothing left behind")
{
    for (const int sig : {SIGINT, SIGTERM}) {
        CAPTURE(sig);
        TempDir base(std::string("signal-") + std::to_string(sig));
        // A command line no other test runs, to find (and miss) its process by.
        const std::string sleeper = "sleep " + std::to_string(200000 + ::getpid() % 100000) + "." + std::to_string(sig);
        FakeOpenAi fake(R"([{"completion": {"tool_calls": [{"name": "code_exec", "arguments": {"cmd": ")" + sleeper +
                        R"("}}]}}, {"completion": {"content": "never reached"}}])");
        std::atomic<int> pid{0};
        bool saw_command = false;
        std::thread interrupter([&] {
            // Bounded wait for the command to start; then interrupt the CLI.
            for (int i = 0; i < 600; ++i) {
                if (pid.load() > 0 && test::count_processes_with_cmdline(sleeper) > 0) {
                    saw_command = true;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            if (pid.load() > 0)
                ::kill(pid.load(), sig);
        });
        auto r = stirrup_run(against(fake, {"--json", "--temp-base-dir", base.path.string(), "Wait a long time"}),
                             hermetic_env(), [&](int p) { pid.store(p); });
        interrupter.join();
        INFO("stderr: " << r.stderr_text);
        CHECK(saw_command);
        CHECK(r.exit_code == 130);
        CHECK(r.stdout_text.empty());
        CHECK(test::processes_left_with_cmdline(sleeper) == 0);
        CHECK(env_entries_of(base.path).empty());
        CHECK(fake.requests().size() == 1);
    }
}

TEST_CASE("stirrup run: usage and configuration errors exit 1 with one line")
{
    struct Case {
        std::vector<std::string> args;
        std::vector<std::string> env;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"--demo", "--backend", "docker", "x"},
         {},
         "--backend docker needs exactly one of --image NAME and --dockerfile PATH"},
        {{"--demo", "--backend", "e2b", "--temp-base-dir", "d", "x"},
         {},
         "--temp-base-dir has no effect with --backend e2b"},
        {{"--demo", "--backend", "vm", "x"}, {}, "unknown backend 'vm'"},
        {{"--demo"}, {}, "no task given"},
        {{"--demo", "two", "words"}, {}, "give the task as one argument"},
        {{"--demo", "--bogus", "x"}, {}, "unknown option '--bogus'"},
        {{"--demo", "--max-turns", "0", "x"}, {}, "--max-turns needs a positive whole number"},
        {{"--demo", "--model", "m", "x"}, {}, "--model has no effect with --demo"},
        {{"--demo", "--idle-timeout", "5", "x"}, {}, "--idle-timeout has no effect with --demo"},
        {{"--demo", "--request-timeout", "5", "x"}, {}, "--request-timeout has no effect with --demo"},
        {{"--idle-timeout", "0", "x"}, {}, "--idle-timeout needs a positive number of seconds, got '0'"},
        {{"--request-timeout", "soon", "x"}, {}, "--request-timeout needs a positive number of seconds, got 'soon'"},
        {{"--api-key", "k", "x"}, {}, "no model: pass --model NAME or set STIRRUP_MODEL"},
        {{"--model", "m", "x"}, {}, "no API key"},
        {{"--api-key", "k", "--context-window", "1000", "--max-tokens", "2000", "x"},
         {"STIRRUP_MODEL=m"},
         "max_tokens (2000) must not exceed context_window_tokens (1000)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.message);
        auto r = stirrup_run(c.args, hermetic_env(c.env));
        CHECK(r.exit_code == 1);
        CHECK(r.stdout_text.empty());
        const auto lines = lines_of(r.stderr_text);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].rfind("stirrup: error: ", 0) == 0);
        CHECK(lines[0].find(c.message) != std::string::npos);
    }
}

TEST_CASE("stirrup run: the model and key come from the environment; an unreachable endpoint is an error")
{
    FakeOpenAi fake(R"({"api_key": "sk-from-env", "steps": [
        {"completion": {"tool_calls": [{"name": "finish", "arguments": {"reason": "ok", "paths": []}}]}}]})");
    auto r = stirrup_run({"--ca-file", test_certs().ca_cert.string(), "--json", "Finish at once"},
                         hermetic_env({"OPENAI_BASE_URL=" + fake.base_url(), "OPENAI_API_KEY=sk-other",
                                       "OPENROUTER_API_KEY=sk-from-env", "STIRRUP_MODEL=env-model"}));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    CHECK(summary_of(r).at("finished") == true);
    const auto reqs = fake.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].at("body").at("model") == "env-model");
    CHECK(reqs[0].at("headers").at("authorization") == "Bearer sk-from-env");

    // Without --ca-file the test CA is not trusted: a TLS failure, exit 1.
    r = stirrup_run({"--base-url", fake.base_url(), "--api-key", "k", "--model", "m", "Finish at once"});
    CHECK(r.exit_code == 1);
    CHECK(lines_of(r.stderr_text).back().rfind("stirrup: error: ", 0) == 0);
}

TEST_CASE("stirrup run: a model server that never answers fails the run within seconds with --idle-timeout or "
          "--request-timeout, naming which")
{
    struct Case {
        std::vector<std::string> flags;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"--idle-timeout", "1"}, "reading the response header: no data from the server for 1 s (the idle timeout)"},
        {{"--request-timeout", "1.5", "--idle-timeout", "100"},
         "reading the response header: the request timeout ran out"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.message);
        // Accepts each request and never answers, three attempts in a row.
        FakeOpenAi fake(R"([{"hang": true}, {"hang": true}, {"hang": true}, {"completion": {"content": "never"}}])");
        std::vector<std::string> args = c.flags;
        args.insert(args.end(), {"--json", "Do anything"});
        const auto started = std::chrono::steady_clock::now();
        auto r = stirrup_run(against(fake, args));
        const auto took = std::chrono::steady_clock::now() - started;
        INFO("stderr: " << r.stderr_text);
        CHECK(r.exit_code == 1);
        CHECK(r.stdout_text.empty());
        const auto lines = lines_of(r.stderr_text);
        REQUIRE(!lines.empty());
        CHECK(lines.back().rfind("stirrup: error: ", 0) == 0);
        CHECK(lines.back().find(c.message) != std::string::npos);
        // Three attempts of a second or so and two backoffs; the defaults
        // would hold the run for minutes.
        CHECK(took < std::chrono::seconds(45));
        CHECK(fake.stats().at("steps_used") == 3);
    }
}

TEST_CASE("stirrup run --mcp-config: the servers' tools are offered and called, --mcp-server selects")
{
    FakeOpenAi fake(R"({"api_key": "sk-cli-test", "steps": [
        {"completion": {"tool_calls": [{"id": "call_e", "name": "everything__echo", "arguments": {"message": "via the CLI"}}]}},
        {"completion": {"tool_calls": [{"id": "call_f", "name": "finish", "arguments": {"reason": "echoed", "paths": []}}]}}
    ]})");
    TempDir dir("mcp");
    const std::string mcp_dir = std::string(STIRRUP_SOURCE_DIR) + "/tests/fakes/mcp/";
    const auto config = dir.path / "mcp.json";
    std::ofstream(config) << R"({"mcpServers": {
        "everything": {"command": "node", "args": [")"
                          << mcp_dir << R"(everything.mjs", "stdio"]},
        "unused": {"command": "/nonexistent/never-started"}}})";
    auto r =
        stirrup_run(against(fake, {"--mcp-config", config.string(), "--mcp-server", "everything", "Echo something"}));
    INFO("stderr: " << r.stderr_text);
    CHECK(r.exit_code == 0);
    const auto reqs = fake.requests();
    REQUIRE(reqs.size() == 2);
    std::set<std::string> offered;
    for (const auto& t : reqs[0].at("body").at("tools").as_array())
        offered.insert(std::string(t.at("function").at("name").as_string()));
    CHECK(offered.count("everything__echo") == 1);
    CHECK(offered.count("code_exec") == 1);
    CHECK(json::serialize(reqs[1].at("body").at("messages")).find("Echo: via the CLI") != std::string::npos);

    auto bad = stirrup_run(against(fake, {"--mcp-server", "everything", "x"}));
    CHECK(bad.exit_code == 1);
    CHECK(bad.stderr_text.find("--mcp-server needs --mcp-config PATH") != std::string::npos);
    auto missing = stirrup_run(against(fake, {"--mcp-config", config.string(), "--mcp-server", "nope", "x"}));
    CHECK(missing.exit_code == 1);
    CHECK(missing.stderr_text.find("Server 'nope' not found in config. Available: ['everything', 'unused']") !=
          std::string::npos);
}
