#pragma once
// The client side of a TLS connection with no I/O: OpenSSL on a BIO of our
// own, fed ciphertext by the caller and handing back the ciphertext to send.
// Internal to the library; TlsStream drives it over a socket.
//
// It exists for memory. asio::ssl::stream keeps two 17 KiB buffers of its own
// and an OpenSSL BIO pair with two more, and it leaves OpenSSL's record
// buffers allocated while it waits for the peer: about 75 KiB per idle
// connection, for the whole of a model's answer time. Here the buffers are
// sized by what is in flight and given back once drained, and OpenSSL is only
// asked to read once ciphertext has arrived, so with SSL_MODE_RELEASE_BUFFERS
// an idle connection holds none of its record buffers.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include <boost/system/error_code.hpp>

struct ssl_st;
struct ssl_ctx_st;

namespace stirrup::net::detail {

class TlsEngine {
public:
    /// What an operation needs before it can go on.
    enum class Want {
        nothing, ///< done: `bytes` were read or written
        input,   ///< more ciphertext from the peer (after sending output())
        error,   ///< failed with `ec`; the connection is unusable
    };
    struct Result {
        Want want = Want::nothing;
        std::size_t bytes = 0;
        boost::system::error_code ec;
    };

    /// A client for `ctx`. Throws SystemError when OpenSSL cannot make one.
    explicit TlsEngine(ssl_ctx_st* ctx);
    ~TlsEngine();
    TlsEngine(const TlsEngine&) = delete;
    TlsEngine& operator=(const TlsEngine&) = delete;

    ssl_st* native_handle() const noexcept { return ssl_; }

    Result handshake();
    /// Plaintext into `out`; bytes == 0 only with an error. A close_notify
    /// from the peer is asio::error::eof; a transport EOF without one is
    /// asio::ssl::error::stream_truncated, as asio::ssl::stream reports them.
    Result read(std::span<std::byte> out);
    /// Encrypts all of `in` into output(); never wants input.
    Result write(std::span<const std::byte> in);

    /// Encrypts up to `limit` bytes of `pieces` in order. Small pieces are
    /// gathered into full records (Beast hands a request over as a piece per
    /// header line): one record each would cost a record's overhead and a
    /// cipher call per piece. bytes: how much was taken.
    Result write_gathered(std::span<const std::span<const std::byte>> pieces, std::size_t limit);

    /// Why the peer's certificate was refused, when the handshake failed for
    /// that: OpenSSL's verify result as text ("certificate has expired",
    /// "unable to get local issuer certificate", "hostname mismatch"...), which
    /// the handshake's error code ("certificate verify failed") does not
    /// carry. Empty otherwise.
    std::string certificate_refusal() const;

    /// Whether read() can make progress without more ciphertext.
    bool can_read_without_input() const noexcept;

    /// Room for at least `n` bytes of ciphertext from the peer; then
    /// commit_input with what was received, or input_failed. The room stays
    /// allocated until then, whatever the other direction does meanwhile.
    std::span<std::byte> input_space(std::size_t n);
    void commit_input(std::size_t n) noexcept;
    /// The read into input_space failed: nothing was received.
    void input_failed() noexcept { input_in_flight_ = false; }
    /// The peer closed its side of the transport.
    void input_ended() noexcept
    {
        input_in_flight_ = false;
        input_ended_ = true;
    }

    /// Ciphertext to send to the peer, then consume_output when it is sent.
    std::span<const std::byte> output() const noexcept;
    void consume_output(std::size_t n) noexcept;

    /// Bytes of buffers held now, outside OpenSSL (for tests).
    std::size_t buffer_capacity() const noexcept { return in_.capacity() + out_.capacity(); }

    // Ciphertext waiting to be taken from the front: grows as needed, and
    // frees its memory whenever it is drained, so an idle engine holds none.
    class ByteQueue {
    public:
        std::span<const std::byte> data() const noexcept { return {buf_.get() + begin_, end_ - begin_}; }
        bool empty() const noexcept { return begin_ == end_; }
        std::size_t capacity() const noexcept { return cap_; }
        /// Room for at least `n` more bytes at the back (maybe more).
        std::span<std::byte> space(std::size_t n);
        void commit(std::size_t n) noexcept;
        void consume(std::size_t n) noexcept;
        /// Frees the memory if nothing is queued.
        void release_if_drained() noexcept;

    private:
        std::unique_ptr<std::byte[]> buf_;
        std::size_t cap_ = 0, begin_ = 0, end_ = 0;
    };

    /// Moves output() out of the engine, for a send that may still be on the
    /// wire when OpenSSL adds more (a full-duplex stream's other direction):
    /// appending to the engine's queue may move its bytes.
    ByteQueue take_output() noexcept { return std::exchange(out_, ByteQueue{}); }

private:
    struct Bio;
    Result finish(int ok, std::size_t bytes);
    void drop_drained_buffers() noexcept;

    ssl_st* ssl_ = nullptr;
    ByteQueue in_;  // from the peer, for OpenSSL to read
    ByteQueue out_; // from OpenSSL, for the caller to send
    bool input_ended_ = false;
    // A read into in_'s free space is on its way: in_ must keep its memory.
    bool input_in_flight_ = false;
    bool certificate_refused_ = false;
};

} // namespace stirrup::net::detail
