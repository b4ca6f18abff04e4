// E2B backend benchmark against a running E2B-compatible server (the fake,
// started by bench/run-e2b-bench.sh): for each of S sessions, the time from
// start() to the first command's result, then N round trips of `true`; and
// from the server's /__stats, TLS handshakes per session and HTTP requests
// per command. Prints a table and one JSON line (prefixed "RESULT ") for the
// script that compares it with the official SDK.
//
//   e2b_bench --url https://127.0.0.1:PORT --api-key KEY [--ca CA.pem]
//             [--sessions S] [--commands N] [--instant]
//
// --instant sets the fake's instant_commands knob to ["true"] for the run:
// `true` is answered without starting a process, so the times are the
// client's and the protocol's (as sdk_bench.mjs --instant does).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/net/http_client.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
    std::string url;
    std::string api_key;
    std::string ca;
    int sessions = 5;
    int commands = 200;
    bool instant = false;
};

Args parse_args(int argc, char** argv)
{
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << k << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (k == "--url")
            a.url = val();
        else if (k == "--api-key")
            a.api_key = val();
        else if (k == "--ca")
            a.ca = val();
        else if (k == "--sessions")
            a.sessions = std::stoi(val());
        else if (k == "--commands")
            a.commands = std::stoi(val());
        else if (k == "--instant")
            a.instant = true;
        else {
            std::cerr << "unknown argument " << k << "\n";
            std::exit(2);
        }
    }
    if (a.url.empty() || a.api_key.empty() || a.sessions < 1 || a.commands < 1) {
        std::cerr << "usage: e2b_bench --url URL --api-key KEY [--ca CA.pem] [--sessions S] [--commands N]\n";
        std::exit(2);
    }
    return a;
}

stirrup::net::HttpClientOptions http_options(const Args& a)
{
    stirrup::net::HttpClientOptions o;
    if (!a.ca.empty())
        o.tls.ca_file = a.ca;
    o.use_env_proxy = false;
    return o;
}

// One request to the fake's control endpoints, on a private io_context.
std::string control(const Args& a, std::string method, const std::string& path, std::string body = "")
{
    asio::io_context io;
    auto o = http_options(a);
    o.retry.max_retries = 0;
    stirrup::net::HttpClient http(io.get_executor(), o);
    stirrup::net::HttpRequest req;
    req.method = std::move(method);
    req.url = a.url + path;
    req.body = std::move(body);
    stirrup::net::HttpResponse resp;
    std::exception_ptr failure;
    asio::co_spawn(io, http.request(std::move(req)), [&](std::exception_ptr e, stirrup::net::HttpResponse r) {
        failure = e;
        resp = std::move(r);
    });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    if (resp.status != 200)
        throw std::runtime_error(path + " answered " + std::to_string(resp.status));
    return resp.body;
}

json::value server_stats(const Args& a)
{
    return json::parse(control(a, "GET", "/__stats"));
}

std::int64_t num(const json::value& stats, const char* key)
{
    return stats.at(key).to_number<std::int64_t>();
}

struct Session {
    double first_command_ms = 0;
    std::vector<double> per_command_ms;
    std::uint64_t client_handshakes = 0;
};

asio::awaitable<void> run_session(stirrup::E2BCodeExecOptions options, int commands, Session* out)
{
    auto env = stirrup::E2BCodeExec::make(std::move(options));
    const auto t0 = Clock::now();
    co_await env->start();
    auto r = co_await env->run_command("true");
    out->first_command_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (r.exit_code != 0)
        throw std::runtime_error("`true` failed: " + r.stderr_text);
    for (int i = 0; i < commands; ++i) {
        const auto t = Clock::now();
        r = co_await env->run_command("true");
        out->per_command_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
        if (r.exit_code != 0)
            throw std::runtime_error("`true` failed: " + r.stderr_text);
    }
    out->client_handshakes = env->http_client()->stats().tls_handshakes;
    co_await env->stop();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    const Args args = parse_args(argc, argv);
    stirrup::E2BCodeExecOptions options;
    options.api_key = args.api_key;
    options.api_url = args.url;
    options.sandbox_url = args.url;
    options.http_options = http_options(args);
    options.on_warning = [](std::string_view w) { std::cerr << "warning: " << w << "\n"; };

    if (args.instant)
        control(args, "POST", "/__faults", R"({"instant_commands":["true"]})");
    const json::value before = server_stats(args);
    std::vector<Session> sessions(static_cast<std::size_t>(args.sessions));
    // Sessions one after another: each measures its own cold start.
    for (auto& s : sessions) {
        asio::io_context io;
        std::exception_ptr failure;
        asio::co_spawn(io, run_session(options, args.commands, &s), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                std::cerr << "session failed: " << e.what() << "\n";
                return 1;
            }
        }
    }
    const json::value after = server_stats(args);
    if (args.instant)
        control(args, "POST", "/__faults", R"({"instant_commands":null})");

    std::vector<double> firsts, all;
    for (const auto& s : sessions) {
        firsts.push_back(s.first_command_ms);
        all.insert(all.end(), s.per_command_ms.begin(), s.per_command_ms.end());
    }
    const double n_sessions = args.sessions;
    const double n_commands = n_sessions * (args.commands + 1);
    const auto route = [&](const json::value& s, const char* r) -> double {
        const auto* v = s.at("requests_by_route").as_object().if_contains(r);
        return v ? static_cast<double>(v->to_number<std::int64_t>()) : 0.0;
    };
    // Less the handshakes of this program's own /__stats connections.
    const double handshakes =
        static_cast<double>((num(after, "tls_handshakes") - num(before, "tls_handshakes")) -
                            (num(after, "control_connections") - num(before, "control_connections")));
    const double requests = static_cast<double>(num(after, "requests") - num(before, "requests"));
    const double lifecycle = (route(after, "POST /sandboxes") - route(before, "POST /sandboxes")) +
                             (route(after, "DELETE /sandboxes/{id}") - route(before, "DELETE /sandboxes/{id}"));
    const double per_command_mean = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size());

    json::object result;
    result["impl"] = "stirrup-cpp";
    result["sessions"] = args.sessions;
    result["commands_per_session"] = args.commands;
    result["first_command_ms"] = median(firsts);
    result["per_command_ms"] = median(all);
    result["per_command_mean_ms"] = per_command_mean;
    result["tls_handshakes_per_session"] = handshakes / n_sessions;
    result["requests_per_command"] = (requests - lifecycle) / n_commands;
    result["requests_per_session"] = requests / n_sessions;
    result["instant"] = args.instant;

    std::printf("stirrup-cpp E2B backend, %d sessions x (1 + %d) commands of `true`%s\n", args.sessions, args.commands,
                args.instant ? " (instant)" : "");
    std::printf("  start() to first result (median): %8.2f ms\n", median(firsts));
    std::printf("  per command (median / mean):      %8.3f / %.3f ms\n", median(all), per_command_mean);
    std::printf("  TLS handshakes per session:       %8.2f\n", handshakes / n_sessions);
    std::printf("  HTTP requests per command:        %8.2f\n", (requests - lifecycle) / n_commands);
    std::printf("RESULT %s\n", json::serialize(result).c_str());
    return 0;
}
