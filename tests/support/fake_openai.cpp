#include "support/fake_openai.hpp"

#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "stirrup/net/http_client.hpp"

extern char** environ;

namespace stirrup::test {
namespace fs = std::filesystem;

namespace {

fs::path fresh_temp_dir(const std::string& prefix)
{
    std::string templ = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (!::mkdtemp(templ.data()))
        throw std::runtime_error("mkdtemp failed");
    return templ;
}

// `stdin_fd`: the read end of a pipe whose write end the test keeps open; the
// server exits when it closes, so a crashed test leaves no server behind.
pid_t spawn(const std::vector<std::string>& args, int stdout_fd, int stdin_fd)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    if (stdout_fd >= 0)
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

// One request to a control endpoint on a private io_context: the tests that
// use it run their own io_context only around the code under test.
stirrup::net::HttpResponse control_request(const std::string& url, std::string method, std::string body)
{
    boost::asio::io_context io;
    stirrup::net::HttpClientOptions options;
    options.tls.ca_file = test_certs().ca_cert.string();
    options.use_env_proxy = false;
    options.retry.max_retries = 0;
    stirrup::net::HttpClient http(io.get_executor(), options);
    stirrup::net::HttpRequest req;
    req.method = std::move(method);
    req.url = url;
    req.body = std::move(body);
    if (!req.body.empty())
        req.headers.emplace_back("content-type", "application/json");
    std::exception_ptr failure;
    stirrup::net::HttpResponse response;
    boost::asio::co_spawn(io, http.request(std::move(req)),
                          [&](std::exception_ptr e, stirrup::net::HttpResponse r) {
                              failure = e;
                              response = std::move(r);
                          });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    return response;
}

int wait_exit(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

} // namespace

FakeOpenAi::FakeOpenAi(const std::string& scenario) : FakeOpenAi(scenario, Options{}) {}

FakeOpenAi::FakeOpenAi(const std::string& scenario, Options options) : plain_(options.plain)
{
    const auto& certs = test_certs();
    dir_ = fresh_temp_dir("stirrup-fake-openai-");
    std::ofstream(dir_ / "scenario.json") << scenario;
    std::vector<std::string> args = {"node",
                                     STIRRUP_SOURCE_DIR "/tests/fakes/openai/server.mjs",
                                     "--scenario",
                                     (dir_ / "scenario.json").string(),
                                     "--record",
                                     (dir_ / "requests.jsonl").string()};
    if (options.plain) {
        args.push_back("--plain");
    } else {
        args.insert(args.end(), {"--cert", certs.cert(options.certificate).string(), "--key",
                                 certs.key(options.certificate).string()});
    }
    if (options.forever)
        args.push_back("--forever");

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    pid_ = spawn(args, fds[1], in[0]);
    ::close(in[0]);
    stdin_fd_ = in[1];
    ::close(fds[1]);
    // The server prints exactly one line, {"port": N}, once it listens.
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n')
        line += c;
    ::close(fds[0]);
    try {
        port_ = static_cast<int>(boost::json::parse(line).at("port").to_number<int>());
    } catch (const std::exception&) {
        ::kill(pid_, SIGKILL);
        wait_exit(pid_);
        throw std::runtime_error("the fake OpenAI server did not start (printed '" + line + "')");
    }
}

FakeOpenAi::~FakeOpenAi()
{
    if (stdin_fd_ >= 0)
        ::close(stdin_fd_);
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        wait_exit(pid_);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string FakeOpenAi::base_url() const
{
    return std::string(plain_ ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::vector<boost::json::value> FakeOpenAi::requests() const
{
    std::vector<boost::json::value> out;
    std::ifstream in(dir_ / "requests.jsonl");
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.push_back(boost::json::parse(line));
    return out;
}

std::string FakeOpenAi::control_url(const std::string& path) const
{
    return std::string(plain_ ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeOpenAi::set_scenario(const std::string& json)
{
    const auto r = control_request(control_url("/__scenario"), "POST", json);
    if (r.status != 200)
        throw std::runtime_error("the fake OpenAI server refused the scenario: " + r.body);
}

boost::json::value FakeOpenAi::stats()
{
    const auto r = control_request(control_url("/__stats"), "GET", "");
    if (r.status != 200)
        throw std::runtime_error("GET /__stats answered " + std::to_string(r.status) + ": " + r.body);
    return boost::json::parse(r.body);
}

} // namespace stirrup::test
