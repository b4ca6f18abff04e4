// Overhead of the local backend: `true` run N times through run_command,
// sequentially and 64 at a time, against a bare posix_spawn+waitpid loop of
// the same `bash -c true` measured in the same run. Rounds are interleaved
// and the median kept, because these machines are noisy.
//
// usage: local_exec_bench [N=400] [rounds=5]

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/exec/local/local.hpp"

extern char** environ;

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double bare_spawn_loop(int n)
{
    char bash[] = "bash", dash_c[] = "-c", cmd[] = "true";
    char* argv[] = {bash, dash_c, cmd, nullptr};
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        pid_t pid;
        if (posix_spawnp(&pid, "bash", nullptr, nullptr, argv, environ) != 0)
            throw std::runtime_error("posix_spawnp failed");
        int status;
        waitpid(pid, &status, 0);
    }
    return seconds_since(t0);
}

// The machine's own ceiling for concurrent spawning: 64 children in flight,
// replaced as each one is reaped.
double bare_spawn_in_flight(int n, int in_flight)
{
    char bash[] = "bash", dash_c[] = "-c", cmd[] = "true";
    char* argv[] = {bash, dash_c, cmd, nullptr};
    const auto t0 = Clock::now();
    int started = 0, running = 0;
    while (started < n || running > 0) {
        while (started < n && running < in_flight) {
            pid_t pid;
            if (posix_spawnp(&pid, "bash", nullptr, nullptr, argv, environ) != 0)
                throw std::runtime_error("posix_spawnp failed");
            ++started;
            ++running;
        }
        int status;
        if (waitpid(-1, &status, 0) > 0)
            --running;
    }
    return seconds_since(t0);
}

double through_provider(int n, int in_flight, const std::string& command = "true")
{
    asio::io_context io;
    double elapsed = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            stirrup::LocalCodeExec env;
            co_await env.start();
            auto ex = co_await asio::this_coro::executor;
            int next = 0, running = 0, failures = 0;
            asio::steady_timer done(ex, asio::steady_timer::time_point::max());
            const auto t0 = Clock::now();
            auto worker = [&]() -> asio::awaitable<void> {
                while (next < n) {
                    ++next;
                    auto r = co_await env.run_command(command);
                    failures += r.exit_code != 0;
                }
                if (--running == 0)
                    done.cancel();
            };
            running = in_flight;
            for (int w = 0; w < in_flight; ++w)
                asio::co_spawn(ex, worker(), asio::detached);
            boost::system::error_code ec;
            co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            elapsed = seconds_since(t0);
            co_await env.stop();
            if (failures)
                throw std::runtime_error("commands failed");
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    io.run();
    return elapsed;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    const int n = argc > 1 ? std::atoi(argv[1]) : 400;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    std::vector<double> bare, bare_conc, seq, conc, wait_seq, wait_conc;
    through_provider(n / 10 + 1, 1); // warm caches (bash, libraries)
    for (int r = 0; r < rounds; ++r) {
        bare.push_back(bare_spawn_loop(n));
        bare_conc.push_back(bare_spawn_in_flight(n, 64));
        seq.push_back(through_provider(n, 1));
        conc.push_back(through_provider(n, 64));
        // Commands that mostly wait: what overlapping them on one thread buys.
        wait_seq.push_back(through_provider(n / 10, 1, "sleep 0.05"));
        wait_conc.push_back(through_provider(n / 10, 64, "sleep 0.05"));
    }
    const double b = median(bare), bc = median(bare_conc), s = median(seq), c = median(conc);
    std::printf("local_exec_bench: N=%d rounds=%d (medians)\n", n, rounds);
    std::printf("  bare posix_spawn+waitpid  %8.1f us/cmd\n", b / n * 1e6);
    std::printf("  bare, 64 in flight        %8.1f us/cmd  throughput %.2fx bare sequential (the machine's ceiling)\n",
                bc / n * 1e6, b / bc);
    std::printf("  run_command sequential    %8.1f us/cmd  ratio to bare %.2fx (goal <= 1.30x)\n", s / n * 1e6, s / b);
    std::printf("  run_command 64 in flight  %8.1f us/cmd  throughput %.2fx sequential (goal >= 1.50x), %.2fx the bare "
                "ceiling\n",
                c / n * 1e6, s / c, bc / c);
    std::printf("  `sleep 0.05` x%d: 64 in flight gives %.1fx the sequential throughput\n", n / 10,
                median(wait_seq) / median(wait_conc));
    return 0;
}
