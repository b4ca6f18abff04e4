// Content-Encoding decoding for fetch_web_page: gzip, zlib-wrapped and raw
// deflate fed whole and byte by byte, and a decompression bomb stopped at
// its limit without decoding it all.

#include <doctest/doctest.h>

#include <zlib.h>

#include <string>

#include "stirrup/tools/web/detail/content_decoding.hpp"

using namespace stirrup::detail::web;

namespace {

// window_bits: 15+16 gzip, 15 zlib, -15 raw.
std::string compress(std::string_view data, int window_bits)
{
    z_stream s{};
    REQUIRE(deflateInit2(&s, Z_BEST_SPEED, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&s, data.size()) + 64, '\0');
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    s.avail_in = static_cast<uInt>(data.size());
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
    out.resize(s.total_out);
    deflateEnd(&s);
    return out;
}

std::string decode(ContentCoding c, std::string_view body, std::size_t piece, std::size_t limit = 1 << 20)
{
    BoundedDecoder d(c, limit);
    std::string out;
    for (std::size_t i = 0; i < body.size(); i += piece)
        d.feed(body.substr(i, piece), out);
    d.finish();
    return out;
}

} // namespace

TEST_CASE("content coding: the header names it")
{
    CHECK(parse_content_coding("") == ContentCoding::identity);
    CHECK(parse_content_coding("identity") == ContentCoding::identity);
    CHECK(parse_content_coding(" GZip ") == ContentCoding::gzip);
    CHECK(parse_content_coding("x-gzip") == ContentCoding::gzip);
    CHECK(parse_content_coding("deflate") == ContentCoding::deflate);
    CHECK(parse_content_coding("br") == std::nullopt);
    CHECK(parse_content_coding("gzip, deflate") == std::nullopt);
}

TEST_CASE("content coding: gzip, zlib and raw deflate decode the same, in any pieces")
{
    std::string page;
    for (int i = 0; i < 2000; ++i)
        page += "<p>paragraph " + std::to_string(i) + "</p>\n";
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, page.size()}) {
        CAPTURE(piece);
        CHECK(decode(ContentCoding::gzip, compress(page, 15 + 16), piece) == page);
        CHECK(decode(ContentCoding::deflate, compress(page, 15), piece) == page);
        CHECK(decode(ContentCoding::deflate, compress(page, -15), piece) == page);
        CHECK(decode(ContentCoding::identity, page, piece, page.size()) == page);
    }
    // Bytes after the end of the stream are ignored (as httpx does).
    CHECK(decode(ContentCoding::gzip, compress("abc", 15 + 16) + "trailing junk", 3) == "abc");
    CHECK(decode(ContentCoding::gzip, "", 1) == "");
}

TEST_CASE("content coding: broken and truncated bodies are errors")
{
    const std::string gz = compress("some text that is long enough to matter", 15 + 16);
    CHECK_THROWS_WITH_AS(decode(ContentCoding::gzip, gz.substr(0, gz.size() - 6), 5),
                         "the gzip body ends before its data does", ContentDecodingError);
    CHECK_THROWS_WITH_AS(decode(ContentCoding::gzip, "this is not gzip at all", 4), "the body is not valid gzip data",
                         ContentDecodingError);
    std::string flipped = gz;
    flipped[gz.size() - 5] ^= 0x55; // the CRC
    CHECK_THROWS_AS(decode(ContentCoding::gzip, flipped, 1000), ContentDecodingError);
    CHECK_THROWS_WITH_AS(decode(ContentCoding::identity, std::string(11, 'x'), 3, 10),
                         "the body is larger than 10 bytes when decoded", ContentDecodingError);
}

TEST_CASE("content coding: a 1 GB gzip bomb stops at the limit, having decoded no more than it")
{
    // 1 GiB of zeros, compressed a chunk at a time (about 1 MB of gzip).
    z_stream s{};
    REQUIRE(deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    const std::string zeros(1 << 20, '\0');
    std::string bomb;
    std::string chunk(1 << 16, '\0');
    for (int i = 0; i < 1024; ++i) {
        s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
        s.avail_in = static_cast<uInt>(zeros.size());
        const int flush = i == 1023 ? Z_FINISH : Z_NO_FLUSH;
        do {
            s.next_out = reinterpret_cast<Bytef*>(chunk.data());
            s.avail_out = static_cast<uInt>(chunk.size());
            deflate(&s, flush);
            bomb.append(chunk.data(), chunk.size() - s.avail_out);
        } while (s.avail_out == 0);
    }
    deflateEnd(&s);
    CHECK(bomb.size() < 2 * 1024 * 1024);

    const std::size_t limit = 16 * 1024 * 1024;
    BoundedDecoder d(ContentCoding::gzip, limit);
    std::string out;
    bool refused = false;
    try {
        for (std::size_t i = 0; i < bomb.size(); i += 8192)
            d.feed(std::string_view(bomb).substr(i, 8192), out);
    } catch (const ContentDecodingError& e) {
        refused = true;
        CHECK(std::string(e.what()) == "the body is larger than 16777216 bytes when decoded");
    }
    CHECK(refused);
    CHECK(out.size() <= limit);
}
