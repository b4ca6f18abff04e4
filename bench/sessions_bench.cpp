// N concurrent sessions of one Agent on one io_context against the fake chat
// server (tests/fakes/openai/server.mjs, started by bench/run-sessions-bench.sh)
// over TLS keep-alive. Every request is answered after the configured model
// latency with the same tool call, so each session runs exactly K turns
// (max_turns = K). Prints one JSON object on stdout.
//
// usage: sessions_bench --port P --server-pid PID --ca CA.pem
//          [--sessions N=1000] [--turns K=3] [--latency-ms D=0]
//          [--tool calculator|local|docker|none] [--threads T=1]
//          [--max-in-flight M=N] [--docker-image IMG=stirrup-test:bookworm]
//          [--spawn-baseline COUNT=0] [--warmup N=min(N,8)] [--ramp-ms R=D]
//
// Session starts are spread evenly over R ms (default: the model latency), so
// that the sessions' turns do not all come back in the same instant: with
// R = 0 every answer of a round arrives together and the added latency
// measures that burst, not the framework.
// --spawn-baseline COUNT (local tool): also runs COUNT `bash -c true` through
// LocalCodeExec::run_command 64 at a time and the same COUNT as a bare
// posix_spawn + waitpid loop on as many threads as there are cores, in the
// same run, and reports both rates.

#include <dirent.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/tools/calculator_tool.hpp"

extern char** environ;

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace stirrup;

namespace {

// Runs a callable's coroutine with the callable kept alive in this frame: a
// member coroutine called on a temporary would outlive its `this`.
template <class F>
asio::awaitable<void> hold(F f)
{
    co_await f();
}

struct Config {
    int port = 0;
    int server_pid = 0;
    std::string ca;
    int sessions = 1000;
    int turns = 3;
    int latency_ms = 0;
    std::string tool = "calculator";
    int threads = 1;
    int max_in_flight = 0; // 0: = sessions
    std::string docker_image = "stirrup-test:bookworm";
    int spawn_baseline = 0;
    int warmup = -1;    // sessions run before measuring; -1: min(sessions, 8)
    int ramp_ms = -1;   // starts spread over this long; -1: the model latency
    bool plain = false; // plain HTTP to a --plain fake: what TLS costs, by difference
};

Config parse(int argc, char** argv)
{
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--port")
            c.port = std::stoi(val());
        else if (a == "--server-pid")
            c.server_pid = std::stoi(val());
        else if (a == "--ca")
            c.ca = val();
        else if (a == "--sessions")
            c.sessions = std::stoi(val());
        else if (a == "--turns")
            c.turns = std::stoi(val());
        else if (a == "--latency-ms")
            c.latency_ms = std::stoi(val());
        else if (a == "--tool")
            c.tool = val();
        else if (a == "--threads")
            c.threads = std::stoi(val());
        else if (a == "--max-in-flight")
            c.max_in_flight = std::stoi(val());
        else if (a == "--docker-image")
            c.docker_image = val();
        else if (a == "--spawn-baseline")
            c.spawn_baseline = std::stoi(val());
        else if (a == "--warmup")
            c.warmup = std::stoi(val());
        else if (a == "--ramp-ms")
            c.ramp_ms = std::stoi(val());
        else if (a == "--plain")
            c.plain = true;
        else
            throw std::runtime_error("unknown argument " + a);
    }
    if (c.port <= 0 || c.ca.empty())
        throw std::runtime_error("--port and --ca are required (run bench/run-sessions-bench.sh)");
    if (c.turns < 1 || c.sessions < 1 || c.threads < 1)
        throw std::runtime_error("sessions, turns and threads must be positive");
    if (c.max_in_flight <= 0)
        c.max_in_flight = c.sessions;
    if (c.ramp_ms < 0)
        c.ramp_ms = c.latency_ms;
    return c;
}

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double process_cpu_seconds()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The kernel's part of process_cpu_seconds: system calls, and on loopback
// also the receiving side's TCP processing, which runs in the sender.
double process_sys_cpu_seconds()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
}

// utime + stime of another process, from /proc/PID/stat.
double thread_cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double other_cpu_seconds(int pid)
{
    if (pid <= 0)
        return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return 0;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    // Fields after the name start at 3 (state); utime is 14, stime 15.
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14)
            utime = std::stod(field);
        if (i == 15)
            stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib()
{
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// What the process holds now, as opposed to RSS, which keeps the high-water
// mark of transient allocations (the handshakes) in a fragmented heap.
long heap_in_use_kib()
{
    const struct mallinfo2 m = ::mallinfo2();
    return static_cast<long>((m.uordblks + m.hblkhd) / 1024);
}

long peak_rss_kib()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0)
            return std::atol(line.c_str() + 6);
    return 0;
}

int count_dir(const char* path)
{
    int n = 0;
    if (DIR* d = opendir(path)) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.')
                ++n;
        closedir(d);
    }
    return n;
}

// Children of this process still alive (or unreaped), over all threads.
int child_processes()
{
    int n = 0;
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
        std::ifstream in(task.path() / "children");
        for (int pid; in >> pid;)
            ++n;
    }
    return n;
}

double percentile(std::vector<double>& v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    return v[i];
}

struct Sample {
    double t;
    long rss_kib;
    int fds;
    int live;
    long heap_kib; ///< bytes malloc has handed out and not had back
};

struct Shared {
    std::mutex mutex;
    std::vector<double> added_ms; ///< per turn, over the configured latency
    /// The two parts of added_ms: the model call beyond the latency (request
    /// body, TLS, loopback, the fake server, response parsing), and the time
    /// from one answer to the next request (the tool and the run loop).
    std::vector<double> call_ms;
    std::vector<double> between_ms;
    /// added_ms less the fake's own time for that turn's request (it reports
    /// it in the completion id): what this process and the loopback add.
    std::vector<double> client_ms;
    std::vector<std::string> errors;
    std::atomic<int> live{0};
    std::atomic<int> done{0};
    std::atomic<long> turns{0};
    std::atomic<bool> finished{false};
    std::vector<Sample> samples;
    double model_wait_total = 0;
    /// One completed session's history, sized after the measured phase
    /// (every session runs the same scenario, so one stands for all).
    std::optional<std::vector<std::vector<ChatMessage>>> sample_history;
    /// CPU the sampler itself spent (reading /proc), taken out of cpu_s.
    double sampler_cpu_s = 0;
};

// The fake's time for a request, from the id it gave the completion
// ("...-t<ms>", scenario step timing_id); 0 when absent.
double served_ms(const std::optional<std::string>& id)
{
    if (!id)
        return 0;
    const auto at = id->rfind("-t");
    if (at == std::string::npos)
        return 0;
    try {
        return std::stod(id->substr(at + 2));
    } catch (const std::exception&) {
        return 0;
    }
}

// The messages of a run's last model request (everything before its last
// assistant message) as chat JSON: the largest history the session held
// while waiting on the model.
std::size_t last_request_history_bytes(const std::vector<std::vector<ChatMessage>>& history)
{
    if (history.empty())
        return 0;
    std::vector<ChatMessage> sent;
    for (std::size_t g = 0; g + 1 < history.size(); ++g)
        sent.insert(sent.end(), history[g].begin(), history[g].end());
    const auto& live = history.back();
    std::size_t upto = live.size();
    while (upto > 0 && !std::holds_alternative<AssistantMessage>(live[upto - 1]))
        --upto;
    if (upto > 0)
        --upto;
    sent.insert(sent.end(), live.begin(), live.begin() + static_cast<std::ptrdiff_t>(upto));
    return stirrup::detail::chat::messages_to_json(sent).size();
}

// Turn i lasts from its model request to the next one; the last turn to the
// end of its last tool call. What exceeds the model latency is added latency:
// the tool, the framework, TLS and the loopback.
void record_turns(const RunResult& r, double latency_s, Shared& shared)
{
    std::vector<double> starts, ends, served;
    double last_tool_end = 0;
    for (const auto& group : r.history)
        for (const auto& m : group) {
            if (const auto* a = std::get_if<AssistantMessage>(&m)) {
                if (a->request_start_time && a->request_end_time) {
                    starts.push_back(*a->request_start_time);
                    ends.push_back(*a->request_end_time);
                    served.push_back(served_ms(a->provider_response_id));
                }
            } else if (const auto* t = std::get_if<ToolMessage>(&m)) {
                if (t->tool_end_time)
                    last_tool_end = *t->tool_end_time;
            }
        }
    std::vector<double> added, call, between, client;
    for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
        added.push_back((starts[i + 1] - starts[i] - latency_s) * 1e3);
        between.push_back((starts[i + 1] - ends[i]) * 1e3);
        client.push_back(added.back() - served[i]);
    }
    for (std::size_t i = 0; i < starts.size(); ++i)
        call.push_back((ends[i] - starts[i] - latency_s) * 1e3);
    if (!starts.empty() && last_tool_end > starts.back()) {
        added.push_back((last_tool_end - starts.back() - latency_s) * 1e3);
        between.push_back((last_tool_end - ends.back()) * 1e3);
        client.push_back(added.back() - served.back());
    }
    std::lock_guard lock(shared.mutex);
    shared.added_ms.insert(shared.added_ms.end(), added.begin(), added.end());
    shared.call_ms.insert(shared.call_ms.end(), call.begin(), call.end());
    shared.between_ms.insert(shared.between_ms.end(), between.begin(), between.end());
    shared.client_ms.insert(shared.client_ms.end(), client.begin(), client.end());
    shared.model_wait_total += r.metadata.model_queue_wait.total_seconds;
    if (!shared.sample_history)
        shared.sample_history = r.history;
}

asio::awaitable<SessionResult<RunResult>> start_later(const Agent* agent, std::string task,
                                                      std::chrono::microseconds delay)
{
    if (delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, delay);
        co_await timer.async_wait(asio::use_awaitable);
    }
    SessionResult<RunResult> r = co_await agent->run(std::move(task));
    co_return r;
}

struct OnDone {
    Shared* shared;
    double latency_s;
    void operator()(std::exception_ptr e, SessionResult<RunResult> r) const
    {
        if (e) {
            std::string what = "unknown";
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                what = ex.what();
            }
            std::lock_guard lock(shared->mutex);
            if (shared->errors.size() < 5)
                shared->errors.push_back(what);
        } else {
            shared->turns += r.value.turns;
            record_turns(r.value, latency_s, *shared);
        }
        shared->live.fetch_sub(1);
        shared->done.fetch_add(1);
    }
};

asio::awaitable<void> sampler(Shared* shared, Clock::time_point t0, std::chrono::milliseconds every)
{
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // Counting 10,000 fds costs milliseconds: every fifth sample only, so the
    // sampler stays a small part of the CPU it measures.
    int fds = 0;
    for (int n = 0; !shared->finished.load(); ++n) {
        const double cpu0 = thread_cpu_seconds();
        if (n % 5 == 0)
            fds = count_dir("/proc/self/fd");
        Sample s{seconds_since(t0), rss_kib(), fds, shared->live.load(), heap_in_use_kib()};
        {
            std::lock_guard lock(shared->mutex);
            shared->samples.push_back(s);
            shared->sampler_cpu_s += thread_cpu_seconds() - cpu0;
        }
        timer.expires_after(every);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

// One request to the fake's control endpoints, on a throwaway io_context.
json::value http_json(const std::string& ca, const std::string& method, const std::string& url,
                      const std::string& body = "")
{
    asio::io_context io;
    net::HttpClientOptions o;
    o.tls.ca_file = ca;
    net::HttpClient http(io.get_executor(), o);
    net::HttpRequest req;
    req.method = method;
    req.url = url;
    req.body = body;
    if (!body.empty())
        req.headers = {{"Content-Type", "application/json"}};
    json::value out;
    struct Call {
        net::HttpClient* http;
        net::HttpRequest req;
        json::value* out;
        asio::awaitable<void> operator()()
        {
            auto resp = co_await http->request(std::move(req));
            if (resp.status != 200)
                throw std::runtime_error("fake server: " + std::to_string(resp.status) + " " + resp.body);
            *out = json::parse(resp.body);
        }
    };
    std::exception_ptr failure;
    asio::co_spawn(io, hold(Call{&http, std::move(req), &out}), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    return out;
}

json::object scenario(const Config& c)
{
    json::object call;
    if (c.tool == "calculator")
        call = {{"name", "calculator"}, {"arguments", json::object{{"expression", "2 + 2"}}}};
    else if (c.tool == "none")
        call = {{"name", "no_such_tool"}, {"arguments", json::object{}}};
    else
        call = {{"name", "code_exec"}, {"arguments", json::object{{"cmd", "true"}}}};
    json::object completion{{"tool_calls", json::array{call}},
                            {"usage", json::object{{"prompt_tokens", 20}, {"completion_tokens", 5}}}};
    json::object step{{"completion", std::move(completion)}, {"delay_ms", c.latency_ms}};
    step["timing_id"] = true;
    return {{"forever", std::move(step)}, {"keep_requests", false}, {"validate", false}};
}

double bare_spawn_rate(int count)
{
    const int threads = std::max(1u, std::thread::hardware_concurrency());
    std::atomic<int> left{count};
    auto worker = [&] {
        char bash[] = "bash", dash_c[] = "-c", cmd[] = "true";
        char* argv[] = {bash, dash_c, cmd, nullptr};
        while (left.fetch_sub(1) > 0) {
            pid_t pid = 0;
            if (posix_spawnp(&pid, "bash", nullptr, nullptr, argv, environ) != 0)
                throw std::runtime_error("posix_spawn failed");
            int status = 0;
            waitpid(pid, &status, 0);
        }
    };
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back(worker);
    for (auto& t : pool)
        t.join();
    return count / seconds_since(t0);
}

struct CommandLoop {
    LocalCodeExec* env;
    std::atomic<int>* left;
    asio::awaitable<void> operator()() const
    {
        while (left->fetch_sub(1) > 0)
            co_await env->run_command("true");
    }
};

struct StartStop {
    LocalCodeExec* env;
    bool start;
    asio::awaitable<void> operator()() const
    {
        if (start)
            co_await env->start();
        else
            co_await env->stop();
    }
};

double run_command_rate(int count, const fs::path& temp_base)
{
    asio::io_context io;
    LocalCodeExecOptions o;
    o.temp_base_dir = temp_base;
    LocalCodeExec env(o);
    asio::co_spawn(io, hold(StartStop{&env, true}), asio::detached);
    io.run();
    io.restart();
    std::atomic<int> left{count};
    const auto t0 = Clock::now();
    for (int i = 0; i < 64; ++i)
        asio::co_spawn(io, hold(CommandLoop{&env, &left}), asio::detached);
    io.run();
    const double rate = count / seconds_since(t0);
    io.restart();
    asio::co_spawn(io, hold(StartStop{&env, false}), asio::detached);
    io.run();
    return rate;
}

} // namespace

int main(int argc, char** argv)
try {
    const Config c = parse(argc, argv);
    const std::string base = std::string(c.plain ? "http" : "https") + "://127.0.0.1:" + std::to_string(c.port);
    const double latency_s = c.latency_ms / 1e3;

    http_json(c.ca, "POST", base + "/__scenario", json::serialize(scenario(c)));

    const int fds_start = count_dir("/proc/self/fd");
    const fs::path temp_base = fs::temp_directory_path() / ("sessions-bench-" + std::to_string(getpid()));
    fs::create_directories(temp_base);

    asio::io_context io(c.threads);
    net::HttpClientOptions http_options;
    http_options.tls.ca_file = c.ca;
    http_options.pool.max_connections_per_host = static_cast<std::size_t>(c.sessions) + 16;
    auto http = std::make_shared<net::HttpClient>(io.get_executor(), http_options);
    ChatCompletionsOptions co;
    co.model = "bench";
    co.max_tokens = 1000;
    co.context_window_tokens = 1'000'000;
    co.base_url = base + "/v1";
    co.api_key = "sk-bench";
    co.timeout = std::chrono::milliseconds(600'000);
    co.limiter = std::make_shared<ModelRequestLimiter>(
        ModelRequestLimits{.max_in_flight = static_cast<std::size_t>(c.max_in_flight)});
    auto client = std::make_shared<ChatCompletionsClient>(http, co);

    AgentOptions ao;
    ao.max_turns = c.turns;
    std::vector<ToolSource> tools;
    if (c.tool == "calculator" || c.tool == "none") {
        tools.emplace_back(calculator_tool());
    } else if (c.tool == "local") {
        LocalCodeExecOptions lo;
        lo.temp_base_dir = temp_base;
        tools.emplace_back(local_code_exec(lo));
    } else if (c.tool == "docker") {
        DockerCodeExecOptions dopt;
        dopt.temp_base_dir = temp_base;
        tools.emplace_back(docker_code_exec(c.docker_image, dopt));
    } else {
        throw std::runtime_error("unknown tool " + c.tool);
    }
    ao.tools = std::move(tools);
    auto agent = std::make_unique<Agent>(client, "bench", ao);

    Shared shared;
    auto run_sessions = [&](int n, int first, int ramp_ms) {
        for (int i = 0; i < n; ++i) {
            shared.live.fetch_add(1);
            const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(ramp_ms) * 1000 * i / n);
            asio::co_spawn(asio::make_strand(io),
                           start_later(agent.get(), "bench session " + std::to_string(first + i), delay),
                           OnDone{&shared, latency_s});
        }
    };
    auto run_io = [&] {
        std::vector<std::thread> pool;
        for (int t = 1; t < c.threads; ++t)
            pool.emplace_back([&] { io.run(); });
        io.run();
        for (auto& t : pool)
            t.join();
        io.restart();
    };

    // Warm-up: the TLS context, the first connections, allocator pools.
    // With --warmup N (N = sessions) the pool already holds a connection per
    // session, and the measured phase is the steady state of a long-lived
    // service: no handshakes.
    run_sessions(c.warmup >= 0 ? c.warmup : std::min(c.sessions, 8), -1'000'000, 0);
    run_io();
    if (!shared.errors.empty())
        throw std::runtime_error("warm-up session failed: " + shared.errors.front());
    shared.added_ms.clear();
    shared.call_ms.clear();
    shared.between_ms.clear();
    shared.client_ms.clear();
    shared.turns = 0;
    shared.done = 0;
    shared.model_wait_total = 0;
    shared.sample_history.reset();

    http_json(c.ca, "POST", base + "/__reset_server_times", "{}");
    const json::value stats0 = http_json(c.ca, "GET", base + "/__stats");
    const auto client_stats0 = http->stats();
    const long rss0 = rss_kib();
    const long heap0 = heap_in_use_kib();
    const int fds0 = count_dir("/proc/self/fd");
    const double cpu0 = process_cpu_seconds();
    const double sys0 = process_sys_cpu_seconds();
    const double server_cpu0 = other_cpu_seconds(c.server_pid);
    const auto t0 = Clock::now();

    asio::co_spawn(asio::make_strand(io), sampler(&shared, t0, std::chrono::milliseconds(100)), asio::detached);
    run_sessions(c.sessions, 0, c.ramp_ms);
    struct Watch {
        Shared* shared;
        int n;
        asio::awaitable<void> operator()() const
        {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            while (shared->done.load() < n) {
                timer.expires_after(std::chrono::milliseconds(20));
                co_await timer.async_wait(asio::use_awaitable);
            }
            shared->finished = true;
        }
    };
    asio::co_spawn(asio::make_strand(io), hold(Watch{&shared, c.sessions}), asio::detached);
    run_io();
    const double wall = seconds_since(t0);
    const double cpu = process_cpu_seconds() - cpu0 - shared.sampler_cpu_s;
    const double sys = process_sys_cpu_seconds() - sys0;
    const double server_cpu = other_cpu_seconds(c.server_pid) - server_cpu0;
    const json::value stats1 = http_json(c.ca, "GET", base + "/__stats");
    const auto client_stats1 = http->stats();

    // Resident memory per live session: the largest growth over the
    // baseline, divided by the sessions live at that moment, among the
    // samples taken while at least 90% of the sessions were live.
    double per_session_kib = 0;
    double heap_per_session_kib = 0;
    int peak_fds = 0, peak_live = 0;
    long peak_rss = 0;
    for (const auto& s : shared.samples) {
        peak_fds = std::max(peak_fds, s.fds);
        peak_live = std::max(peak_live, s.live);
        peak_rss = std::max(peak_rss, s.rss_kib);
        if (s.live >= c.sessions * 9 / 10 && s.live > 0) {
            per_session_kib = std::max(per_session_kib, static_cast<double>(s.rss_kib - rss0) / s.live);
            heap_per_session_kib = std::max(heap_per_session_kib, static_cast<double>(s.heap_kib - heap0) / s.live);
        }
    }

    const double history_kib =
        shared.sample_history ? static_cast<double>(last_request_history_bytes(*shared.sample_history)) / 1024.0 : 0.0;
    const long total_turns = shared.turns.load();
    const auto handshakes =
        stats1.at("tls_handshakes").to_number<std::int64_t>() - stats0.at("tls_handshakes").to_number<std::int64_t>();
    const auto connections =
        stats1.at("connections").to_number<std::int64_t>() - stats0.at("connections").to_number<std::int64_t>();
    const auto requests =
        stats1.at("requests").to_number<std::int64_t>() - stats0.at("requests").to_number<std::int64_t>();

    std::vector<double> added = shared.added_ms;
    std::vector<double> call = shared.call_ms;
    std::vector<double> between = shared.between_ms;
    std::vector<double> client_only = shared.client_ms;
    json::object out{
        {"sessions", c.sessions},
        {"turns", c.turns},
        {"latency_ms", c.latency_ms},
        {"tool", c.tool},
        {"threads", c.threads},
        {"max_in_flight", c.max_in_flight},
        {"ramp_ms", c.ramp_ms},
        {"completed", shared.done.load()},
        {"failed", static_cast<std::int64_t>(shared.errors.size())},
        {"errors",
         [&] {
             json::array a;
             for (auto& e : shared.errors)
                 a.emplace_back(e);
             return a;
         }()},
        {"wall_s", wall},
        {"sessions_per_s", shared.done.load() / wall},
        {"turns_total", total_turns},
        {"plain_http", c.plain},
        {"cpu_s", cpu},
        {"sampler_cpu_s", shared.sampler_cpu_s},
        {"server_cpu_s", server_cpu},
        {"cpu_us_per_turn", total_turns ? cpu / static_cast<double>(total_turns) * 1e6 : 0.0},
        {"cpu_sys_us_per_turn", total_turns ? sys / static_cast<double>(total_turns) * 1e6 : 0.0},
        {"added_ms_p50", percentile(added, 0.50)},
        {"added_ms_p99", percentile(added, 0.99)},
        {"added_ms_max", added.empty() ? 0.0 : added.back()},
        {"server_ms_p50", stats1.at("server_ms").at("p50")},
        {"server_ms_p99", stats1.at("server_ms").at("p99")},
        {"server_loop_delay_ms_p99", stats1.at("server_ms").at("loop_delay_p99")},
        {"call_ms_p50", percentile(call, 0.50)},
        {"call_ms_p99", percentile(call, 0.99)},
        {"client_ms_p50", percentile(client_only, 0.50)},
        {"client_ms_p99", percentile(client_only, 0.99)},
        {"between_ms_p50", percentile(between, 0.50)},
        {"between_ms_p99", percentile(between, 0.99)},
        {"model_wait_s_total", shared.model_wait_total},
        {"rss_base_kib", rss0},
        {"heap_per_live_session_kib", heap_per_session_kib},
        {"history_kib_per_session", history_kib},
        {"rss_per_live_session_beyond_history_kib", per_session_kib - history_kib},
        {"rss_peak_kib", std::max(peak_rss, rss0)},
        {"vm_hwm_kib", peak_rss_kib()},
        {"rss_per_live_session_kib", per_session_kib},
        {"peak_live_sessions", peak_live},
        {"fds_base", fds0},
        {"fds_peak", peak_fds},
        {"requests", requests},
        {"tls_handshakes", handshakes},
        {"connections_opened", connections},
        {"client_tls_handshakes",
         static_cast<std::int64_t>(client_stats1.tls_handshakes - client_stats0.tls_handshakes)},
        {"client_retries", static_cast<std::int64_t>(client_stats1.retries - client_stats0.retries)},
    };

    if (c.tool == "local" && c.spawn_baseline > 0) {
        // Interleaved: bare, framework, bare, framework; the better of each.
        double bare = 0, framework = 0;
        for (int round = 0; round < 2; ++round) {
            bare = std::max(bare, bare_spawn_rate(c.spawn_baseline));
            framework = std::max(framework, run_command_rate(c.spawn_baseline, temp_base));
        }
        const double session_commands = static_cast<double>(total_turns) / wall;
        out["bare_spawn_per_s"] = bare;
        out["run_command_per_s"] = framework;
        out["run_command_vs_bare"] = framework / bare;
        out["session_commands_per_s"] = session_commands;
        out["session_commands_vs_bare"] = session_commands / bare;
    }

    // Leftovers: every session has ended, so nothing of theirs may remain;
    // with the client gone, its pooled connections are closed too.
    out["leftover_processes"] = child_processes();
    out["leftover_temp_dirs"] = count_dir(temp_base.c_str());
    agent.reset();
    client.reset();
    http.reset();
    out["leftover_fds"] = count_dir("/proc/self/fd") - fds_start;
    std::error_code ec;
    fs::remove(temp_base, ec);

    std::cout << json::serialize(out) << std::endl;
    return shared.errors.empty() ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "sessions_bench: " << e.what() << "\n";
    return 2;
}
