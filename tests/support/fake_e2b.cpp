#include "support/fake_e2b.hpp"

#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "stirrup/net/http_client.hpp"

extern char** environ;

namespace stirrup::test {

namespace {

pid_t spawn(const std::vector<std::string>& args, int stdout_fd, int stdin_fd)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw std::runtime_error("cannot start " + args[0]);
    return pid;
}

int wait_exit(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

} // namespace

FakeE2B::FakeE2B() : FakeE2B(Options{}) {}

FakeE2B::FakeE2B(Options options) : options_(std::move(options))
{
    const auto& certs = test_certs();
    std::vector<std::string> args = {"node", STIRRUP_SOURCE_DIR "/tests/fakes/e2b/server.mjs", "--api-key",
                                     options_.api_key};
    if (options_.plain)
        args.push_back("--plain");
    else
        args.insert(args.end(), {"--cert", certs.server_cert.string(), "--key", certs.server_key.string()});
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    pid_ = spawn(args, out[1], in[0]);
    ::close(in[0]);
    ::close(out[1]);
    stdin_fd_ = in[1];
    // The server prints exactly one line, {"port": N}, once it listens.
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
        line += c;
    ::close(out[0]);
    try {
        port_ = static_cast<int>(boost::json::parse(line).at("port").to_number<int>());
    } catch (const std::exception&) {
        ::kill(pid_, SIGKILL);
        wait_exit(pid_);
        throw std::runtime_error("the fake E2B server did not start (printed '" + line + "')");
    }
}

FakeE2B::~FakeE2B()
{
    if (stdin_fd_ >= 0)
        ::close(stdin_fd_);
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        wait_exit(pid_);
    }
}

std::string FakeE2B::url() const
{
    return std::string(options_.plain ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_);
}

E2BCodeExecOptions FakeE2B::provider_options() const
{
    E2BCodeExecOptions o;
    o.api_key = options_.api_key;
    o.api_url = url();
    o.sandbox_url = url();
    o.http_options.tls.ca_file = test_certs().ca_cert.string();
    o.http_options.use_env_proxy = false;
    return o;
}

std::string FakeE2B::control(const std::string& method, const std::string& path, const std::string& body) const
{
    boost::asio::io_context io;
    net::HttpClientOptions options;
    options.tls.ca_file = test_certs().ca_cert.string();
    options.use_env_proxy = false;
    options.retry.max_retries = 0;
    net::HttpClient http(io.get_executor(), options);
    net::HttpRequest req;
    req.method = method;
    req.url = url() + path;
    req.body = body;
    if (!body.empty())
        req.headers.emplace_back("content-type", "application/json");
    std::exception_ptr failure;
    net::HttpResponse response;
    boost::asio::co_spawn(io, http.request(std::move(req)), [&](std::exception_ptr e, net::HttpResponse r) {
        failure = e;
        response = std::move(r);
    });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    if (response.status != 200)
        throw std::runtime_error(method + " " + path + " answered " + std::to_string(response.status) + ": " +
                                 response.body);
    return response.body;
}

boost::json::value FakeE2B::stats() const { return boost::json::parse(control("GET", "/__stats")); }
boost::json::value FakeE2B::sandboxes() const { return boost::json::parse(control("GET", "/__sandboxes")); }
boost::json::value FakeE2B::requests() const { return boost::json::parse(control("GET", "/__requests")); }
void FakeE2B::clear_requests() const { control("DELETE", "/__requests"); }
void FakeE2B::set_faults(const std::string& json) const { control("POST", "/__faults", json); }
void FakeE2B::clear_faults() const { control("DELETE", "/__faults"); }
void FakeE2B::vanish(const std::string& id) const { control("POST", "/__sandboxes/" + id + "/vanish", "{}"); }
void FakeE2B::reset() const { control("POST", "/__reset", "{}"); }

std::int64_t FakeE2B::live_sandboxes() const { return stats().at("live_sandboxes").to_number<std::int64_t>(); }
std::int64_t FakeE2B::running_processes() const { return stats().at("running_processes").to_number<std::int64_t>(); }

std::int64_t FakeE2B::route_count(const std::string& route) const
{
    const auto s = stats();
    const auto* v = s.at("requests_by_route").as_object().if_contains(route);
    return v ? v->to_number<std::int64_t>() : 0;
}

FakeE2B& shared_fake_e2b()
{
    static FakeE2B fake;
    return fake;
}

} // namespace stirrup::test
