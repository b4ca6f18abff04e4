#include "stirrup/net/detail/tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include "stirrup/core/error.hpp"

namespace stirrup::net::detail {
namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const TlsOptions& options)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->set_default_verify_paths(ec);
    // A machine without a system store still works with an explicit CA file.
    if (options.ca_file) {
        ctx->load_verify_file(*options.ca_file, ec);
        if (ec)
            throw SystemError(ec, "cannot load CA file '" + *options.ca_file + "'");
    }
    if (options.cert_file.has_value() != options.key_file.has_value())
        throw ConfigError("a TLS client certificate needs both cert_file and key_file");
    if (options.cert_file) {
        ctx->use_certificate_chain_file(*options.cert_file, ec);
        if (ec)
            throw SystemError(ec, "cannot load TLS client certificate '" + *options.cert_file + "'");
        ctx->use_private_key_file(*options.key_file, ssl::context::pem, ec);
        if (ec)
            throw SystemError(ec, "cannot load TLS client key '" + *options.key_file + "'");
    }
    ctx->set_verify_mode(options.verify ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

void configure_tls_connection(ssl_st* ssl, std::string_view host_view, bool verify)
{
    const std::string host(host_view);
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(host, ec);
    const bool is_ip = !ec;
    // RFC 6066 forbids IP literals in SNI.
    if (!is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
        throw SystemError(
            boost::system::error_code(static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category()),
            "cannot set TLS server name '" + host + "'");
    if (!verify)
        return;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    // A name only in the subject CN is not accepted (RFC 9525 section 6.3,
    // as browsers and Go do): OpenSSL would fall back to the CN of a
    // certificate without DNS names in its subjectAltName.
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) : SSL_set1_host(ssl, host.c_str());
    if (ok != 1)
        throw SystemError(
            boost::system::error_code(static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category()),
            "cannot set the expected TLS peer name '" + host + "'");
}

} // namespace stirrup::net::detail
