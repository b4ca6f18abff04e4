#pragma once
// A TLS client stream over a Beast tcp_stream, driving a TlsEngine: an
// AsyncReadStream and AsyncWriteStream for Beast's HTTP reads and writes.
// Internal to the library (net/connection.cpp); see tls_engine.hpp for why it
// replaces asio::ssl::stream.
//
// One read and one write may be pending together (a WebSocket reads while it
// writes), never two reads or two writes. Deadlines are the tcp_stream's: its
// expiry closes the socket and pending operations fail with
// beast::error::timeout.

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/coroutine.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "stirrup/net/detail/tls_engine.hpp"

namespace boost::asio::ssl {
class context;
}

namespace stirrup::net::detail {

class TlsStream {
public:
    using next_layer_type = boost::beast::tcp_stream;
    using executor_type = next_layer_type::executor_type;

    template <class Executor>
    TlsStream(Executor&& ex, boost::asio::ssl::context& ctx) : next_(std::forward<Executor>(ex)), engine_(native(ctx))
    {
    }

    executor_type get_executor() noexcept { return next_.get_executor(); }
    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }
    ssl_st* native_handle() const noexcept { return engine_.native_handle(); }
    const TlsEngine& engine() const noexcept { return engine_; }

    template <class Token>
    auto async_handshake(Token&& token)
    {
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(HandshakeOp{*this}, token, next_);
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            ReadOp{*this, first_mutable(buffers)}, token, next_);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        // Encrypted in one go, then sent with one write.
        const std::size_t n = encrypt(buffers);
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(WriteOp{*this, n}, token,
                                                                                               next_);
    }

private:
    using error_code = boost::system::error_code;
    // Plaintext encrypted per write_some call, at most: it bounds output().
    static constexpr std::size_t max_write = 64 * 1024;
    // A read's buffer while nothing is known to be waiting: it holds a
    // model's whole answer (headers and a typical completion) in one read,
    // and is all a connection keeps while it waits for one.
    static constexpr std::size_t idle_read = 2048;
    // Buffers taken per write_some call, at most; Beast writes the rest next.
    static constexpr std::size_t max_gather = 64;

    static ssl_ctx_st* native(boost::asio::ssl::context& ctx);

    template <class MutableBuffers>
    static boost::asio::mutable_buffer first_mutable(const MutableBuffers& buffers)
    {
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
             ++it)
            if (boost::asio::mutable_buffer b(*it); b.size() != 0)
                return b;
        return {};
    }

    // Encrypts up to max_write bytes of `buffers` into the engine's output;
    // an error is kept in write_error_ for the operation to report.
    template <class ConstBuffers>
    std::size_t encrypt(const ConstBuffers& buffers)
    {
        std::array<std::span<const std::byte>, max_gather> gathered;
        std::size_t n = 0;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers) && n < gathered.size(); ++it)
            if (boost::asio::const_buffer b(*it); b.size() != 0)
                gathered[n++] = {static_cast<const std::byte*>(b.data()), b.size()};
        const auto r = engine_.write_gathered({gathered.data(), n}, max_write);
        write_error_ = r.ec;
        return r.want == TlsEngine::Want::nothing ? r.bytes : 0;
    }

    // Reads the peer's ciphertext into the engine, as much as the last
    // read suggests is coming; then input_arrived.
    template <class Self>
    void read_input(Self&& self)
    {
        const auto space = engine_.input_space(next_read_);
        next_.async_read_some(boost::asio::buffer(space.data(), space.size()), std::forward<Self>(self));
    }
    // Records the outcome of a read_input.
    error_code input_arrived(error_code ec, std::size_t n);
    // Whether an operation with output to send sends it: not when another
    // one is sending, which sends it too (records must leave in order).
    bool should_send() const noexcept { return !sending_ && !engine_.output().empty(); }
    // Sends the engine's output, and what is added to it meanwhile; then
    // completes with the error of the send.
    template <class Self>
    void send_output(Self&& self)
    {
        // async_compose takes the handler by reference and moves from it.
        boost::asio::async_compose<std::decay_t<Self>, void(error_code)>(SendOp{*this}, self, next_);
    }

    struct SendOp {
        TlsStream& s;
        boost::asio::coroutine coro{};

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t = 0)
        {
            BOOST_ASIO_CORO_REENTER(coro)
            {
                s.sending_ = true;
                while (!s.engine_.output().empty()) {
                    s.on_wire_ = s.engine_.take_output();
                    BOOST_ASIO_CORO_YIELD boost::asio::async_write(
                        s.next_, boost::asio::const_buffer(s.on_wire_.data().data(), s.on_wire_.data().size()),
                        std::move(self));
                    s.on_wire_ = {};
                    if (ec) {
                        s.send_error_ = ec;
                        break;
                    }
                }
                s.sending_ = false;
                self.complete(ec);
            }
        }
    };

    struct HandshakeOp {
        TlsStream& s;
        boost::asio::coroutine coro{};
        error_code tls_error{};

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t n = 0)
        {
            BOOST_ASIO_CORO_REENTER(coro)
            {
                for (;;) {
                    {
                        const auto r = s.engine_.handshake();
                        tls_error = r.ec;
                        if (r.want == TlsEngine::Want::nothing && s.engine_.output().empty())
                            break;
                    }
                    if (!s.engine_.output().empty()) {
                        // A failed handshake still sends its alert.
                        BOOST_ASIO_CORO_YIELD s.send_output(std::move(self));
                        if (tls_error)
                            break;
                        if (ec) {
                            tls_error = ec;
                            break;
                        }
                        continue;
                    }
                    if (tls_error)
                        break;
                    BOOST_ASIO_CORO_YIELD s.read_input(std::move(self));
                    if (auto e = s.input_arrived(ec, n)) {
                        tls_error = e;
                        break;
                    }
                }
                self.complete(tls_error);
            }
        }
    };

    struct ReadOp {
        TlsStream& s;
        boost::asio::mutable_buffer out;
        boost::asio::coroutine coro{};
        error_code result_ec{};
        std::size_t result_n = 0;
        bool suspended = false;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t n = 0)
        {
            BOOST_ASIO_CORO_REENTER(coro)
            {
                while (out.size() != 0) {
                    // OpenSSL is not asked to read before ciphertext is here:
                    // a read that wants input keeps its record buffer.
                    if (s.engine_.can_read_without_input()) {
                        const auto r = s.engine_.read({static_cast<std::byte*>(out.data()), out.size()});
                        if (r.want == TlsEngine::Want::nothing) {
                            result_n = r.bytes;
                            break;
                        }
                        if (r.want == TlsEngine::Want::error) {
                            result_ec = r.ec;
                            break;
                        }
                    }
                    if (s.should_send()) {
                        suspended = true;
                        BOOST_ASIO_CORO_YIELD s.send_output(std::move(self));
                        if (ec) {
                            result_ec = ec;
                            break;
                        }
                    }
                    suspended = true;
                    BOOST_ASIO_CORO_YIELD s.read_input(std::move(self));
                    if (auto e = s.input_arrived(ec, n)) {
                        result_ec = e;
                        break;
                    }
                }
                // Reading may have produced records to send (a key update).
                if (!result_ec && s.should_send()) {
                    suspended = true;
                    BOOST_ASIO_CORO_YIELD s.send_output(std::move(self));
                    if (ec)
                        result_ec = ec;
                }
                if (!suspended) {
                    // Never complete from inside the initiating call.
                    BOOST_ASIO_CORO_YIELD boost::asio::post(s.next_.get_executor(), std::move(self));
                }
                self.complete(result_ec, result_ec ? 0 : result_n);
            }
        }
    };

    struct WriteOp {
        TlsStream& s;
        std::size_t encrypted;
        boost::asio::coroutine coro{};

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t = 0)
        {
            BOOST_ASIO_CORO_REENTER(coro)
            {
                if (s.write_error_ || !s.should_send()) {
                    // Nothing to send, or the read sends these records with
                    // its own (a failure of that send is reported next time).
                    BOOST_ASIO_CORO_YIELD boost::asio::post(s.next_.get_executor(), std::move(self));
                    {
                        const error_code failed = s.write_error_ ? s.write_error_ : s.send_error_;
                        self.complete(failed, failed ? 0 : encrypted);
                    }
                    return;
                }
                BOOST_ASIO_CORO_YIELD s.send_output(std::move(self));
                self.complete(ec, ec ? 0 : encrypted);
            }
        }
    };

    next_layer_type next_;
    TlsEngine engine_;
    error_code write_error_;
    std::size_t next_read_ = idle_read;
    // Output being sent: taken out of the engine, which the other direction
    // may add records to meanwhile.
    TlsEngine::ByteQueue on_wire_;
    bool sending_ = false;
    // The last send's failure, for a write whose records another operation sent.
    error_code send_error_;
};

} // namespace stirrup::net::detail
