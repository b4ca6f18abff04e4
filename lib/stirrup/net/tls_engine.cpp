#include "stirrup/net/tls_engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <new>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include "stirrup/core/error.hpp"

namespace stirrup::net {
namespace asio = boost::asio;

namespace {

// A TLS record's largest plaintext: small writes are gathered up to it.
constexpr std::size_t record_plaintext = 16 * 1024;

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
            engine(b).append_output(reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(len));
        } catch (const std::bad_alloc&) {
            return -1;
        }
        return len;
    }

    static int read(BIO* b, char* out, int len)
    {
        BIO_clear_retry_flags(b);
        TlsEngine& e = engine(b);
        const std::size_t have = e.in_end_ - e.in_begin_;
        if (have == 0) {
            if (e.input_ended_)
                return 0;
            BIO_set_retry_read(b);
            return -1;
        }
        const std::size_t n = std::min(have, static_cast<std::size_t>(std::max(len, 0)));
        std::memcpy(out, e.in_.get() + e.in_begin_, n);
        e.in_begin_ += n;
        return static_cast<int>(n);
    }

    static long ctrl(BIO* b, int cmd, long, void*)
    {
        TlsEngine& e = engine(b);
        switch (cmd) {
        case BIO_CTRL_FLUSH:
            return 1;
        case BIO_CTRL_PENDING:
            return static_cast<long>(e.in_end_ - e.in_begin_);
        case BIO_CTRL_WPENDING:
            return static_cast<long>(e.out_end_ - e.out_begin_);
        case BIO_CTRL_EOF:
            return e.input_ended_ && e.in_begin_ == e.in_end_;
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
    if (ok == 1) {
        drop_drained_buffers();
        return {Want::nothing, bytes, {}};
    }
    const int err = ::SSL_get_error(ssl_, ok);
    if (err == SSL_ERROR_WANT_READ) {
        drop_drained_buffers();
        return {Want::input, 0, {}};
    }
    drop_drained_buffers();
    if (err == SSL_ERROR_ZERO_RETURN)
        return {Want::error, 0, asio::error::eof};
    const unsigned long e = ::ERR_get_error();
    ::ERR_clear_error();
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

bool TlsEngine::can_read_without_input() const noexcept
{
    return in_begin_ != in_end_ || input_ended_ || ::SSL_has_pending(ssl_) == 1;
}

std::span<std::byte> TlsEngine::input_space(std::size_t n)
{
    if (in_begin_ == in_end_)
        in_begin_ = in_end_ = 0;
    if (in_cap_ - in_end_ < n) {
        const std::size_t have = in_end_ - in_begin_;
        if (in_cap_ - have >= n && in_cap_ != 0) {
            std::memmove(in_.get(), in_.get() + in_begin_, have);
        } else {
            const std::size_t cap = std::max(have + n, 2 * in_cap_);
            auto bigger = std::make_unique_for_overwrite<std::byte[]>(cap);
            if (have)
                std::memcpy(bigger.get(), in_.get() + in_begin_, have);
            in_ = std::move(bigger);
            in_cap_ = cap;
        }
        in_begin_ = 0;
        in_end_ = have;
    }
    return {in_.get() + in_end_, in_cap_ - in_end_};
}

void TlsEngine::commit_input(std::size_t n) noexcept { in_end_ += std::min(n, in_cap_ - in_end_); }

std::span<const std::byte> TlsEngine::output() const noexcept
{
    return {out_.get() + out_begin_, out_end_ - out_begin_};
}

void TlsEngine::consume_output(std::size_t n) noexcept
{
    out_begin_ += std::min(n, out_end_ - out_begin_);
    if (out_begin_ == out_end_) {
        out_begin_ = out_end_ = 0;
        out_.reset();
        out_cap_ = 0;
    }
}

void TlsEngine::append_output(const std::byte* p, std::size_t n)
{
    if (out_cap_ - out_end_ < n) {
        const std::size_t have = out_end_ - out_begin_;
        const std::size_t cap = std::max({have + n, 2 * out_cap_, std::size_t(1024)});
        auto bigger = std::make_unique_for_overwrite<std::byte[]>(cap);
        if (have)
            std::memcpy(bigger.get(), out_.get() + out_begin_, have);
        out_ = std::move(bigger);
        out_cap_ = cap;
        out_begin_ = 0;
        out_end_ = have;
    }
    std::memcpy(out_.get() + out_end_, p, n);
    out_end_ += n;
}

void TlsEngine::drop_drained_buffers() noexcept
{
    if (in_begin_ == in_end_) {
        // RELEASE_BUFFERS misses the read buffer when a read ends waiting
        // after non-application records (session tickets): 17 KiB per idle
        // connection. This frees it unless a partial record is in it.
        ::SSL_free_buffers(ssl_);
        in_begin_ = in_end_ = 0;
        in_.reset();
        in_cap_ = 0;
    }
}

} // namespace stirrup::net
