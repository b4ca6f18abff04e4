// The stdcopy frame decoder against the engine's captured exec stream (notes
// §3.3), fed whole, byte by byte and split at every point, and its errors.

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "stirrup/exec/docker/detail/frames.hpp"

#include "support/helpers.hpp"

using stirrup::detail::docker::encode_frame;
using stirrup::detail::docker::EngineStreamError;
using stirrup::detail::docker::FrameDecoder;
using stirrup::detail::docker::FrameError;
using stirrup::detail::docker::StreamId;

using stirrup::test::contains;
using stirrup::test::error_of;

namespace {

using namespace std::string_literals;

// The 145 bytes `curl --output` saved from a real exec start (docker-api.md §3.3).
const std::string captured = "\x01\x00\x00\x00\x00\x00\x00\x05out1\n"
                             "\x02\x00\x00\x00\x00\x00\x00\x05"
                             "err1\n"
                             "\x01\x00\x00\x00\x00\x00\x00\x03"
                             "abc"
                             "\x02\x00\x00\x00\x00\x00\x00\x03XYZ"
                             "\x01\x00\x00\x00\x00\x00\x00\x05/mnt\n"
                             "\x01\x00\x00\x00\x00\x00\x00\x0e"
                             "bar extra-val\n"
                             "\x01\x00\x00\x00\x00\x00\x00\x1euid=1000 gid=1000 groups=1000\n"
                             "\x01\x00\x00\x00\x00\x00\x00\x10hello-from-host\n"s;

struct Collected {
    std::string out, err, in;
    std::vector<std::pair<StreamId, std::string>> pieces;

    FrameDecoder::Sink sink()
    {
        return [this](StreamId id, std::string_view piece) {
            CHECK_FALSE(piece.empty());
            pieces.emplace_back(id, std::string(piece));
            (id == StreamId::stdout_stream ? out : id == StreamId::stderr_stream ? err : in).append(piece);
        };
    }
};

} // namespace

TEST_CASE("docker frames: the captured exec stream, whole and in every split")
{
    CHECK(captured.size() == 145);
    const std::string out = "out1\nabc/mnt\nbar extra-val\nuid=1000 gid=1000 groups=1000\nhello-from-host\n";
    const std::string err = "err1\nXYZ";

    FrameDecoder whole;
    Collected c;
    whole.feed(captured, c.sink());
    CHECK(c.out == out);
    CHECK(c.err == err);
    CHECK(c.pieces.size() == 8); // one piece per frame when fed whole
    CHECK(c.pieces[1] == std::pair{StreamId::stderr_stream, "err1\n"s});
    CHECK(whole.frames() == 8);
    CHECK(whole.at_boundary());
    CHECK(whole.offset() == 145);

    FrameDecoder bytes;
    Collected b;
    for (char ch : captured) {
        bytes.feed(std::string_view(&ch, 1), b.sink());
    }
    CHECK(b.out == out);
    CHECK(b.err == err);
    CHECK(bytes.frames() == 8);
    CHECK(bytes.at_boundary());

    for (std::size_t i = 0; i <= captured.size(); ++i) {
        for (std::size_t j = i; j <= captured.size(); j += 7) {
            FrameDecoder d;
            Collected s;
            d.feed(std::string_view(captured).substr(0, i), s.sink());
            d.feed(std::string_view(captured).substr(i, j - i), s.sink());
            d.feed(std::string_view(captured).substr(j), s.sink());
            REQUIRE(s.out == out);
            REQUIRE(s.err == err);
            REQUIRE(d.frames() == 8);
            REQUIRE(d.at_boundary());
        }
    }
}

TEST_CASE("docker frames: payload pieces go to the sink as soon as they arrive")
{
    FrameDecoder d;
    Collected c;
    const std::string frame = encode_frame(StreamId::stdout_stream, "hello");
    d.feed(frame.substr(0, 4), c.sink());
    CHECK(c.pieces.empty());
    CHECK_FALSE(d.at_boundary()); // mid-header
    d.feed(frame.substr(4, 4), c.sink());
    CHECK(c.pieces.empty());
    CHECK_FALSE(d.at_boundary()); // header complete, payload pending
    d.feed(frame.substr(8, 3), c.sink());
    REQUIRE(c.pieces.size() == 1);
    CHECK(c.pieces[0] == std::pair{StreamId::stdout_stream, "hel"s});
    CHECK(d.frames() == 0);
    CHECK_FALSE(d.at_boundary());
    d.feed(frame.substr(11) + encode_frame(StreamId::stderr_stream, "e").substr(0, 2), c.sink());
    REQUIRE(c.pieces.size() == 2);
    CHECK(c.pieces[1] == std::pair{StreamId::stdout_stream, "lo"s});
    CHECK(d.frames() == 1);
    CHECK_FALSE(d.at_boundary());
}

TEST_CASE("docker frames: the length is a big-endian uint32 and is never buffered")
{
    // 0x00010203 = 66051 bytes; and the largest length, 4 GiB - 1.
    FrameDecoder d;
    Collected c;
    d.feed("\x01\x00\x00\x00\x00\x01\x02\x03"s, c.sink());
    const std::string chunk(66050, 'a');
    d.feed(chunk, c.sink());
    CHECK(c.out.size() == 66050);
    CHECK_FALSE(d.at_boundary());
    d.feed("b\x02\x00\x00\x00\xff\xff\xff\xff"s + "tail", c.sink());
    CHECK(c.out.size() == 66051);
    CHECK(c.out.back() == 'b');
    CHECK(c.err == "tail");
    CHECK(d.frames() == 1);
    CHECK_FALSE(d.at_boundary());
}

TEST_CASE("docker frames: zero-length frames and stdin frames")
{
    FrameDecoder d;
    Collected c;
    d.feed(encode_frame(StreamId::stdout_stream, "") + encode_frame(StreamId::stdin_stream, "i") +
               encode_frame(StreamId::stderr_stream, ""),
           c.sink());
    CHECK(d.frames() == 3);
    CHECK(d.at_boundary());
    REQUIRE(c.pieces.size() == 1);
    CHECK(c.pieces[0] == std::pair{StreamId::stdin_stream, "i"s});
    CHECK(c.in == "i");
}

TEST_CASE("docker frames: encode_frame writes the engine's header")
{
    CHECK(encode_frame(StreamId::stderr_stream, "XYZ") == "\x02\x00\x00\x00\x00\x00\x00\x03XYZ"s);
    CHECK(encode_frame(StreamId::stdout_stream, "") == "\x01\x00\x00\x00\x00\x00\x00\x00"s);
    const std::string big = encode_frame(StreamId::stdout_stream, std::string(0x010203, 'x'));
    CHECK(big.substr(0, 8) == "\x01\x00\x00\x00\x00\x01\x02\x03"s);
    CHECK(big.size() == 8 + 0x010203);
}

TEST_CASE("docker frames: a bad stream byte names the byte and its offset")
{
    FrameDecoder d;
    Collected c;
    const std::string good = encode_frame(StreamId::stdout_stream, "hello"); // 13 bytes
    const auto what = error_of<FrameError>([&] { d.feed(good + "\x04\x00\x00\x00"s, c.sink()); });
    CHECK(contains(what, "stream offset 13"));
    CHECK(contains(what, "stream byte 0x04"));
    CHECK(c.out == "hello"); // what came before the bad header was delivered
    CHECK_FALSE(d.at_boundary());
    // The decoder stays failed.
    CHECK_THROWS_AS(d.feed(good, c.sink()), FrameError);
    CHECK(c.out == "hello");

    // Detected on the first byte, before the header is complete; text hints at a TTY stream.
    FrameDecoder t;
    const auto text = error_of<FrameError>([&] { t.feed("H", c.sink()); });
    CHECK(contains(text, "stream offset 0"));
    CHECK(contains(text, "0x48"));
    CHECK(contains(text, "Tty"));
}

TEST_CASE("docker frames: non-zero padding in the header is an error at the byte it is seen")
{
    for (std::size_t bad = 1; bad <= 3; ++bad) {
        std::string header = "\x01\x00\x00\x00\x00\x00\x00\x01"s;
        header[bad] = '\x7f';
        FrameDecoder d;
        Collected c;
        d.feed("\x02\x00\x00\x00\x00\x00\x00\x02ok"s, c.sink());
        // Fed up to and including the bad byte only.
        const auto what = error_of<FrameError>([&] { d.feed(header.substr(0, bad + 1), c.sink()); });
        CHECK(contains(what, "byte " + std::to_string(bad) + " of the frame header at stream offset 10"));
        CHECK(contains(what, "0x7f"));
        CHECK(c.err == "ok");
    }
}

TEST_CASE("docker frames: a stream-3 frame is the engine's error text")
{
    const std::string stream = encode_frame(StreamId::stdout_stream, "partial") + "\x03\x00\x00\x00\x00\x00\x00\x0e"s +
                               "no such exec\r\n" + encode_frame(StreamId::stdout_stream, "after");
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        FrameDecoder d;
        Collected c;
        try {
            d.feed(stream.substr(0, split), c.sink());
            d.feed(stream.substr(split), c.sink());
            FAIL("no exception");
        } catch (const EngineStreamError& e) {
            CHECK(e.engine_text() == "no such exec");
            CHECK(std::string(e.what()) ==
                  "the Docker engine reported an error in the stream at offset 15: no such exec");
        }
        CHECK(c.out == "partial");
        CHECK(d.frames() == 2);
        CHECK_FALSE(d.at_boundary());
    }
    // Its text is bounded, however long the frame claims to be.
    FrameDecoder d;
    Collected c;
    d.feed("\x03\x00\x00\x00\x00\x02\x00\x00"s, c.sink());
    d.feed(std::string(0x10000, 'e'), c.sink());
    try {
        d.feed(std::string(0x10000, 'e'), c.sink());
        FAIL("no exception");
    } catch (const EngineStreamError& e) {
        CHECK(e.engine_text().size() == 64 * 1024);
    }
}

TEST_CASE("docker frames: an exception from the sink leaves the delivered bytes consumed")
{
    FrameDecoder d;
    const std::string stream =
        encode_frame(StreamId::stdout_stream, "abc") + encode_frame(StreamId::stderr_stream, "de");
    int calls = 0;
    CHECK_THROWS_AS(d.feed(stream,
                           [&](StreamId, std::string_view) {
                               if (++calls == 1)
                                   throw std::runtime_error("sink failed");
                           }),
                    std::runtime_error);
    CHECK(d.frames() == 1);
    CHECK(d.at_boundary());
    std::string err;
    d.feed(std::string_view(stream).substr(11), [&](StreamId id, std::string_view p) {
        CHECK(id == StreamId::stderr_stream);
        err.append(p);
    });
    CHECK(err == "de");
}
