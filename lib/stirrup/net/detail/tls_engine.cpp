#include "stirrup/net/detail/tls_engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include "stirrup/core/error.hpp"

namespace stirrup::net::detail {
namespace asio = boost::asio;

namespace {

// A TLS record's largest plaintext: small writes are gathered up to it.
constexpr std::size_t record_plaintext = 16 * 1024;
// A queue's first allocation: a few records' headers and a short message.
constexpr std::size_t min_capacity = 1024;

boost::system::error_code ssl_error(unsigned long e)
{
    // OpenSSL 3 reports a transport EOF without close_notify this way; asio
    // names it stream_truncated, and so do we.
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return asio::ssl::error::stream_truncated;
    return {static_cast<int>(e), asio::error::get_ssl_category()};
}

} // namespace

// The BIO OpenSSL reads ciphertext from and writes it to: the engine's own
// buffers. A read with nothing buffered asks to be retried (WANT_READ); a
// write always succeeds, since output() is drained by the caller.
struct TlsEngine::Bio {
    static TlsEngine& engine(BIO* b) { return *static_cast<TlsEngine*>(BIO_get_data(b)); }

    static int write(BIO* b, const char* data, int len)
    {
        BIO_clear_retry_flags(b);
        if (len <= 0)
            return 0;
        try {
            auto& out = engine(b).out_;
            std::memcpy(out.space(static_cast<std::size_t>(len)).data(), data, static_cast<std::size_t>(len));
            out.commit(static_cast<std::size_t>(len));
        } catch (const std::bad_alloc&) {
            return -1;
        }
        return len;
    }

    static int read(BIO* b, char* out, int len)
    {
        BIO_clear_retry_flags(b);
        TlsEngine& e = engine(b);
        const auto have = e.in_.data();
        if (have.empty()) {
            if (e.input_ended_)
                return 0;
            BIO_set_retry_read(b);
            return -1;
        }
        const std::size_t n = std::min(have.size(), static_cast<std::size_t>(std::max(len, 0)));
        std::memcpy(out, have.data(), n);
        e.in_.consume(n);
        return static_cast<int>(n);
    }

    static long ctrl(BIO* b, int cmd, long, void*)
    {
        TlsEngine& e = engine(b);
        switch (cmd) {
        case BIO_CTRL_FLUSH:
            return 1;
        case BIO_CTRL_PENDING:
            return static_cast<long>(e.in_.data().size());
        case BIO_CTRL_WPENDING:
            return static_cast<long>(e.out_.data().size());
        case BIO_CTRL_EOF:
            return e.input_ended_ && e.in_.empty();
        default:
            return 0;
        }
    }

    static int create(BIO* b)
    {
        BIO_set_init(b, 1);
        return 1;
    }

    static int destroy(BIO*) { return 1; }

    static BIO_METHOD* method()
    {
        static BIO_METHOD* const m = [] {
            BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "stirrup TLS engine");
            if (meth) {
                BIO_meth_set_write(meth, &Bio::write);
                BIO_meth_set_read(meth, &Bio::read);
                BIO_meth_set_ctrl(meth, &Bio::ctrl);
                BIO_meth_set_create(meth, &Bio::create);
                BIO_meth_set_destroy(meth, &Bio::destroy);
            }
            return meth;
        }();
        return m;
    }
};

TlsEngine::TlsEngine(ssl_ctx_st* ctx)
{
    ::ERR_clear_error();
    BIO_METHOD* method = Bio::method();
    ssl_ = method ? ::SSL_new(ctx) : nullptr;
    BIO* bio = ssl_ ? ::BIO_new(method) : nullptr;
    if (!bio) {
        const auto e = ::ERR_get_error();
        if (ssl_)
            ::SSL_free(ssl_);
        throw SystemError(boost::system::error_code(static_cast<int>(e), asio::error::get_ssl_category()),
                          "cannot create a TLS connection");
    }
    BIO_set_data(bio, this);
    ::SSL_set_bio(ssl_, bio, bio);
    ::SSL_set_connect_state(ssl_);
    // RELEASE_BUFFERS frees OpenSSL's record buffers whenever they are empty,
    // which is all of an idle connection's life since read() is only called
    // with ciphertext in hand.
    ::SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
    ::SSL_set_options(ssl_, SSL_OP_NO_TICKET);
}

TlsEngine::~TlsEngine()
{
    if (ssl_)
        ::SSL_free(ssl_); // frees the BIO too
}

TlsEngine::Result TlsEngine::handshake()
{
    ::ERR_clear_error();
    return finish(::SSL_do_handshake(ssl_), 0);
}

TlsEngine::Result TlsEngine::read(std::span<std::byte> out)
{
    if (out.empty())
        return {};
    ::ERR_clear_error();
    std::size_t n = 0;
    const int ok = ::SSL_read_ex(ssl_, out.data(), out.size(), &n);
    return finish(ok, n);
}

TlsEngine::Result TlsEngine::write(std::span<const std::byte> in)
{
    if (in.empty())
        return {};
    ::ERR_clear_error();
    std::size_t n = 0;
    const int ok = ::SSL_write_ex(ssl_, in.data(), in.size(), &n);
    return finish(ok, n);
}

TlsEngine::Result TlsEngine::write_gathered(std::span<const std::span<const std::byte>> pieces, std::size_t limit)
{
    std::array<std::byte, record_plaintext> chunk;
    std::size_t used = 0, total = 0;
    Result failed;
    const auto put = [&](const std::byte* p, std::size_t n) {
        const auto r = write({p, n});
        if (r.want != Want::nothing) {
            failed = r;
            return false;
        }
        total += n;
        return true;
    };
    for (const auto& piece : pieces) {
        const std::byte* p = piece.data();
        std::size_t left = std::min(piece.size(), limit - total - used);
        if (used == 0 && left >= chunk.size()) {
            // Fills records on its own: no copy.
            if (!put(p, left))
                return failed;
        } else {
            while (left > 0) {
                const std::size_t n = std::min(left, chunk.size() - used);
                std::memcpy(chunk.data() + used, p, n);
                used += n;
                p += n;
                left -= n;
                if (used == chunk.size()) {
                    if (!put(chunk.data(), used))
                        return failed;
                    used = 0;
                }
            }
        }
        if (total + used >= limit)
            break;
    }
    if (used != 0 && !put(chunk.data(), used))
        return failed;
    return {Want::nothing, total, {}};
}

TlsEngine::Result TlsEngine::finish(int ok, std::size_t bytes)
{
    const int err = ok == 1 ? SSL_ERROR_NONE : ::SSL_get_error(ssl_, ok);
    drop_drained_buffers();
    if (err == SSL_ERROR_NONE)
        return {Want::nothing, bytes, {}};
    if (err == SSL_ERROR_WANT_READ)
        return {Want::input, 0, {}};
    if (err == SSL_ERROR_ZERO_RETURN)
        return {Want::error, 0, asio::error::eof};
    const unsigned long e = ::ERR_get_error();
    ::ERR_clear_error();
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
        certificate_refused_ = true;
    if (e != 0)
        return {Want::error, 0, ssl_error(e)};
    if (err == SSL_ERROR_SYSCALL && input_ended_)
        return {Want::error, 0, asio::ssl::error::stream_truncated};
    // WANT_WRITE cannot happen (the BIO takes every write) but for an
    // allocation failure in it; anything else is OpenSSL's internal error.
    if (err == SSL_ERROR_WANT_WRITE)
        return {Want::error, 0, make_error_code(boost::system::errc::not_enough_memory)};
    return {Want::error, 0, asio::error::fault};
}

std::string TlsEngine::certificate_refusal() const
{
    // The verify result alone is no proof: with verification off it holds
    // the failure that was ignored.
    const long result = certificate_refused_ ? ::SSL_get_verify_result(ssl_) : X509_V_OK;
    if (result == X509_V_OK)
        return {};
    std::string why = ::X509_verify_cert_error_string(result);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        // The peer's chain is kept even when it was refused (the peer
        // certificate itself is only set once verified).
        STACK_OF(X509)* chain = ::SSL_get_peer_cert_chain(ssl_);
        X509* leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
        if (leaf && ::X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) < 0)
            why += ": the certificate has no subjectAltName, and a name only in its subject CN is not accepted";
    }
    return why;
}

bool TlsEngine::can_read_without_input() const noexcept
{
    return !in_.empty() || input_ended_ || ::SSL_has_pending(ssl_) == 1;
}

std::span<std::byte> TlsEngine::input_space(std::size_t n)
{
    auto space = in_.space(n);
    input_in_flight_ = true;
    return space;
}

void TlsEngine::commit_input(std::size_t n) noexcept
{
    input_in_flight_ = false;
    in_.commit(n);
}

std::span<const std::byte> TlsEngine::output() const noexcept
{
    return out_.data();
}

void TlsEngine::consume_output(std::size_t n) noexcept
{
    out_.consume(n);
    out_.release_if_drained();
}

void TlsEngine::drop_drained_buffers() noexcept
{
    if (in_.empty()) {
        // RELEASE_BUFFERS misses the read buffer when a read ends waiting
        // after non-application records (session tickets): 17 KiB per idle
        // connection. This frees it unless a partial record is in it (which
        // OpenSSL checks, from 3.0.14 on correctly: CVE-2024-4741).
        ::SSL_free_buffers(ssl_);
        // Not under a read still on its way (a write while a read waits,
        // on a full-duplex stream).
        if (!input_in_flight_)
            in_.release_if_drained();
    }
}

std::span<std::byte> TlsEngine::ByteQueue::space(std::size_t n)
{
    if (begin_ == end_)
        begin_ = end_ = 0;
    if (cap_ - end_ < n) {
        const std::size_t have = end_ - begin_;
        if (cap_ - have >= n) {
            std::memmove(buf_.get(), buf_.get() + begin_, have);
        } else {
            const std::size_t cap = std::max({have + n, 2 * cap_, min_capacity});
            auto bigger = std::make_unique_for_overwrite<std::byte[]>(cap);
            if (have)
                std::memcpy(bigger.get(), buf_.get() + begin_, have);
            buf_ = std::move(bigger);
            cap_ = cap;
        }
        begin_ = 0;
        end_ = have;
    }
    return {buf_.get() + end_, cap_ - end_};
}

void TlsEngine::ByteQueue::commit(std::size_t n) noexcept
{
    end_ += std::min(n, cap_ - end_);
}

void TlsEngine::ByteQueue::consume(std::size_t n) noexcept
{
    begin_ += std::min(n, end_ - begin_);
}

void TlsEngine::ByteQueue::release_if_drained() noexcept
{
    if (begin_ != end_)
        return;
    buf_.reset();
    cap_ = begin_ = end_ = 0;
}

} // namespace stirrup::net::detail
