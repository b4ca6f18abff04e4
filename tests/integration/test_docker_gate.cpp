// The creation gate in front of Docker containers, against the real engine:
// a live limit holds for containers as the engine sees them, permits come
// back when containers are removed (after stop, a failed start, a provider
// destroyed without stop), and a start cancelled at the gate leaves its
// queue without creating anything.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/detail/random_hex.hpp"
#include "stirrup/exec/creation_gate.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"
#include "support/eventually.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using stirrup::test::containers_with_label;
using stirrup::test::docker_options;
using stirrup::test::eventually;
using stirrup::test::run_sync;
namespace asio = boost::asio;

namespace {

// Options whose containers carry a label unique to this test run, so the
// engine can be asked how many of them exist.
DockerCodeExecOptions gated_options(const std::shared_ptr<CreationGate>& gate, const std::string& run)
{
    auto o = docker_options(DockerFileMode::archive);
    o.creation_gate = gate;
    o.labels["stirrup.test.gate"] = run;
    return o;
}

// Counts the run's containers from another thread until told to stop.
class EngineSampler {
public:
    explicit EngineSampler(std::string label)
        : label_(std::move(label)), thread_([this] {
              while (!stop_) {
                  const int n = static_cast<int>(containers_with_label(label_).size());
                  max_ = std::max(max_.load(), n);
                  ++samples_;
                  std::this_thread::sleep_for(20ms);
              }
          })
    {
    }
    ~EngineSampler() { finish(); }
    void finish()
    {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    int max() const { return max_; }
    int samples() const { return samples_; }

private:
    std::string label_;
    std::atomic<bool> stop_{false};
    std::atomic<int> max_{0};
    std::atomic<int> samples_{0};
    std::thread thread_;
};

awaitable<void> gated_session(DockerCodeExecOptions o, std::string& error)
{
    auto env = DockerCodeExec::from_image(test::docker_test_image(), std::move(o));
    try {
        co_await env->start();
        // Long enough that the sessions would overlap without the gate.
        const auto r = co_await env->run_command("sleep 0.4; echo done");
        if (r.stdout_text != "done\n")
            error = "unexpected output: " + r.stdout_text + r.stderr_text;
    } catch (const std::exception& e) {
        error = e.what();
    }
    co_await env->stop();
}

// Waits, then notes how many starts are queued at the gate.
awaitable<void> look_at_queue_after(std::chrono::milliseconds d, const CreationGate& gate, std::size_t& waiting)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
    waiting = gate.stats().waiting;
}

awaitable<void> start_then_keep(std::unique_ptr<DockerCodeExec>& env, std::string& id)
{
    co_await env->start();
    id = *env->container_id();
}

} // namespace

TEST_CASE("docker gate: five sessions under max_live 2 never have more than two containers at once")
{
    test::require_docker_engine();
    const std::string run = stirrup::detail::random_hex(8);
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {.max_creations = 100, .period = 1s, .max_live = 2});
    constexpr int sessions = 5;
    std::vector<std::string> errors(sessions);
    std::atomic<int> finished{0};
    EngineSampler sampler("stirrup.test.gate=" + run);
    for (int i = 0; i < sessions; ++i)
        asio::co_spawn(io, gated_session(gated_options(gate, run), errors[i]),
                       [&errors, &finished, i](std::exception_ptr e) {
                           if (e)
                               errors[i] = "the session threw";
                           ++finished;
                       });
    io.run();
    sampler.finish();

    CHECK(finished == sessions);
    for (int i = 0; i < sessions; ++i) {
        INFO("session " << i);
        CHECK(errors[i].empty());
    }
    INFO("engine samples: " << sampler.samples());
    CHECK(sampler.samples() > 5);
    CHECK(sampler.max() <= 2);
    CHECK(sampler.max() >= 1);
    const auto stats = gate->stats();
    CHECK(stats.granted == sessions);
    CHECK(stats.live == 0);
    CHECK(stats.waiting == 0);
    CHECK(containers_with_label("stirrup.test.gate=" + run).empty());
}

TEST_CASE("docker gate: a start cancelled while waiting leaves the queue and creates nothing")
{
    test::require_docker_engine();
    const std::string run = stirrup::detail::random_hex(8);
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {.max_live = 1});
    auto holder = DockerCodeExec::from_image(test::docker_test_image(), gated_options(gate, run));
    auto waiter = DockerCodeExec::from_image(test::docker_test_image(), gated_options(gate, run));
    auto next = DockerCodeExec::from_image(test::docker_test_image(), gated_options(gate, run));
    bool waiter_cancelled = false;
    std::size_t waiting_before_cancel = 0;
    std::size_t waiting_after_cancel = 1;
    std::size_t live_after_cancel = 0;
    std::size_t live_after_holder_stop = 0;
    std::string next_output;
    run_sync([&]() -> awaitable<void> {
        co_await holder->start();
        auto start = waiter->start();
        auto look = look_at_queue_after(300ms, *gate, waiting_before_cancel);
        // `||` returns once the cancelled start has finished unwinding.
        auto which = co_await (std::move(start) || std::move(look));
        waiter_cancelled = which.index() == 1;
        if (!waiter_cancelled)
            co_await waiter->stop(); // the gate did not hold it: leave nothing behind
        waiting_after_cancel = gate->stats().waiting;
        live_after_cancel = gate->stats().live;
        co_await holder->stop();
        live_after_holder_stop = gate->stats().live;
        // The freed place goes to the next start, not to the cancelled one.
        co_await next->start();
        const auto r = co_await next->run_command("echo next");
        next_output = r.stdout_text;
        co_await next->stop();
    });
    CHECK(waiter_cancelled);
    CHECK_FALSE(waiter->started());
    CHECK(waiting_before_cancel == 1);
    CHECK(waiting_after_cancel == 0);
    CHECK(live_after_cancel == 1);
    CHECK(live_after_holder_stop == 0);
    CHECK(next_output == "next\n");
    CHECK(containers_with_label("stirrup.session=" + waiter->session_id()).empty());
    const auto stats = gate->stats();
    CHECK(stats.granted == 2);
    CHECK(stats.live == 0);
    CHECK(stats.waiting == 0);
    CHECK(containers_with_label("stirrup.test.gate=" + run).empty());
}

TEST_CASE("docker gate: a start that fails after the create gives its permit back")
{
    test::require_docker_engine();
    const std::string run = stirrup::detail::random_hex(8);
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {.max_live = 1});
    auto o = gated_options(gate, run);
    o.user = "no-such-user-in-the-image"; // the engine creates, then refuses to start
    auto failing = DockerCodeExec::from_image(test::docker_test_image(), o);
    auto next = DockerCodeExec::from_image(test::docker_test_image(), gated_options(gate, run));
    std::string failure;
    std::size_t live_after_failure = 1;
    bool next_started = false;
    run_sync([&]() -> awaitable<void> {
        try {
            co_await failing->start();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        live_after_failure = gate->stats().live;
        co_await next->start();
        next_started = next->started();
        co_await next->stop();
    });
    INFO(failure);
    CHECK_FALSE(failure.empty());
    CHECK_FALSE(failing->started());
    CHECK(live_after_failure == 0);
    CHECK(next_started);
    CHECK(gate->stats().granted == 2);
    CHECK(gate->stats().live == 0);
    CHECK(containers_with_label("stirrup.test.gate=" + run).empty());
}

TEST_CASE("docker gate: a provider destroyed while started frees its permit once its container is gone")
{
    test::require_docker_engine();
    const std::string run = stirrup::detail::random_hex(8);
    asio::io_context io;
    auto gate = CreationGate::make(io.get_executor(), {.max_live = 1});
    auto o = gated_options(gate, run);
    o.on_warning = [](std::string_view) {};
    auto env = DockerCodeExec::from_image(test::docker_test_image(), o);
    std::string id;
    asio::co_spawn(io, start_then_keep(env, id), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
    io.run();
    REQUIRE_FALSE(id.empty());
    CHECK(gate->stats().live == 1);
    env.reset(); // no stop: the container is removed in the background
    // The permit outlives the container: when it is free, the engine has
    // already removed it.
    REQUIRE(eventually([&] { return gate->stats().live == 0; }, 10s));
    CHECK_FALSE(test::inspect_container(id));
}
