#include "support/test_certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <unistd.h>

namespace stirrup::test {
namespace {

namespace fs = std::filesystem;

void check(bool ok, const char* what)
{
    if (!ok)
        throw std::runtime_error(std::string("test certificate generation failed: ") + what);
}

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

KeyPtr make_key()
{
    // P-256: generated in a millisecond, unlike RSA.
    KeyPtr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    check(key != nullptr, "EVP_EC_gen");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

CertPtr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, const char* san, long serial)
{
    CertPtr cert(X509_new(), &X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    if (!issuer) {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), signer, NID_subject_alt_name, san);
        add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid");
    }
    check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

void write_cert(const fs::path& p, X509* cert)
{
    FILE* f = std::fopen(p.c_str(), "w");
    check(f != nullptr, "fopen");
    PEM_write_X509(f, cert);
    std::fclose(f);
}

void write_key(const fs::path& p, EVP_PKEY* key)
{
    FILE* f = std::fopen(p.c_str(), "w");
    check(f != nullptr, "fopen");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
}

TestCerts generate()
{
    TestCerts c;
    std::string tmpl = (fs::temp_directory_path() / "stirrup-certs-XXXXXX").string();
    check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    c.dir = tmpl;
    c.ca_cert = c.dir / "ca.pem";
    c.server_cert = c.dir / "server.pem";
    c.server_key = c.dir / "server.key";
    c.wrong_host_cert = c.dir / "wrong-host.pem";
    c.wrong_host_key = c.dir / "wrong-host.key";

    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "stirrup test CA", nullptr, nullptr, nullptr, 1);
    auto server_key = make_key();
    auto server = make_cert(server_key.get(), "localhost", ca.get(), ca_key.get(), "IP:127.0.0.1,DNS:localhost", 2);
    auto wrong_key = make_key();
    auto wrong = make_cert(wrong_key.get(), "wrong.example", ca.get(), ca_key.get(), "DNS:wrong.example", 3);

    write_cert(c.ca_cert, ca.get());
    write_cert(c.server_cert, server.get());
    write_key(c.server_key, server_key.get());
    write_cert(c.wrong_host_cert, wrong.get());
    write_key(c.wrong_host_key, wrong_key.get());
    return c;
}

struct Holder {
    TestCerts certs = generate();
    ~Holder()
    {
        std::error_code ec;
        fs::remove_all(certs.dir, ec);
    }
};

} // namespace

const TestCerts& test_certs()
{
    static const Holder holder;
    return holder.certs;
}

} // namespace stirrup::test
