#pragma once
// The client-side TLS configuration: one OpenSSL context per HTTP client,
// and the per-connection settings (SNI, host-name verification).

#include <memory>
#include <string_view>

#include "stirrup/net/http_options.hpp"

// Forward declarations keep OpenSSL's and asio::ssl's headers out of users.
namespace boost::asio::ssl {
class context;
}
struct ssl_st;

namespace stirrup::net::detail {

/// Trusts the system store (which honours SSL_CERT_FILE / SSL_CERT_DIR), the
/// optional extra CA file, TLS 1.2 or later, and verifies peers unless
/// options.verify is false; presents the client certificate when given.
/// Throws SystemError on an unreadable file or a key that does not match its
/// certificate (OpenSSL checks the pair as it loads the key).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsOptions& options);

/// Sets SNI (for names, not IP literals) and the name or address the peer
/// certificate must match. Throws SystemError.
void configure_tls_connection(ssl_st* ssl, std::string_view host, bool verify);

} // namespace stirrup::net::detail
