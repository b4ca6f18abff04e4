// libFuzzer target for TlsEngine's BIO glue: whatever a server sends after
// the ClientHello, fed whole, in seeded pieces and byte by byte, the engine
// never completes the handshake (no key to do it with), never crashes, and
// once failed stays failed. OpenSSL itself is not instrumented here.

#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "stirrup/net/detail/tls_engine.hpp"

#include "fuzz_require.hpp"

namespace {

using stirrup::fuzz::require;
using stirrup::net::detail::TlsEngine;

SSL_CTX* context()
{
    static SSL_CTX* const ctx = [] {
        SSL_CTX* c = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
        return c;
    }();
    return ctx;
}

// Feeds `in` to a fresh client in pieces of `piece(i)` bytes; returns the
// final state.
template <class Piece>
TlsEngine::Want run(std::span<const std::uint8_t> in, Piece piece)
{
    TlsEngine client(context());
    auto r = client.handshake();
    require(r.want == TlsEngine::Want::input);
    require(!client.output().empty());
    client.consume_output(client.output().size());
    std::size_t pos = 0;
    for (std::size_t i = 0; pos < in.size(); ++i) {
        const std::size_t n = std::min<std::size_t>(piece(i), in.size() - pos);
        auto space = client.input_space(n);
        require(space.size() >= n);
        std::memcpy(space.data(), in.data() + pos, n);
        client.commit_input(n);
        pos += n;
        r = client.handshake();
        require(r.want != TlsEngine::Want::nothing);
        client.consume_output(client.output().size());
        if (r.want == TlsEngine::Want::error) {
            require(static_cast<bool>(r.ec));
            require(client.handshake().want == TlsEngine::Want::error);
            return r.want;
        }
    }
    client.input_ended();
    r = client.handshake();
    require(r.want == TlsEngine::Want::error);
    return r.want;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    const std::uint8_t seed = data[0];
    const std::span<const std::uint8_t> in(data + 1, size - 1);
    run(in, [&](std::size_t) { return in.size(); });
    run(in, [&](std::size_t i) { return 1 + ((seed >> (i % 6)) & 7); });
    run(in, [](std::size_t) { return std::size_t(1); });
    return 0;
}
