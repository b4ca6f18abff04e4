#pragma once
// Starts the fake OpenAI-compatible server (tests/fakes/openai/server.mjs)
// over TLS with certificates generated for this test run, and reads back
// what it recorded.

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "support/node_server.hpp"
#include "support/test_certs.hpp"

namespace stirrup::test {

class FakeOpenAi {
public:
    struct Options {
        bool plain = false;                 ///< HTTP instead of HTTPS
        bool forever = false;               ///< answer "ok" once the scenario is used up
        std::string certificate = "server"; ///< which generated certificate to serve
    };
    /// `scenario`: the JSON scenario (see tests/fakes/README.md).
    explicit FakeOpenAi(const std::string& scenario);
    FakeOpenAi(const std::string& scenario, Options options);
    ~FakeOpenAi();
    FakeOpenAi(const FakeOpenAi&) = delete;
    FakeOpenAi& operator=(const FakeOpenAi&) = delete;

    int port() const { return port_; }
    /// https://127.0.0.1:PORT/v1 (http:// when plain).
    std::string base_url() const;
    /// The recorded requests, in order (the record file's lines).
    std::vector<boost::json::value> requests() const;

    /// Replaces the scenario (POST /__scenario): every cursor restarts and the
    /// recorded requests are cleared. Throws if the server refuses it.
    /// Blocking: call it between runs, not from inside a running io_context.
    void set_scenario(const std::string& json);
    /// GET /__stats: counters, steps_used/left, sessions_used/left.
    boost::json::value stats();

private:
    std::string control_url(const std::string& path) const;

    std::filesystem::path dir_;
    std::unique_ptr<NodeServer> server_;
    int port_ = 0;
    bool plain_ = false;
};

} // namespace stirrup::test
