// Limits that keep a process healthy under load, against real peers: the
// model request limiter (in-flight cap, per-endpoint rate) with the fake chat
// server over TLS, the local command cap with real processes, and bounded
// capture of a huge tool output.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/net/http_client.hpp"
#include "stirrup/tools/calculator_tool.hpp"
#include "support/agent_fixture.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace stirrup::test;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

// Runs a callable's coroutine with the callable kept alive in this frame.
template <class F>
asio::awaitable<void> hold(F f)
{
    co_await f();
}

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::shared_ptr<ChatCompletionsClient> limited_client(const FakeOpenAi& fake, asio::any_io_executor ex,
                                                      std::shared_ptr<ModelRequestLimiter> limiter,
                                                      std::string path = "/v1", std::size_t connections = 64)
{
    net::HttpClientOptions http;
    http.tls.ca_file = test_certs().ca_cert.string();
    http.pool.max_connections_per_host = connections;
    ChatCompletionsOptions o;
    o.model = "gpt-test";
    o.max_tokens = 1000;
    o.context_window_tokens = 128000;
    o.base_url = "https://127.0.0.1:" + std::to_string(fake.port()) + path;
    o.api_key = "sk-test";
    o.max_retries = 0;
    o.limiter = std::move(limiter);
    return std::make_shared<ChatCompletionsClient>(std::make_shared<net::HttpClient>(ex, http), o);
}

std::string scenario_answering_after(int delay_ms)
{
    json::object step{{"completion", json::object{{"content", "ok"}}}, {"delay_ms", delay_ms}};
    return json::serialize(json::object{{"forever", std::move(step)}});
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

std::vector<ChatMessage> hello()
{
    std::vector<ChatMessage> m;
    m.emplace_back(UserMessage{std::string("hi")});
    return m;
}

// One model call; records when it ended (seconds after t0) unless `ended` is null.
asio::awaitable<void> one_call(std::shared_ptr<ChatCompletionsClient> client, Clock::time_point t0, double* ended)
{
    const auto messages = hello();
    const std::vector<ToolDefinition> tools;
    co_await client->generate(messages, tools);
    if (ended)
        *ended = seconds_since(t0);
}

// A model call given up after `patience`: says whether the timer won.
asio::awaitable<void> impatient(std::shared_ptr<ChatCompletionsClient> client, std::chrono::milliseconds patience,
                                bool* gave_up)
{
    auto which = co_await (one_call(client, Clock::now(), nullptr) || sleep_for(patience));
    *gave_up = which.index() == 1;
}

asio::awaitable<void> run_command(LocalCodeExec* env, std::string cmd, CommandResult* out)
{
    *out = co_await env->run_command(std::move(cmd), std::chrono::milliseconds(1000));
}

asio::awaitable<void> command_with_patience(LocalCodeExec* env, std::string cmd, std::chrono::milliseconds patience,
                                            bool* gave_up)
{
    auto which = co_await (env->run_command(std::move(cmd)) || sleep_for(patience));
    *gave_up = which.index() == 1;
}

asio::awaitable<void> start_envs(std::vector<LocalCodeExec*> envs)
{
    for (auto* e : envs)
        co_await e->start();
}

asio::awaitable<void> stop_envs(std::vector<LocalCodeExec*> envs)
{
    for (auto* e : envs)
        co_await e->stop();
}

} // namespace

TEST_CASE("limits: an in-flight cap queues model calls in order and each run reports its wait")
{
    FakeOpenAi fake(json::serialize(json::object{{"forever",
                                                  [] {
                                                      auto step = finish_step({}, "done");
                                                      step["delay_ms"] = 150;
                                                      return step;
                                                  }()},
                                                 {"keep_requests", false}}));
    asio::io_context io;
    auto limiter = std::make_shared<ModelRequestLimiter>(ModelRequestLimits{.max_in_flight = 2});
    // No code-exec tool: its start goes through the thread pool, which would
    // let sessions reach the limiter in any order; FIFO is checked against
    // the spawn order.
    AgentOptions options;
    options.tools = std::vector<ToolSource>{};
    Agent agent(limited_client(fake, io.get_executor(), limiter), "limited", options);

    constexpr int n = 6;
    std::vector<std::optional<RunResult>> results(n);
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        asio::co_spawn(io, agent.run("task " + std::to_string(i)),
                       [&results, i](std::exception_ptr e, SessionResult<RunResult> r) {
                           if (!e)
                               results[i].emplace(std::move(r.value));
                       });
    io.run();
    const double took = seconds_since(t0);

    CHECK(took >= 0.42); // three rounds of two
    double total_wait = 0;
    int waited = 0;
    for (int i = 0; i < n; ++i) {
        INFO("session " << i);
        REQUIRE(results[i]);
        CHECK(results[i]->finished());
        const auto& w = results[i]->metadata.model_queue_wait;
        CHECK(w.calls == 1);
        total_wait += w.total_seconds;
        if (w.max_seconds >= 0.1)
            ++waited;
    }
    // 0, 0, 150, 150, 300, 300 ms.
    CHECK(waited == 4);
    CHECK(total_wait >= 0.8);
    CHECK(total_wait < 1.5);
    // FIFO: the sessions that asked first were served first.
    CHECK(results[0]->metadata.model_queue_wait.total_seconds < 0.05);
    CHECK(results[5]->metadata.model_queue_wait.total_seconds >= 0.25);
    const auto st = limiter->in_flight_stats();
    CHECK(st.admitted == n);
    CHECK(st.queued == 4);
    CHECK(st.peak_waiting == 4);
    CHECK(st.in_use == 0);
    CHECK(st.waiting == 0);
}

TEST_CASE("limits: requests per minute are counted per endpoint")
{
    FakeOpenAi fake(scenario_answering_after(0));
    asio::io_context io;
    ModelRequestLimits limits{.max_in_flight = 0, .requests_per_minute = 600, .burst = 1};
    const std::string fast = "https://127.0.0.1:" + std::to_string(fake.port()) + "/fast/chat/completions";
    limits.endpoint_requests_per_minute[fast] = 60000;
    auto limiter = std::make_shared<ModelRequestLimiter>(limits);
    auto slow_client = limited_client(fake, io.get_executor(), limiter, "/v1");
    auto other_client = limited_client(fake, io.get_executor(), limiter, "/v2");
    auto fast_client = limited_client(fake, io.get_executor(), limiter, "/fast");
    REQUIRE(fast_client->url() == fast);

    const auto t0 = Clock::now();
    std::vector<double> slow(4), other(1), quick(4);
    for (auto& e : slow)
        asio::co_spawn(io, one_call(slow_client, t0, &e), asio::detached);
    asio::co_spawn(io, one_call(other_client, t0, &other[0]), asio::detached);
    for (auto& e : quick)
        asio::co_spawn(io, one_call(fast_client, t0, &e), asio::detached);
    io.run();

    // 10 per second with no burst: the fourth starts 300 ms after the first.
    CHECK(*std::max_element(slow.begin(), slow.end()) >= 0.28);
    // Another endpoint has a bucket of its own and is not held up.
    CHECK(other[0] < 0.25);
    CHECK(*std::max_element(quick.begin(), quick.end()) < 0.25);
    const auto st = limiter->rate_stats(slow_client->url());
    REQUIRE(st);
    CHECK(st->admitted == 4);
    CHECK(st->queued == 3);
    CHECK(limiter->in_flight_stats().admitted == 0); // no in-flight cap
}

TEST_CASE("limits: a model call cancelled while queued is never sent")
{
    FakeOpenAi fake(scenario_answering_after(300));
    asio::io_context io;
    auto limiter = std::make_shared<ModelRequestLimiter>(ModelRequestLimits{.max_in_flight = 1});
    auto client = limited_client(fake, io.get_executor(), limiter);
    double first_ended = 0;
    bool gave_up = false;
    const auto t0 = Clock::now();
    asio::co_spawn(io, one_call(client, t0, &first_ended), asio::detached);
    asio::co_spawn(io, impatient(client, 50ms, &gave_up), asio::detached);
    // Look at the queue just after the second call gave up.
    asio::steady_timer probe(io, 120ms);
    LimiterStats mid;
    probe.async_wait([&](boost::system::error_code) { mid = limiter->in_flight_stats(); });
    io.run();
    CHECK(gave_up);
    CHECK(first_ended >= 0.29);
    CHECK(mid.waiting == 0);
    CHECK(mid.in_use == 1);
    CHECK(mid.cancelled == 1);
    CHECK(fake.requests().size() == 1);
    CHECK(limiter->in_flight_stats().in_use == 0);
}

TEST_CASE("limits: the process-wide default limiter is shared and replaceable")
{
    auto d = ModelRequestLimiter::process_default();
    REQUIRE(d);
    CHECK(d == ModelRequestLimiter::process_default());
    CHECK(d->limits().max_in_flight == 1000);
    CHECK(d->limits().requests_per_minute == 0);
    auto mine = std::make_shared<ModelRequestLimiter>(ModelRequestLimits{.max_in_flight = 7});
    ModelRequestLimiter::set_process_default(mine);
    CHECK(ModelRequestLimiter::process_default() == mine);
    ModelRequestLimiter::set_process_default(d);
    CHECK_THROWS_AS(ModelRequestLimiter(ModelRequestLimits{.requests_per_minute = -1}), ConfigError);
}

TEST_CASE("limits: local commands past the cap wait their turn, and the wait is not part of the timeout")
{
    ScratchDir base;
    AsyncSemaphore cap(1);
    LocalCodeExecOptions o;
    o.temp_base_dir = base.path();
    o.command_limiter = cap;
    LocalCodeExec a(o), b(o);
    std::vector<CommandResult> results(4);
    asio::io_context io;
    const auto t0 = Clock::now();
    asio::co_spawn(io, start_envs({&a, &b}), [&](std::exception_ptr e) {
        REQUIRE_FALSE(e);
        // Each sleeps 0.3 s under a 1 s timeout: run one at a time, the last
        // ends 1.2 s in, and none times out.
        for (int i = 0; i < 4; ++i)
            asio::co_spawn(io, run_command(i % 2 ? &b : &a, "sleep 0.3; echo " + std::to_string(i), &results[i]),
                           asio::detached);
    });
    io.run();
    const double took = seconds_since(t0);
    for (int i = 0; i < 4; ++i) {
        INFO("command " << i);
        CHECK(results[i].exit_code == 0);
        CHECK(results[i].stdout_text == std::to_string(i) + "\n");
        CHECK_FALSE(results[i].error_kind);
    }
    CHECK(took >= 1.15);
    const auto st = cap.stats();
    CHECK(st.admitted == 4);
    CHECK(st.queued == 3);
    CHECK(st.in_use == 0);
    run_sync([&] { return stop_envs({&a, &b}); });
    CHECK(base.entries().empty());
}

TEST_CASE("limits: a local command cancelled while queued never runs")
{
    ScratchDir base;
    AsyncSemaphore cap(1);
    LocalCodeExecOptions o;
    o.temp_base_dir = base.path();
    o.command_limiter = cap;
    LocalCodeExec env(o);
    run_sync([&] { return env.start(); });
    CommandResult first;
    bool gave_up = false;
    asio::io_context io;
    asio::co_spawn(io, run_command(&env, "sleep 0.3", &first), asio::detached);
    asio::co_spawn(io, command_with_patience(&env, "touch queued.txt", 50ms, &gave_up), asio::detached);
    io.run();
    CHECK(first.exit_code == 0);
    CHECK(gave_up);
    CHECK_FALSE(std::filesystem::exists(*env.temp_dir() / "queued.txt"));
    CHECK(cap.stats().cancelled == 1);
    CHECK(cap.stats().in_use == 0);
    run_sync([&] { return env.stop(); });
}

TEST_CASE("limits: the default command cap is one semaphore per process")
{
    auto a = LocalCodeExec::default_command_limiter();
    CHECK(a.capacity() == LocalCodeExec::default_max_commands);
    // Handles share one state: a permit taken through one shows in the other.
    auto p = a.try_acquire();
    REQUIRE(p);
    CHECK(LocalCodeExec::default_command_limiter().stats().in_use >= 1);
}

TEST_CASE("limits: a huge tool output is captured head and tail, not buffered whole")
{
    ScratchDir base;
    LocalCodeExecOptions o;
    o.temp_base_dir = base.path();
    LocalCodeExec env(o);
    run_sync([&] { return env.start(); });
    // 64 MiB on stdout and 8 MiB on stderr.
    auto r = run_sync([&] {
        return env.run_command("head -c 67108864 /dev/zero | tr '\\0' a; head -c 8388608 /dev/zero | tr '\\0' b >&2",
                               std::chrono::milliseconds(60000));
    });
    CHECK(r.exit_code == 0);
    CHECK(r.stdout_text.size() <= 2 * o.capture_chars_each_side + 200);
    CHECK(r.stderr_text.size() <= 2 * o.capture_chars_each_side + 200);
    CHECK(r.stdout_dropped_chars == 67108864 - 2 * o.capture_chars_each_side);
    CHECK(r.stderr_dropped_chars == 8388608 - 2 * o.capture_chars_each_side);
    run_sync([&] { return env.stop(); });
}

TEST_CASE("threads: sessions of one Agent on a 4-thread io_context, each on a strand, share the pool and limits")
{
    // Every answer calls the calculator and runs a command; three turns each.
    json::array calls{json::object{{"name", "calculator"}, {"arguments", json::object{{"expression", "6 * 7"}}}},
                      json::object{{"name", "code_exec"}, {"arguments", json::object{{"cmd", "echo hi"}}}}};
    json::object step{{"completion", json::object{{"tool_calls", std::move(calls)}}}, {"delay_ms", 5}};
    FakeOpenAi fake(json::serialize(json::object{{"forever", std::move(step)}, {"keep_requests", false}}));
    ScratchDir base;
    asio::io_context io(4);
    auto limiter = std::make_shared<ModelRequestLimiter>(ModelRequestLimits{.max_in_flight = 16});
    LocalCodeExecOptions local;
    local.temp_base_dir = base.path();
    local.command_limiter = AsyncSemaphore(8);
    AgentOptions o;
    o.max_turns = 3;
    o.tools = std::vector<ToolSource>{calculator_tool(), local_code_exec(local)};
    Agent agent(limited_client(fake, io.get_executor(), limiter), "threaded", o);

    constexpr int n = 100;
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::mutex mutex;
    std::vector<std::string> errors;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(
            asio::make_strand(io), agent.run("threaded " + std::to_string(i)),
            [&](std::exception_ptr e, SessionResult<RunResult> r) {
                if (e) {
                    failed.fetch_add(1);
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        std::lock_guard lock(mutex);
                        errors.emplace_back(ex.what());
                    }
                    return;
                }
                const auto& h = r.value.history.back();
                // system, user, then per turn: assistant + calculator + code_exec.
                const bool good =
                    r.value.turns == 3 &&
                    std::get<std::string>(std::get<ToolMessage>(h.at(3)).content) == "Result: 42" &&
                    std::get<std::string>(std::get<ToolMessage>(h.at(4)).content).find("<stdout>hi\n</stdout>") !=
                        std::string::npos;
                (good ? ok : failed).fetch_add(1);
            });
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : threads)
        t.join();
    for (const auto& e : errors)
        INFO(e);
    CHECK(ok.load() == n);
    CHECK(failed.load() == 0);
    if (!errors.empty())
        CHECK(errors.front() == "");
    CHECK(limiter->in_flight_stats().admitted == 3 * n);
    CHECK(limiter->in_flight_stats().in_use == 0);
    CHECK(local.command_limiter->stats().admitted == 3 * n);
    CHECK(local.command_limiter->stats().in_use == 0);
    const auto left = base.entries();
    for (const auto& e : left) {
        std::string inside;
        for (const auto& f : std::filesystem::directory_iterator(base.path() / e))
            inside += f.path().filename().string() + " ";
        INFO(e << " holds: " << inside);
        CHECK(left.empty());
    }
}

namespace {

// Model calls raced against short timers on a strand each: many are
// cancelled while queued (in the limiter or the connection pool) just as
// other threads release a slot.
struct ImpatientCaller {
    std::shared_ptr<ChatCompletionsClient> client;
    int i;
    std::atomic<int>* answered;
    std::atomic<int>* gave_up;
    asio::awaitable<void> operator()() const
    {
        bool timed_out = false;
        // Every fourth waits long enough to be answered.
        co_await impatient(client, std::chrono::milliseconds(i % 4 == 0 ? 5000 : 5 + i % 40), &timed_out);
        (timed_out ? gave_up : answered)->fetch_add(1);
    }
};

void cancel_storm(std::size_t limiter_cap, std::size_t pool_connections)
{
    FakeOpenAi fake(scenario_answering_after(10));
    asio::io_context io(4);
    auto limiter = std::make_shared<ModelRequestLimiter>(ModelRequestLimits{.max_in_flight = limiter_cap});
    auto client = limited_client(fake, io.get_executor(), limiter, "/v1", pool_connections);
    std::atomic<int> answered{0}, gave_up{0};
    constexpr int n = 200;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(asio::make_strand(io), hold(ImpatientCaller{client, i, &answered, &gave_up}), asio::detached);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : threads)
        t.join();
    CHECK(answered.load() + gave_up.load() == n);
    CHECK(answered.load() > 0);
    CHECK(gave_up.load() > 0);
    CHECK(limiter->in_flight_stats().in_use == 0);
    CHECK(limiter->in_flight_stats().waiting == 0);
}

} // namespace

TEST_CASE("threads: model calls cancelled while queued in the limiter, from four threads")
{
    cancel_storm(2, 64);
}

TEST_CASE("threads: model calls cancelled while queued for a pooled connection, from four threads")
{
    cancel_storm(0, 2);
}
