#pragma once
// Certificates generated once per test process by tests/fakes/gen-certs.sh
// (the one generator, shared with the Node fakes): a CA, a server certificate
// it signed for 127.0.0.1 and localhost, one for another host name only, one
// with the right names signed by a CA nobody trusts, one naming localhost only
// in its subject CN, and an expired one. PEM files in a fresh temp directory,
// removed at exit.

#include <filesystem>
#include <string>

namespace stirrup::test {

struct TestCerts {
    std::filesystem::path dir;
    std::filesystem::path ca_cert;     // the CA to trust
    std::filesystem::path server_cert; // SAN: IP 127.0.0.1, ::1, DNS localhost
    std::filesystem::path server_key;
    std::filesystem::path wrong_host_cert; // SAN: DNS wrong-host.invalid only
    std::filesystem::path wrong_host_key;
    std::filesystem::path untrusted_cert; // right names, signed by an untrusted CA
    std::filesystem::path untrusted_key;

    /// "server", "wronghost", "untrusted", "cnonly" (CN=localhost, no
    /// subjectAltName), "expired" (right names, expired yesterday), "client"
    /// or "untrusted-client".
    std::filesystem::path cert(const std::string& name) const { return dir / (name + ".pem"); }
    std::filesystem::path key(const std::string& name) const { return dir / (name + ".key"); }
};

/// Generated once per process.
const TestCerts& test_certs();

} // namespace stirrup::test
