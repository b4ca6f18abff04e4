// TlsEngine with no I/O: a client engine against an OpenSSL server on memory
// BIOs, with the bytes between them moved by the test, whole and byte by
// byte. Certificates are made in memory for each test.

#include <doctest/doctest.h>

#include <malloc.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include "stirrup/net/detail/tls_context.hpp"
#include "stirrup/net/detail/tls_engine.hpp"

using stirrup::net::detail::TlsEngine;
namespace asio = boost::asio;

namespace {

constexpr std::size_t whole = std::numeric_limits<std::size_t>::max();

// What a test certificate says; times are seconds from now.
struct CertSpec {
    const char* cn = "test";
    /// nullptr: no subjectAltName at all.
    const char* san = "DNS:localhost";
    long valid_from = -60;
    long valid_to = 3600;
};

struct TestCert {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;

    /// Signed by `issuer`, or by itself.
    explicit TestCert(const CertSpec& spec, const TestCert* issuer = nullptr, bool is_ca = false)
    {
        key = EVP_EC_gen("P-256");
        cert = X509_new();
        REQUIRE((key && cert));
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), spec.valid_from);
        X509_gmtime_adj(X509_getm_notAfter(cert), spec.valid_to);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn), -1, -1,
                                   0);
        X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert) : name);
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer ? issuer->cert : cert, cert, nullptr, nullptr, 0);
        const auto add = [&](int nid, const char* value) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
            REQUIRE(ext);
            X509_add_ext(cert, ext, -1);
            X509_EXTENSION_free(ext);
        };
        if (is_ca)
            add(NID_basic_constraints, "critical,CA:TRUE");
        if (spec.san)
            add(NID_subject_alt_name, spec.san);
        REQUIRE(X509_sign(cert, issuer ? issuer->key : key, EVP_sha256()) > 0);
    }
    ~TestCert()
    {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    TestCert(const TestCert&) = delete;
    TestCert& operator=(const TestCert&) = delete;
};

// Who signed the server's certificate, and whether the client trusts it.
enum class Trust {
    self_signed_trusted, ///< the client trusts the certificate itself
    self_signed_unknown, ///< nobody vouches for it
    ca_unknown,          ///< signed by a CA the client does not know
};

// A client engine and an OpenSSL server, connected by the test.
struct Pair {
    std::unique_ptr<TestCert> ca;
    std::unique_ptr<TestCert> id;
    SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
    SSL* server = nullptr;
    BIO* server_in = BIO_new(BIO_s_mem());
    BIO* server_out = BIO_new(BIO_s_mem());
    std::optional<TlsEngine> client;

    explicit Pair(Trust trust = Trust::self_signed_trusted, const char* expected_host = "localhost",
                  const CertSpec& spec = {})
    {
        if (trust == Trust::ca_unknown)
            ca = std::make_unique<TestCert>(CertSpec{.cn = "unknown test CA", .san = nullptr}, nullptr, true);
        id = std::make_unique<TestCert>(spec, ca.get());
        REQUIRE(SSL_CTX_use_certificate(server_ctx, id->cert) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey(server_ctx, id->key) == 1);
        SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, nullptr);
        if (trust == Trust::self_signed_trusted)
            X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx), id->cert);
        server = SSL_new(server_ctx);
        SSL_set_bio(server, server_in, server_out);
        SSL_set_accept_state(server);
        client.emplace(client_ctx);
        stirrup::net::detail::configure_tls_connection(client->native_handle(), expected_host, true);
    }
    ~Pair()
    {
        client.reset();
        SSL_free(server);
        SSL_CTX_free(server_ctx);
        SSL_CTX_free(client_ctx);
    }

    void to_server()
    {
        const auto out = client->output();
        if (!out.empty())
            REQUIRE(BIO_write(server_in, out.data(), static_cast<int>(out.size())) == static_cast<int>(out.size()));
        client->consume_output(out.size());
    }

    // Moves up to `piece` bytes of the server's output to the client.
    std::size_t to_client(std::size_t piece)
    {
        const std::size_t n = std::min<std::size_t>(piece, static_cast<std::size_t>(BIO_ctrl_pending(server_out)));
        if (n == 0)
            return 0;
        auto space = client->input_space(n);
        REQUIRE(space.size() >= n);
        REQUIRE(BIO_read(server_out, space.data(), static_cast<int>(n)) == static_cast<int>(n));
        client->commit_input(n);
        return n;
    }

    void server_step()
    {
        if (!SSL_is_init_finished(server))
            SSL_do_handshake(server);
    }

    // Runs the handshake, `piece` bytes of the server's flights at a time.
    TlsEngine::Result handshake(std::size_t piece)
    {
        TlsEngine::Result r;
        for (int i = 0; i < 100000; ++i) {
            r = client->handshake();
            to_server();
            server_step();
            if (r.want != TlsEngine::Want::input)
                return r;
            if (to_client(piece) == 0)
                return r; // the client waits for bytes the server will not send
        }
        FAIL("the handshake did not end");
        return r;
    }

    // Reads `n` bytes of plaintext at the client, `piece` bytes of
    // ciphertext at a time.
    std::string read(std::size_t n, std::size_t piece)
    {
        std::string got;
        std::vector<std::byte> buf(4096);
        while (got.size() < n) {
            if (!client->can_read_without_input()) {
                REQUIRE(to_client(piece) > 0);
                continue;
            }
            const auto r = client->read(buf);
            if (r.want == TlsEngine::Want::input) {
                REQUIRE(to_client(piece) > 0);
                continue;
            }
            REQUIRE(r.want == TlsEngine::Want::nothing);
            got.append(reinterpret_cast<const char*>(buf.data()), r.bytes);
        }
        return got;
    }
};

std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + (i * 7) % 26);
    return s;
}

std::span<const std::byte> bytes(const std::string& s)
{
    return std::as_bytes(std::span(s.data(), s.size()));
}

} // namespace

TEST_CASE("TlsEngine: handshake and data both ways, in whole flights and byte by byte")
{
    for (std::size_t piece : {whole, std::size_t(1), std::size_t(7), std::size_t(1500)}) {
        INFO("piece " << piece);
        Pair p;
        const auto hs = p.handshake(piece);
        REQUIRE(hs.want == TlsEngine::Want::nothing);
        CHECK(!hs.ec);
        CHECK(SSL_is_init_finished(p.server));

        const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n\r\n" + pattern(70000);
        const auto w = p.client->write(bytes(request));
        REQUIRE(w.want == TlsEngine::Want::nothing);
        CHECK(w.bytes == request.size());
        CHECK(p.client->output().size() > request.size()); // records and their overhead
        p.to_server();
        std::string at_server(request.size(), '\0');
        std::size_t got = 0;
        while (got < request.size()) {
            std::size_t n = 0;
            REQUIRE(SSL_read_ex(p.server, at_server.data() + got, request.size() - got, &n) == 1);
            got += n;
        }
        CHECK(at_server == request);

        const std::string response = pattern(100000);
        REQUIRE(SSL_write(p.server, response.data(), static_cast<int>(response.size())) ==
                static_cast<int>(response.size()));
        CHECK(p.read(response.size(), piece) == response);

        // Drained: nothing left to read, and the big buffers are given back.
        CHECK(!p.client->can_read_without_input());
        CHECK(p.client->output().empty());
        CHECK(p.client->buffer_capacity() == 0);
    }
}

TEST_CASE("TlsEngine: read with no ciphertext wants input and changes nothing")
{
    Pair p;
    REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
    std::vector<std::byte> buf(100);
    // Session tickets may follow the handshake; read them first.
    while (p.to_client(whole) > 0) {
        const auto r = p.client->read(buf);
        CHECK(r.want == TlsEngine::Want::input);
    }
    CHECK(!p.client->can_read_without_input());
    const auto r = p.client->read(buf);
    CHECK(r.want == TlsEngine::Want::input);
    CHECK(r.bytes == 0);
    CHECK(p.client->output().empty());
}

TEST_CASE("TlsEngine: a close_notify is eof, a transport EOF without one is stream_truncated")
{
    std::vector<std::byte> buf(100);
    SUBCASE("close_notify")
    {
        Pair p;
        REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
        SSL_write(p.server, "last", 4);
        SSL_shutdown(p.server);
        CHECK(p.read(4, 3) == "last");
        TlsEngine::Result r;
        do {
            r = p.client->read(buf);
        } while (r.want == TlsEngine::Want::input && p.to_client(whole) > 0);
        CHECK(r.want == TlsEngine::Want::error);
        CHECK(r.ec == asio::error::eof);
    }
    SUBCASE("EOF mid-record")
    {
        Pair p;
        REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
        while (p.to_client(whole) > 0)
            p.client->read(buf);
        SSL_write(p.server, "cut short", 9);
        p.to_client(10); // part of the record, then the transport ends
        p.client->input_ended();
        CHECK(p.client->can_read_without_input());
        const auto r = p.client->read(buf);
        CHECK(r.want == TlsEngine::Want::error);
        CHECK(r.ec == asio::ssl::error::stream_truncated);
    }
    SUBCASE("EOF during the handshake")
    {
        Pair p;
        p.client->handshake();
        p.to_server();
        p.client->input_ended();
        const auto r = p.client->handshake();
        CHECK(r.want == TlsEngine::Want::error);
        CHECK(r.ec == asio::ssl::error::stream_truncated);
    }
}

TEST_CASE("TlsEngine: a certificate the client does not trust, or for another host, fails with OpenSSL's reason")
{
    SUBCASE("untrusted")
    {
        Pair p(Trust::self_signed_unknown);
        const auto r = p.handshake(whole);
        CHECK(r.want == TlsEngine::Want::error);
        CHECK(&r.ec.category() == &asio::error::get_ssl_category());
        CHECK(r.ec.message().find("certificate verify failed") != std::string::npos);
        CHECK(p.client->certificate_refusal() == "self-signed certificate");
        // The client's alert reached the server, which gives up too.
        CHECK(p.client->output().empty());
        CHECK(!SSL_is_init_finished(p.server));
    }
    SUBCASE("another host")
    {
        Pair p(Trust::self_signed_trusted, "example.com");
        const auto r = p.handshake(1);
        CHECK(r.want == TlsEngine::Want::error);
        CHECK(r.ec.message().find("certificate verify failed") != std::string::npos);
        // The certificate has a subjectAltName: nothing to say about its CN.
        CHECK(p.client->certificate_refusal() == "hostname mismatch");
    }
}

TEST_CASE("TlsEngine: the reason a certificate was refused is OpenSSL's verify result, as text")
{
    struct Case {
        const char* name;
        Trust trust;
        const char* host;
        CertSpec spec;
        std::string reason;
    };
    const std::string cn_only =
        ": the certificate has no subjectAltName, and a name only in its subject CN is not accepted";
    const Case cases[] = {
        {"expired",
         Trust::self_signed_trusted,
         "localhost",
         {.valid_from = -7200, .valid_to = -3600},
         "certificate has expired"},
        {"not yet valid",
         Trust::self_signed_trusted,
         "localhost",
         {.valid_from = 3600, .valid_to = 7200},
         "certificate is not yet valid"},
        {"unknown CA", Trust::ca_unknown, "localhost", {}, "unable to get local issuer certificate"},
        {"self-signed", Trust::self_signed_unknown, "localhost", {}, "self-signed certificate"},
        {"another host", Trust::self_signed_trusted, "example.com", {}, "hostname mismatch"},
        {"another IP address", Trust::self_signed_trusted, "127.0.0.2", {.san = "IP:127.0.0.1"}, "IP address mismatch"},
        // The name only in the CN: OpenSSL accepts it unless told not to.
        {"CN only",
         Trust::self_signed_trusted,
         "localhost",
         {.cn = "localhost", .san = nullptr},
         "hostname mismatch" + cn_only},
        {"CN only, an IP address",
         Trust::self_signed_trusted,
         "127.0.0.1",
         {.cn = "127.0.0.1", .san = nullptr},
         "IP address mismatch" + cn_only},
        // A DNS name in the CN does not stand in for a subjectAltName of IPs.
        {"CN beside IP names",
         Trust::self_signed_trusted,
         "localhost",
         {.cn = "localhost", .san = "IP:127.0.0.1"},
         "hostname mismatch"},
    };
    for (const auto& c : cases) {
        for (std::size_t piece : {whole, std::size_t(1)}) {
            CAPTURE(c.name);
            CAPTURE(piece);
            Pair p(c.trust, c.host, c.spec);
            const auto r = p.handshake(piece);
            CHECK(r.want == TlsEngine::Want::error);
            CHECK(&r.ec.category() == &asio::error::get_ssl_category());
            CHECK(r.ec.message().find("certificate verify failed") != std::string::npos);
            CHECK(p.client->certificate_refusal() == c.reason);
        }
    }
}

TEST_CASE("TlsEngine: no refusal to report after a verified handshake, or with verification off")
{
    SUBCASE("verified, by its subjectAltName")
    {
        Pair p(Trust::self_signed_trusted, "localhost", {.cn = "some other name", .san = "DNS:localhost"});
        REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
        CHECK(p.client->certificate_refusal().empty());
    }
    SUBCASE("verification off: the ignored failure is not a refusal")
    {
        Pair p(Trust::self_signed_unknown);
        SSL_set_verify(p.client->native_handle(), SSL_VERIFY_NONE, nullptr);
        REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
        CHECK(SSL_get_verify_result(p.client->native_handle()) != X509_V_OK);
        CHECK(p.client->certificate_refusal().empty());
    }
}

TEST_CASE("TlsEngine: a peer that does not speak TLS is an error, whole or byte by byte")
{
    for (std::size_t piece : {whole, std::size_t(1)}) {
        INFO("piece " << piece);
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        {
            TlsEngine client(ctx);
            CHECK(client.handshake().want == TlsEngine::Want::input);
            CHECK(!client.output().empty()); // the ClientHello
            client.consume_output(client.output().size());
            const std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
            TlsEngine::Result r;
            for (std::size_t at = 0; at < reply.size(); at += std::min(piece, reply.size() - at)) {
                const std::size_t n = std::min(piece, reply.size() - at);
                std::memcpy(client.input_space(n).data(), reply.data() + at, n);
                client.commit_input(n);
                r = client.handshake();
                if (r.want != TlsEngine::Want::input)
                    break;
            }
            CHECK(r.want == TlsEngine::Want::error);
            CHECK(&r.ec.category() == &asio::error::get_ssl_category());
            CHECK(r.ec.message().find("wrong version number") != std::string::npos);
        }
        SSL_CTX_free(ctx);
    }
}

TEST_CASE("TlsEngine: an idle connection keeps none of OpenSSL's record buffers")
{
    // Heap in use, measured around freeing the client engines only: with
    // OpenSSL's 17 KiB read buffer left allocated after the session tickets
    // (as RELEASE_BUFFERS alone leaves it) an idle engine holds about 35 KiB;
    // without it, its connection and session state, about 18 KiB.
    constexpr int n = 50;
    std::vector<std::unique_ptr<Pair>> pairs;
    std::vector<std::byte> buf(100);
    for (int i = 0; i < n; ++i) {
        pairs.push_back(std::make_unique<Pair>());
        auto& p = *pairs.back();
        REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
        const std::string response = pattern(20000);
        SSL_write(p.server, response.data(), static_cast<int>(response.size()));
        REQUIRE(p.read(response.size(), whole) == response);
        while (p.to_client(whole) > 0)
            p.client->read(buf);
        REQUIRE(p.client->buffer_capacity() == 0);
    }
    const auto heap = [] {
        const struct mallinfo2 m = ::mallinfo2();
        return static_cast<double>(m.uordblks + m.hblkhd);
    };
    const double before = heap();
    for (auto& p : pairs)
        p->client.reset();
    const double per_engine_kib = (before - heap()) / n / 1024;
    MESSAGE("an idle client engine holds " << per_engine_kib << " KiB");
    CHECK(per_engine_kib < 26);
}

TEST_CASE("TlsEngine: small pieces are gathered into full records, up to the limit")
{
    Pair p;
    REQUIRE(p.handshake(whole).want == TlsEngine::Want::nothing);
    p.to_server();
    std::vector<std::byte> buf(100);
    while (p.to_client(whole) > 0)
        p.client->read(buf);

    // A request as Beast hands it over: a piece per line, then the body.
    const std::vector<std::string> lines{"POST /v1/chat/completions HTTP/1.1\r\n",
                                         "Host: localhost\r\n",
                                         "Authorization: Bearer sk-test\r\n",
                                         "Content-Type: application/json\r\n",
                                         "Content-Length: 2000\r\n",
                                         "\r\n",
                                         pattern(2000)};
    std::vector<std::span<const std::byte>> pieces;
    std::string joined;
    for (const auto& l : lines) {
        pieces.push_back(bytes(l));
        joined += l;
    }
    auto r = p.client->write_gathered(pieces, 64 * 1024);
    REQUIRE(r.want == TlsEngine::Want::nothing);
    CHECK(r.bytes == joined.size());
    // One application-data record: a 5-byte header whose length is the rest.
    const auto out = p.client->output();
    REQUIRE(out.size() > 5);
    CHECK(static_cast<unsigned>(out[0]) == 0x17);
    CHECK((static_cast<std::size_t>(out[3]) << 8 | static_cast<std::size_t>(out[4])) == out.size() - 5);
    p.to_server();
    std::string got(joined.size(), '\0');
    std::size_t n = 0;
    REQUIRE(SSL_read_ex(p.server, got.data(), got.size(), &n) == 1);
    CHECK(n == joined.size());
    CHECK(got == joined);

    // Large pieces go out whole, small ones around them gathered; the limit
    // stops mid-piece.
    const std::string big = pattern(40000), small = "tail";
    const std::vector<std::span<const std::byte>> mixed{bytes(small), bytes(big), bytes(small)};
    r = p.client->write_gathered(mixed, 30000);
    REQUIRE(r.want == TlsEngine::Want::nothing);
    CHECK(r.bytes == 30000);
    p.to_server();
    std::string at_server(30000, '\0');
    std::size_t got_n = 0;
    while (got_n < at_server.size()) {
        REQUIRE(SSL_read_ex(p.server, at_server.data() + got_n, at_server.size() - got_n, &n) == 1);
        got_n += n;
    }
    CHECK(at_server == (small + big).substr(0, 30000));
}
