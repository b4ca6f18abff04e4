// Small chat-completion requests over keep-alive TLS against the fake
// OpenAI-compatible server, from one thread: requests per second and p50/p99
// latency for stirrup's HttpClient and ChatCompletionsClient, next to curl
// making the same requests in one process that reuses its connection,
// measured in the same run. Then the process's resident memory over many
// requests, which must stay flat.
//
// usage: chat_client_bench [N=2000] [memory_requests=100000]

#include <algorithm>
#include <chrono>
#include <cstdio> // std::remove
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "stirrup/exec/local/detail/child_process.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/net/http_client.hpp"
#include "support/fake_openai.hpp"

extern char** environ;

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using stirrup::test::FakeOpenAi;
using stirrup::test::test_certs;

namespace {

const std::string request_body =
    R"({"model":"bench","messages":[{"role":"user","content":[{"type":"text","text":"ping"}]}],"max_completion_tokens":16})";

struct Summary {
    double per_request_us = 0, p50_us = 0, p99_us = 0, rps = 0;
};

Summary summarize(std::vector<double> us)
{
    std::sort(us.begin(), us.end());
    Summary s;
    double total = 0;
    for (double v : us)
        total += v;
    s.per_request_us = total / static_cast<double>(us.size());
    s.p50_us = us[us.size() / 2];
    s.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    s.rps = 1e6 / s.per_request_us;
    return s;
}

long rss_kib()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0)
            return std::atol(line.c_str() + 6);
    return 0;
}

template <class F>
void run(F f)
{
    asio::io_context io;
    asio::co_spawn(io, f(), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
    io.run();
}

// curl, one process, N requests on one reused connection; per-request times
// from --write-out.
std::vector<double> curl_baseline(const FakeOpenAi& fake, int n)
{
    // One option group for all N URLs: curl then reuses its connection
    // (a --next per request would reset the TLS options and reconnect).
    std::string escaped_body;
    for (char c : request_body)
        escaped_body += (c == '"' ? std::string("\\\"") : std::string(1, c));
    const std::string config = "/tmp/stirrup-bench-curl.cfg";
    {
        std::ofstream cfg(config);
        cfg << "cacert = \"" << test_certs().ca_cert.string() << "\"\n"
            << "header = \"Authorization: Bearer sk-bench\"\n"
            << "header = \"Content-Type: application/json\"\n"
            << "data-raw = \"" << escaped_body << "\"\n"
            << "write-out = \"%{time_total}\\n\"\n";
        for (int i = 0; i < n; ++i)
            cfg << "url = \"" << fake.base_url() << "/chat/completions\"\noutput = \"/dev/null\"\n";
    }
    stirrup::detail::ChildProcessSpec spec;
    spec.argv = {"curl", "-s", "-K", config};
    spec.cwd = "/tmp";
    for (char** e = environ; *e; ++e)
        spec.env.emplace_back(*e);
    spec.timeout = std::chrono::minutes(10);
    spec.capture_chars_each_side = 64u * 1024 * 1024;
    stirrup::detail::ChildProcessResult result;
    run([&]() -> asio::awaitable<void> { result = co_await stirrup::detail::run_child_process(spec); });
    std::remove(config.c_str());
    std::vector<double> us;
    std::istringstream lines(result.stdout_text);
    for (double seconds; lines >> seconds;)
        us.push_back(seconds * 1e6);
    if (static_cast<int>(us.size()) != n)
        throw std::runtime_error("curl made " + std::to_string(us.size()) + " requests: " + result.stderr_text);
    return us;
}

stirrup::net::HttpClientOptions trusting_test_ca()
{
    stirrup::net::HttpClientOptions o;
    o.tls.ca_file = test_certs().ca_cert.string();
    return o;
}

std::vector<double> http_client_requests(const FakeOpenAi& fake, int n)
{
    std::vector<double> us;
    run([&]() -> asio::awaitable<void> {
        stirrup::net::HttpClient http(co_await asio::this_coro::executor, trusting_test_ca());
        for (int i = 0; i < n; ++i) {
            stirrup::net::HttpRequest req;
            req.method = "POST";
            req.url = fake.base_url() + "/chat/completions";
            req.headers = {{"Authorization", "Bearer sk-bench"}, {"Content-Type", "application/json"}};
            req.body = request_body;
            const auto t0 = Clock::now();
            auto res = co_await http.request(std::move(req));
            us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            if (res.status != 200)
                throw std::runtime_error("status " + std::to_string(res.status));
        }
    });
    return us;
}

std::vector<double> chat_client_requests(const FakeOpenAi& fake, int n, long* rss_before = nullptr,
                                         long* rss_after = nullptr)
{
    std::vector<double> us;
    run([&]() -> asio::awaitable<void> {
        auto http = std::make_shared<stirrup::net::HttpClient>(co_await asio::this_coro::executor, trusting_test_ca());
        stirrup::ChatCompletionsOptions o;
        o.model = "bench";
        o.max_tokens = 16;
        o.context_window_tokens = 1000;
        o.base_url = fake.base_url();
        o.api_key = "sk-bench";
        stirrup::ChatCompletionsClient client(http, o);
        const std::vector<stirrup::ChatMessage> messages{stirrup::UserMessage{std::string("ping")}};
        const std::vector<stirrup::ToolDefinition> tools;
        for (int i = 0; i < n; ++i) {
            if (i == std::min(1000, n / 10) && rss_before)
                *rss_before = rss_kib();
            const auto t0 = Clock::now();
            co_await client.generate(messages, tools);
            us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        }
        if (rss_after)
            *rss_after = rss_kib();
    });
    return us;
}

void print(const char* name, const Summary& s, const Summary& base)
{
    std::printf("  %-28s %8.0f req/s  p50 %7.0f us  p99 %7.0f us  per-request %.2fx curl\n", name, s.rps, s.p50_us,
                s.p99_us, s.per_request_us / base.per_request_us);
}

} // namespace

int main(int argc, char** argv)
{
    const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    const int memory_requests = argc > 2 ? std::atoi(argv[2]) : 100000;
    FakeOpenAi fake("[]", {.forever = true});

    http_client_requests(fake, 100); // warm up the server and the caches
    std::vector<double> curl_all, http_all, chat_all;
    for (int round = 0; round < 3; ++round) { // interleaved against drift
        auto c = curl_baseline(fake, n / 3);
        auto h = http_client_requests(fake, n / 3);
        auto g = chat_client_requests(fake, n / 3);
        curl_all.insert(curl_all.end(), c.begin(), c.end());
        http_all.insert(http_all.end(), h.begin(), h.end());
        chat_all.insert(chat_all.end(), g.begin(), g.end());
    }
    const Summary curl = summarize(curl_all);
    std::printf("chat_client_bench: %d small chat completions each, keep-alive TLS, one thread\n", n / 3 * 3);
    print("curl (one process, reused)", curl, curl);
    print("net::HttpClient", summarize(http_all), curl);
    print("ChatCompletionsClient", summarize(chat_all), curl);

    long before = 0, after = 0;
    chat_client_requests(fake, memory_requests, &before, &after);
    std::printf("  memory over %d requests: RSS %ld KiB after warm-up, %ld KiB at the end (%+ld KiB)\n",
                memory_requests, before, after, after - before);
    return 0;
}
