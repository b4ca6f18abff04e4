#include "support/node_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "support/test_certs.hpp"

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
        throw std::runtime_error("cannot start " + args[0] + " " + args[1]);
    return pid;
}

void wait_exit(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

} // namespace

NodeServer::NodeServer(std::string script, std::vector<std::string> args)
{
    args.insert(args.begin(), {"node", script});
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    if (::pipe2(in, O_CLOEXEC) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw std::runtime_error("pipe2 failed");
    }
    try {
        pid_ = spawn(args, out[1], in[0]);
    } catch (...) {
        for (int fd : {out[0], out[1], in[0], in[1]})
            ::close(fd);
        throw;
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_fd_ = in[1];
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
        line += c;
    ::close(out[0]);
    try {
        // The fakes print {"port": N}; the MCP servers "listening N".
        if (line.starts_with("listening "))
            port_ = std::stoi(line.substr(10));
        else
            port_ = boost::json::parse(line).at("port").to_number<int>();
    } catch (const std::exception&) {
        ::close(stdin_fd_);
        ::kill(pid_, SIGKILL);
        wait_exit(pid_);
        throw std::runtime_error(script + " did not start (printed '" + line + "')");
    }
}

NodeServer::~NodeServer()
{
    ::close(stdin_fd_);
    ::kill(pid_, SIGTERM);
    wait_exit(pid_);
}

net::HttpResponse blocking_request(std::string method, std::string url, std::string body)
{
    boost::asio::io_context io;
    net::HttpClientOptions options;
    options.tls.ca_file = test_certs().ca_cert.string();
    options.use_env_proxy = false;
    options.retry.max_retries = 0;
    net::HttpClient http(io.get_executor(), options);
    net::HttpRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = std::move(body);
    if (!req.body.empty())
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
    return response;
}

} // namespace stirrup::test
