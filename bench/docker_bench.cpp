// The Docker backend against the engine's own floor: the same operations done
// with `curl --unix-socket` (the raw Engine API calls, one curl process per
// call that needs an answer first) and with the `docker` CLI, in the same run,
// on the same engine, rounds interleaved, medians kept.
//
//  - exec round trip: DockerCodeExec::run_command("true") in a started
//    container, next to curl's exec create, then start + inspect (one curl,
//    `--next` reusing its connection), and `docker exec`. All three run the
//    same argv: Stirrup's `timeout` wrapping of `bash -c true`.
//  - start to first result: start() + run_command("true"), next to
//    `docker run -d` + `docker exec`, and curl's create, start, exec create,
//    exec start + inspect. Removal is outside the timing for all three.
//
// usage: docker_bench [image=stirrup-test:bookworm] [execs=60] [starts=6] [rounds=3]
// Prints a table, then one JSON line.

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "stirrup/exec/docker/detail/exec_rules.hpp"
#include "stirrup/exec/docker/docker.hpp"

extern char** environ;

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Runs argv to completion and returns its stdout; throws on a non-zero exit.
std::string run(const std::vector<std::string>& args)
{
    int out[2];
    if (::pipe(out) != 0)
        throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
        ::close(out[0]);
        throw std::runtime_error("cannot run " + args[0]);
    }
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(args[0] + " " + args[1] + " failed: " + text);
    return text;
}

std::string socket_path()
{
    const char* host = std::getenv("DOCKER_HOST");
    if (host && std::string(host).rfind("unix://", 0) == 0)
        return std::string(host).substr(7);
    if (host && *host)
        throw std::runtime_error("this benchmark compares against curl on the engine's unix socket; DOCKER_HOST is " +
                                 std::string(host));
    return "/var/run/docker.sock";
}

struct Curl {
    std::string socket;
    std::string base = "http://localhost/v1.41";

    std::vector<std::string> post(const std::string& path, const std::string& body) const
    {
        return {
            "curl", "-sS", "--fail",   "--unix-socket", socket, "-X", "POST", "-H", "Content-Type: application/json",
            "-d",   body,  base + path};
    }
    std::string create_exec(const std::string& container, const json::array& cmd) const
    {
        json::object o{{"AttachStdout", true}, {"AttachStderr", true}, {"Cmd", cmd}};
        return std::string(
            json::parse(run(post("/containers/" + container + "/exec", json::serialize(o)))).at("Id").as_string());
    }
    /// Start (the multiplexed output comes back as the body: `true` prints
    /// nothing) and inspect, on one connection.
    void start_and_inspect(const std::string& exec_id) const
    {
        auto args = post("/exec/" + exec_id + "/start", R"({"Detach":false,"Tty":false})");
        for (const char* a : {"--next", "-sS", "--fail", "--unix-socket"})
            args.emplace_back(a);
        args.push_back(socket);
        args.push_back(base + "/exec/" + exec_id + "/json");
        const std::string out = run(args);
        const auto brace = out.find('{');
        if (brace == std::string::npos || json::parse(out.substr(brace)).at("ExitCode").to_number<int>() != 0)
            throw std::runtime_error("curl exec did not exit 0: " + out);
    }
};

/// Runs one coroutine to completion on `io`.
template <class F>
void drive(asio::io_context& io, F make)
{
    std::exception_ptr failure;
    io.restart();
    asio::co_spawn(io, make(), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
}

struct Row {
    std::string name;
    std::vector<double> samples;
};

} // namespace

int main(int argc, char** argv)
{
    const std::string image = argc > 1 ? argv[1] : "stirrup-test:bookworm";
    const int execs = argc > 2 ? std::atoi(argv[2]) : 60;
    const int starts = argc > 3 ? std::atoi(argv[3]) : 6;
    const int rounds = argc > 4 ? std::atoi(argv[4]) : 3;
    const Curl curl{socket_path()};

    stirrup::PreparedCommand cmd;
    cmd.shell = "true";
    const auto wrapped = stirrup::detail::docker::timeout_wrapped_argv(cmd, stirrup::default_shell_timeout);
    const json::array cmd_json(wrapped.begin(), wrapped.end());

    stirrup::DockerCodeExecOptions options;
    options.network_mode = "none";
    asio::io_context io;

    Row ours_exec{"exec `true`: DockerCodeExec::run_command", {}};
    Row curl_exec{"exec `true`: curl (create; start + inspect)", {}};
    Row cli_exec{"exec `true`: docker exec", {}};
    Row ours_start{"start to first result: start() + run_command", {}};
    Row curl_start{"start to first result: curl (create, start, exec)", {}};
    Row cli_start{"start to first result: docker run -d + docker exec", {}};

    try {
        auto env = stirrup::DockerCodeExec::from_image(image, options);
        drive(io, [&]() -> stirrup::awaitable<void> { co_await env->start(); });
        const std::string container = *env->container_id();
        // Warm-up: the first exec of each kind pays for caches.
        drive(io, [&]() -> stirrup::awaitable<void> { co_await env->run_command("true"); });
        curl.start_and_inspect(curl.create_exec(container, cmd_json));

        std::vector<std::string> docker_exec = {"docker", "exec", container};
        docker_exec.insert(docker_exec.end(), wrapped.begin(), wrapped.end());
        run(docker_exec);

        for (int r = 0; r < rounds; ++r) {
            for (int i = 0; i < execs / rounds; ++i) {
                auto t0 = Clock::now();
                drive(io, [&]() -> stirrup::awaitable<void> {
                    auto result = co_await env->run_command("true");
                    if (result.exit_code != 0)
                        throw std::runtime_error("run_command(true) exited " + std::to_string(result.exit_code));
                });
                ours_exec.samples.push_back(ms_since(t0));

                t0 = Clock::now();
                curl.start_and_inspect(curl.create_exec(container, cmd_json));
                curl_exec.samples.push_back(ms_since(t0));

                t0 = Clock::now();
                run(docker_exec);
                cli_exec.samples.push_back(ms_since(t0));
            }
            for (int i = 0; i < std::max(1, starts / rounds); ++i) {
                {
                    auto fresh = stirrup::DockerCodeExec::from_image(image, options);
                    const auto t0 = Clock::now();
                    drive(io, [&]() -> stirrup::awaitable<void> {
                        co_await fresh->start();
                        co_await fresh->run_command("true");
                    });
                    ours_start.samples.push_back(ms_since(t0));
                    drive(io, [&]() -> stirrup::awaitable<void> { co_await fresh->stop(); });
                }
                {
                    const auto t0 = Clock::now();
                    json::object create{{"Image", image},
                                        {"Cmd", json::array{"sleep", "infinity"}},
                                        {"WorkingDir", "/workspace"},
                                        {"HostConfig", json::object{{"Init", true}, {"NetworkMode", "none"}}}};
                    const std::string id(json::parse(run(curl.post("/containers/create", json::serialize(create))))
                                             .at("Id")
                                             .as_string());
                    run(curl.post("/containers/" + id + "/start", ""));
                    curl.start_and_inspect(curl.create_exec(id, cmd_json));
                    curl_start.samples.push_back(ms_since(t0));
                    run({"curl", "-sS", "--fail", "--unix-socket", curl.socket, "-X", "DELETE",
                         curl.base + "/containers/" + id + "?force=true&v=true"});
                }
                {
                    const auto t0 = Clock::now();
                    std::string id = run({"docker", "run", "-d", "--init", "--network", "none", "-w", "/workspace",
                                          image, "sleep", "infinity"});
                    id.erase(id.find_last_not_of(" \n") + 1);
                    std::vector<std::string> exec = {"docker", "exec", id};
                    exec.insert(exec.end(), wrapped.begin(), wrapped.end());
                    run(exec);
                    cli_start.samples.push_back(ms_since(t0));
                    run({"docker", "rm", "-f", "-v", id});
                }
            }
        }
        drive(io, [&]() -> stirrup::awaitable<void> { co_await env->stop(); });
    } catch (const std::exception& e) {
        std::cerr << "docker_bench: " << e.what() << '\n';
        return 1;
    }

    const double exec_floor = median(curl_exec.samples);
    const double start_floor = median(cli_start.samples);
    std::printf("%-56s %8s %8s  %s\n", "what", "median", "samples", "ratio");
    auto line = [](const Row& row, double base, const char* of) {
        std::printf("%-56s %6.1fms %8zu  %.2fx %s\n", row.name.c_str(), median(row.samples), row.samples.size(),
                    median(row.samples) / base, of);
    };
    line(curl_exec, exec_floor, "curl");
    line(ours_exec, exec_floor, "curl (goal <= 1.10x)");
    line(cli_exec, exec_floor, "curl");
    line(cli_start, start_floor, "docker CLI");
    line(ours_start, start_floor, "docker CLI (goal <= 1.00x)");
    line(curl_start, start_floor, "docker CLI");

    json::object result{
        {"exec_ms", json::object{{"stirrup", median(ours_exec.samples)},
                                 {"curl", exec_floor},
                                 {"docker_cli", median(cli_exec.samples)}}},
        {"start_to_first_result_ms", json::object{{"stirrup", median(ours_start.samples)},
                                                  {"curl", median(curl_start.samples)},
                                                  {"docker_cli", start_floor}}},
        {"exec_ratio_vs_curl", median(ours_exec.samples) / exec_floor},
        {"start_ratio_vs_docker_cli", median(ours_start.samples) / start_floor},
    };
    std::cout << json::serialize(result) << '\n';
    return 0;
}
