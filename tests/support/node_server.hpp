#pragma once
// A test server written for Node (the fakes under tests/fakes/): started with
// a pipe on its stdin, so it exits with the test process even after a crash,
// and known by the port it prints on its first stdout line, {"port": N} or
// "listening N".

#include <sys/types.h>

#include <string>
#include <vector>

#include "stirrup/net/http_client.hpp"

namespace stirrup::test {

class NodeServer {
public:
    /// Runs `node script args...` and waits for its port line. Throws when
    /// the server exits first, with what it printed.
    NodeServer(std::string script, std::vector<std::string> args);
    ~NodeServer();
    NodeServer(const NodeServer&) = delete;
    NodeServer& operator=(const NodeServer&) = delete;

    int port() const { return port_; }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int port_ = 0;
};

/// One request on a private io_context (for control endpoints, outside the
/// io_context of the code under test), trusting the test CA, no proxy, no retry.
net::HttpResponse blocking_request(std::string method, std::string url, std::string body = "");

} // namespace stirrup::test
