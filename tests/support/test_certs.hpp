#pragma once
// Certificates generated at test start with OpenSSL: a CA, a server
// certificate it signed for 127.0.0.1 and localhost, and one for another
// host name, as PEM files in a fresh temp directory (removed at exit).

#include <filesystem>
#include <string>

namespace stirrup::test {

struct TestCerts {
    std::filesystem::path dir;
    std::filesystem::path ca_cert;     // the CA to trust
    std::filesystem::path server_cert; // SAN: IP 127.0.0.1, DNS localhost
    std::filesystem::path server_key;
    std::filesystem::path wrong_host_cert; // SAN: DNS wrong.example only
    std::filesystem::path wrong_host_key;
};

/// Generated once per process.
const TestCerts& test_certs();

} // namespace stirrup::test
