#pragma once
// A small HTTP/1.1 server for the client's tests, on its own thread and
// io_context: plain TCP or TLS on 127.0.0.1 (port 0), or a unix socket in a
// temp directory. Each test gives a handler that decides per request what
// happens: an answer, a stall, a chunked answer in pieces, a connection
// dropped mid-body, raw bytes. Also a tiny CONNECT proxy.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "stirrup/net/http_options.hpp"

namespace stirrup::test {

enum class Listener { tcp, tls, unix_socket };

struct TestServerOptions {
    Listener listener = Listener::tcp;
    /// Which of test_certs()'s certificates a TLS listener serves: "server"
    /// (127.0.0.1 and localhost), "wronghost", "untrusted", "cnonly", "expired".
    std::string certificate = "server";
    /// Keep every request for received(); off for long runs (benchmarks).
    bool record_requests = true;
};

struct ReceivedRequest {
    std::string method;
    std::string target;
    std::string body;
    net::Headers headers;
    /// 0-based index of the connection (in accept order) and of the request on it.
    int connection = 0;
    int index_on_connection = 0;
    std::string header(std::string_view name) const;
};

/// One request being answered. Writers throw when the client went away.
class Exchange {
public:
    ReceivedRequest request;

    boost::asio::awaitable<void> respond(int status, std::string body = {}, net::Headers headers = {});
    /// Headers with Transfer-Encoding: chunked, then one chunk per piece,
    /// with `gap` between pieces, then the last chunk.
    boost::asio::awaitable<void> respond_chunked(int status, std::vector<std::string> pieces, net::Headers headers = {},
                                                 std::chrono::milliseconds gap = {});
    boost::asio::awaitable<void> send_raw(std::string bytes);
    /// Waits until the client closes the connection (never answers).
    boost::asio::awaitable<void> stall();
    boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
    /// Closes the connection once the handler returns (at once for the peer:
    /// nothing more is sent).
    void close() { close_ = true; }
    /// Like close(), but with an RST (SO_LINGER 0) instead of a FIN.
    void reset()
    {
        close_ = true;
        reset_ = true;
    }

    struct Io {
        std::function<boost::asio::awaitable<void>(std::string)> write;
        std::function<boost::asio::awaitable<void>()> wait_closed;
    };
    Io io;
    bool close_ = false;
    bool reset_ = false;
};

/// One header, built outside the caller's coroutine: GCC 12 cannot compile a
/// braced list inside a co_await expression.
inline net::Headers one_header(std::string name, std::string value)
{
    net::Headers h;
    h.emplace_back(std::move(name), std::move(value));
    return h;
}

using Handler = std::function<boost::asio::awaitable<void>(Exchange&)>;

class HttpTestServer {
public:
    explicit HttpTestServer(Handler handler, TestServerOptions options = {});
    ~HttpTestServer();
    HttpTestServer(const HttpTestServer&) = delete;
    HttpTestServer& operator=(const HttpTestServer&) = delete;

    /// http://127.0.0.1:port/target, https://... or unix:///path:/target.
    std::string url(std::string_view target = "/") const;
    std::uint16_t port() const;

    /// Connections accepted, TLS handshakes completed, requests read.
    int connections() const;
    int handshakes() const;
    int requests() const;
    /// Most connections open at the same time, and open now.
    int max_open_connections() const;
    int open_connections() const;
    std::vector<ReceivedRequest> received() const;

    struct State;

private:
    std::shared_ptr<State> state_;
};

/// A CONNECT-only proxy on 127.0.0.1: tunnels to the requested host:port.
class ConnectProxy {
public:
    ConnectProxy();
    ~ConnectProxy();
    std::uint16_t port() const { return port_; }
    /// The authorities CONNECT asked for, in order.
    std::vector<std::string> tunnels() const;

    struct State;

private:
    std::shared_ptr<State> state_;
    std::uint16_t port_ = 0;
};

/// Sets environment variables for a scope and restores them after.
class ScopedEnv {
public:
    ScopedEnv(std::vector<std::pair<std::string, std::string>> vars);
    ~ScopedEnv();

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

} // namespace stirrup::test
