#pragma once
// Starts the fake E2B server (tests/fakes/e2b/server.mjs: the control plane
// and envd on one port, real commands in a per-sandbox directory playing
// /home/user) over TLS with this run's test certificates, and drives its
// control endpoints (stats, recorded requests, fault injection). The server
// reads a pipe on its stdin and exits when the test process does.

#include <sys/types.h>

#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include "stirrup/exec/e2b/e2b.hpp"
#include "support/node_server.hpp"
#include "support/test_certs.hpp"

namespace stirrup::test {

class FakeE2B {
public:
    struct Options {
        bool plain = false; ///< HTTP instead of HTTPS
        std::string api_key = "e2b_0123456789abcdef0123456789abcdef01234567";
    };
    FakeE2B();
    explicit FakeE2B(Options options);
    ~FakeE2B();
    FakeE2B(const FakeE2B&) = delete;
    FakeE2B& operator=(const FakeE2B&) = delete;

    int port() const { return port_; }
    /// https://127.0.0.1:PORT (http:// when plain): control plane and envd.
    std::string url() const;
    const std::string& api_key() const { return options_.api_key; }

    /// Provider options pointing at this server: API URL, sandbox URL, key,
    /// and an HTTP client that trusts the test CA.
    E2BCodeExecOptions provider_options() const;

    // Control endpoints. Blocking: call them outside a running io_context
    // (they run one of their own).
    boost::json::value stats() const;                 ///< GET /__stats
    boost::json::value sandboxes() const;             ///< GET /__sandboxes
    boost::json::value requests() const;              ///< GET /__requests
    void clear_requests() const;                      ///< DELETE /__requests
    void set_faults(const std::string& json) const;   ///< POST /__faults (merged)
    void clear_faults() const;                        ///< DELETE /__faults
    void vanish(const std::string& sandbox_id) const; ///< POST /__sandboxes/{id}/vanish
    void reset() const;                               ///< POST /__reset

    /// Shorthands of stats().
    std::int64_t live_sandboxes() const;
    std::int64_t running_processes() const;
    /// requests_by_route[route], 0 when absent ("POST /sandboxes", ...).
    std::int64_t route_count(const std::string& route) const;

private:
    std::string control(const std::string& method, const std::string& path, const std::string& body = "") const;

    Options options_;
    std::unique_ptr<NodeServer> server_;
    int port_ = 0;
};

/// One server for the whole test process, reset by the caller as needed.
FakeE2B& shared_fake_e2b();

/// The shared server, reset: no sandboxes, faults or recorded requests.
FakeE2B& fresh_fake_e2b();

/// Checks (doctest) that no sandbox and no process is left on `fake`,
/// waiting a little for kills posted in the background.
void check_fake_e2b_clean(FakeE2B& fake);

} // namespace stirrup::test
