// libFuzzer target for TlsEngine's BIO glue: whatever a server sends after
// the ClientHello, fed whole, in seeded pieces and byte by byte, the engine
// never completes the handshake (no key to do it with), never crashes, and
// once failed stays failed. OpenSSL itself is not instrumented here.

#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "stirrup/net/detail/tls_engine.hpp"

#include "fuzz_harness.hpp"

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

// Feeds `in` to a fresh client in pieces of `next_size()` bytes; returns the
// final state.
template <class NextSize>
TlsEngine::Want run(std::string_view in, NextSize&& next_size)
{
    TlsEngine client(context());
    auto r = client.handshake();
    require(r.want == TlsEngine::Want::input);
    require(!client.output().empty());
    client.consume_output(client.output().size());
    bool failed = false;
    stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) {
        if (failed)
            return;
        auto space = client.input_space(piece.size());
        require(space.size() >= piece.size());
        std::memcpy(space.data(), piece.data(), piece.size());
        client.commit_input(piece.size());
        r = client.handshake();
        require(r.want != TlsEngine::Want::nothing);
        client.consume_output(client.output().size());
        if (r.want == TlsEngine::Want::error) {
            require(static_cast<bool>(r.ec));
            require(client.handshake().want == TlsEngine::Want::error);
            failed = true;
        }
    });
    if (failed)
        return r.want;
    client.input_ended();
    r = client.handshake();
    require(r.want == TlsEngine::Want::error);
    return r.want;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size);
    if (!input)
        return 0;
    const std::string_view in = input->rest;
    stirrup::fuzz::whole_pieces_bytes(in, {.seed = input->seed, .rotate = 6, .mask = 7},
                                      [&](auto&& next) { return run(in, next); });
    return 0;
}
