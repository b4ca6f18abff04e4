#pragma once
// Starts the fake OpenAI-compatible server (tests/fakes/openai/server.mjs)
// over TLS with certificates generated for this test run, and reads back
// what it recorded.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace stirrup::test {

/// Certificates generated once per test process by tests/fakes/gen-certs.sh.
struct TestCertificates {
    std::filesystem::path dir;
    std::filesystem::path ca() const { return dir / "ca.pem"; }
    std::filesystem::path cert(const std::string& name) const { return dir / (name + ".pem"); }
    std::filesystem::path key(const std::string& name) const { return dir / (name + ".key"); }
};
const TestCertificates& test_certificates();

class FakeOpenAi {
public:
    struct Options {
        bool plain = false;           ///< HTTP instead of HTTPS
        bool forever = false;         ///< answer "ok" once the scenario is used up
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

private:
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    int port_ = 0;
    bool plain_ = false;
};

} // namespace stirrup::test
