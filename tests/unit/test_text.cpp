// Utf8Decoder, code-point helpers and truncate_msg. Every expected value here
// was produced by CPython 3.11 (bytes.decode("utf-8", "replace") and Stirrup's
// truncate_msg); the tests themselves never run Python.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/detail/text.hpp"

using namespace stirrup::detail::text;

namespace {

// A string literal as bytes, embedded NULs included.
template <std::size_t N>
constexpr std::string_view B(const char (&s)[N])
{
    return {s, N - 1};
}

#define FFFD "\xEF\xBF\xBD"

std::string hex(std::string_view s)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (!out.empty())
            out += ' ';
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string decode_split(std::string_view in, std::size_t at)
{
    Utf8Decoder d;
    std::string out;
    d.feed(in.substr(0, at), out);
    d.feed(in.substr(at), out);
    d.finish(out);
    return out;
}

std::string decode_bytewise(std::string_view in)
{
    Utf8Decoder d;
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i)
        d.feed(in.substr(i, 1), out);
    d.finish(out);
    return out;
}

struct DecodeCase {
    const char* name;
    std::string_view in;
    std::string_view expected;
};

const DecodeCase decode_cases[] = {
    // Generated with CPython 3.11: bytes.decode('utf-8', 'replace').
    {"empty", B(""), B("")},
    {"ascii", B("hello"), B("hello")},
    {"NUL and DEL", B("\x00\x7F"), B("\x00\x7F")},
    {"U+0080 and U+07FF", B("\xC2\x80\xDF\xBF"), B("\xC2\x80\xDF\xBF")},
    {"U+0800, U+D7FF, U+E000, U+FFFD, U+FFFF", B("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD\xEF\xBF\xBF"),
     B("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80" FFFD "\xEF\xBF\xBF")},
    {"U+10000 and U+10FFFF", B("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"), B("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF")},
    {"mixed widths", B("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"), B("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z")},
    {"lone continuation 80", B("\x80"), B(FFFD)},
    {"lone continuation BF", B("\xBF"), B(FFFD)},
    {"continuation run", B("\x80\x81\xBF"), B(FFFD FFFD FFFD)},
    {"continuation between ascii",
     B("a\x80"
       "b"),
     B("a" FFFD "b")},
    {"C0 80 overlong NUL", B("\xC0\x80"), B(FFFD FFFD)},
    {"C1 BF overlong", B("\xC1\xBF"), B(FFFD FFFD)},
    {"C0 AF overlong slash", B("\xC0\xAF"), B(FFFD FFFD)},
    {"E0 80 AF overlong slash", B("\xE0\x80\xAF"), B(FFFD FFFD FFFD)},
    {"E0 9F BF overlong U+07FF", B("\xE0\x9F\xBF"), B(FFFD FFFD FFFD)},
    {"E0 A0 80 smallest 3-byte", B("\xE0\xA0\x80"), B("\xE0\xA0\x80")},
    {"F0 80 80 AF overlong slash", B("\xF0\x80\x80\xAF"), B(FFFD FFFD FFFD FFFD)},
    {"F0 8F BF BF overlong U+FFFF", B("\xF0\x8F\xBF\xBF"), B(FFFD FFFD FFFD FFFD)},
    {"F0 90 80 80 smallest 4-byte", B("\xF0\x90\x80\x80"), B("\xF0\x90\x80\x80")},
    {"ED A0 80 high surrogate", B("\xED\xA0\x80"), B(FFFD FFFD FFFD)},
    {"ED BF BF low surrogate end", B("\xED\xBF\xBF"), B(FFFD FFFD FFFD)},
    {"ED 9F BF is U+D7FF", B("\xED\x9F\xBF"), B("\xED\x9F\xBF")},
    {"surrogate pair as CESU-8", B("\xED\xA0\xBD\xED\xB2\xA9"), B(FFFD FFFD FFFD FFFD FFFD FFFD)},
    {"F4 8F BF BF is U+10FFFF", B("\xF4\x8F\xBF\xBF"), B("\xF4\x8F\xBF\xBF")},
    {"F4 90 80 80 above U+10FFFF", B("\xF4\x90\x80\x80"), B(FFFD FFFD FFFD FFFD)},
    {"F5 80 80 80", B("\xF5\x80\x80\x80"), B(FFFD FFFD FFFD FFFD)},
    {"F7 BF BF BF", B("\xF7\xBF\xBF\xBF"), B(FFFD FFFD FFFD FFFD)},
    {"F8 5-byte form", B("\xF8\x88\x80\x80\x80"), B(FFFD FFFD FFFD FFFD FFFD)},
    {"FC 6-byte form", B("\xFC\x84\x80\x80\x80\x80"), B(FFFD FFFD FFFD FFFD FFFD FFFD)},
    {"FE FF", B("\xFE\xFF"), B(FFFD FFFD)},
    {"lead C2 at end", B("\xC2"), B(FFFD)},
    {"lead DF at end", B("a\xDF"), B("a" FFFD)},
    {"E0 A0 at end", B("\xE0\xA0"), B(FFFD)},
    {"E1 80 at end", B("\xE1\x80"), B(FFFD)},
    {"E0 at end", B("\xE0"), B(FFFD)},
    {"ED 9F at end", B("\xED\x9F"), B(FFFD)},
    {"ED A0 at end", B("\xED\xA0"), B(FFFD FFFD)},
    {"F0 at end", B("\xF0"), B(FFFD)},
    {"F0 90 at end", B("\xF0\x90"), B(FFFD)},
    {"F0 90 80 at end", B("\xF0\x90\x80"), B(FFFD)},
    {"F4 8F BF at end", B("\xF4\x8F\xBF"), B(FFFD)},
    {"F4 90 at end", B("\xF4\x90"), B(FFFD FFFD)},
    {"F0 80 at end", B("\xF0\x80"), B(FFFD FFFD)},
    {"C2 then ascii",
     B("\xC2"
       "A"),
     B(FFFD "A")},
    {"E1 80 then ascii",
     B("\xE1\x80"
       "A"),
     B(FFFD "A")},
    {"F1 80 80 then ascii",
     B("\xF1\x80\x80"
       "A"),
     B(FFFD "A")},
    {"C2 C2 A9", B("\xC2\xC2\xA9"), B(FFFD "\xC2\xA9")},
    {"E1 80 then E1 80 80", B("\xE1\x80\xE1\x80\x80"), B(FFFD "\xE1\x80\x80")},
    {"F1 80 80 then C0", B("\xF1\x80\x80\xC0"), B(FFFD FFFD)},
    {"F0 90 then F0 90 80 80", B("\xF0\x90\xF0\x90\x80\x80"), B(FFFD "\xF0\x90\x80\x80")},
    {"E0 then C2 A9", B("\xE0\xC2\xA9"), B(FFFD "\xC2\xA9")},
    {"truncated 4-byte run", B("\xF0\x90\x80\xF0\x90\x80\xF0\x90\x80"), B(FFFD FFFD FFFD)},
    {"all truncated prefixes of U+1F600", B("\xF0\x9F\x98\x80\xF0\x9F\x98\xF0\x9F\xF0"),
     B("\xF0\x9F\x98\x80" FFFD FFFD FFFD)},
    {"valid after invalid", B("\xFF\xE2\x82\xAC\xFF"), B(FFFD "\xE2\x82\xAC" FFFD)},
    {"invalid in long ascii run", B("abcdefghijklmno\x80pqrstuvwxyz0123456789"),
     B("abcdefghijklmno" FFFD "pqrstuvwxyz0123456789")},
    {"multi-byte across 8-byte words", B("abcdefg\xC3\xA9hijklmn\xE2\x82\xACopqrstuv"),
     B("abcdefg\xC3\xA9hijklmn\xE2\x82\xACopqrstuv")},
    {"Kuhn 3.3 all truncated",
     B("\xC0\xE0\x80\xF0\x80\x80\xF8\x80\x80\x80\xFC\x80\x80\x80\x80\xDF\xEF\xBF\xF7\xBF\xBF\xFB\xBF\xBF\xBF\xFD\xBF"
       "\xBF\xBF\xBF"),
     B(FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD
           FFFD FFFD FFFD FFFD FFFD FFFD FFFD)},
    {"Unicode 3.9 table 3-8",
     B("a\xF1\x80\x80\xE1\x80\xC2"
       "b\x80"
       "c\x80\xBF"
       "d"),
     B("a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d")},
    {"noncharacters pass", B("\xEF\xB7\x90\xEF\xBF\xBE\xF0\x9F\xBF\xBE"),
     B("\xEF\xB7\x90\xEF\xBF\xBE\xF0\x9F\xBF\xBE")},
};

} // namespace

TEST_CASE("Utf8Decoder replaces invalid input as CPython does")
{
    for (const auto& c : decode_cases) {
        CAPTURE(c.name);
        CAPTURE(hex(c.in));
        const std::string out = sanitize_utf8(c.in);
        CHECK(hex(out) == hex(c.expected));
        Utf8Decoder d;
        std::string streamed;
        d.feed(c.in, streamed);
        d.finish(streamed);
        CHECK(d.code_points() == count_code_points(c.expected));
    }
}

TEST_CASE("Utf8Decoder gives the one-shot result for every split point")
{
    for (const auto& c : decode_cases) {
        CAPTURE(c.name);
        for (std::size_t at = 0; at <= c.in.size(); ++at) {
            CAPTURE(at);
            CHECK(hex(decode_split(c.in, at)) == hex(c.expected));
        }
        CHECK(hex(decode_bytewise(c.in)) == hex(c.expected));
    }
}

// All 1- and 2-byte strings, and all 3- and 4-byte strings over the bytes at
// the edges of every UTF-8 range, decoded one by one. The outputs, each
// followed by 0xFF (never in valid UTF-8), are hashed with FNV-1a 64; the
// count and hash were computed the same way with CPython.
TEST_CASE("Utf8Decoder matches CPython exhaustively on short inputs")
{
    static constexpr unsigned char edges[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                              0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                              0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
    std::uint64_t hash = 0xCBF29CE484222325ULL;
    std::uint64_t cases = 0;
    bool splits_agree = true;
    auto run = [&](std::string_view in) {
        const std::string out = sanitize_utf8(in);
        for (unsigned char c : out)
            hash = (hash ^ c) * 0x100000001B3ULL;
        hash = (hash ^ 0xFF) * 0x100000001B3ULL;
        ++cases;
        for (std::size_t at = 1; at < in.size(); ++at)
            if (decode_split(in, at) != out)
                splits_agree = false;
    };
    std::string in;
    for (int a = 0; a < 256; ++a)
        run(in = std::string(1, char(a)));
    for (int a = 0; a < 256; ++a)
        for (int b = 0; b < 256; ++b)
            run(in = {char(a), char(b)});
    for (auto a : edges)
        for (auto b : edges)
            for (auto c : edges)
                run(in = {char(a), char(b), char(c)});
    for (auto a : edges)
        for (auto b : edges)
            for (auto c : edges)
                for (auto d : edges)
                    run(in = {char(a), char(b), char(c), char(d)});
    CHECK(cases == 472042);
    CHECK(hash == 0x8C27347919161159ULL);
    CHECK(splits_agree);
}

TEST_CASE("Utf8Decoder carries a split sequence instead of replacing it")
{
    Utf8Decoder d;
    std::string out;
    d.feed("a\xE2", out);
    CHECK(out == "a");
    d.feed("", out);
    CHECK(out == "a");
    d.feed("\x82", out);
    CHECK(out == "a");
    d.feed("\xAC"
           "b",
           out);
    CHECK(out == "a\xE2\x82\xAC"
                 "b");
    CHECK(d.code_points() == 3);
    d.finish(out);
    CHECK(out == "a\xE2\x82\xAC"
                 "b");

    SUBCASE("a carried prefix that turns out invalid is one U+FFFD")
    {
        std::string o;
        Utf8Decoder e;
        e.feed("\xF0\x9F", o);
        e.feed("\x98"
               "x",
               o);
        CHECK(o == FFFD "x");
        CHECK(e.code_points() == 2);
    }
    SUBCASE("finish flushes a pending prefix once, and the decoder is reusable")
    {
        std::string o;
        Utf8Decoder e;
        e.feed("\xF0\x9F\x98", o);
        CHECK(o.empty());
        e.finish(o);
        CHECK(o == FFFD);
        e.finish(o);
        CHECK(o == FFFD);
        e.feed("\x80", o);
        CHECK(o == FFFD FFFD);
        CHECK(e.code_points() == 2);
    }
}

TEST_CASE("Utf8Decoder ASCII fast path stops at every position")
{
    // Non-ASCII at each offset of a run longer than two 8-byte words.
    const std::string_view inserts[][2] = {
        {"\xFF", FFFD}, {"\xC3\xA9", "\xC3\xA9"}, {"\xE2\x82", FFFD}, {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"}};
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 24u, 33u}) {
        const std::string ascii(len, 'x');
        for (std::size_t pos = 0; pos <= len; ++pos) {
            for (const auto& ins : inserts) {
                const std::string in = ascii.substr(0, pos) + std::string(ins[0]) + ascii.substr(pos);
                const std::string expected = ascii.substr(0, pos) + std::string(ins[1]) + ascii.substr(pos);
                CAPTURE(hex(in));
                CHECK(sanitize_utf8(in) == expected);
            }
        }
    }
}

TEST_CASE("code point counting and offsets")
{
    const std::string_view s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"; // a é € 😀 z
    CHECK(count_code_points("") == 0);
    CHECK(count_code_points(s) == 5);
    CHECK(code_point_offset(s, 0) == 0);
    CHECK(code_point_offset(s, 1) == 1);
    CHECK(code_point_offset(s, 2) == 3);
    CHECK(code_point_offset(s, 3) == 6);
    CHECK(code_point_offset(s, 4) == 10);
    CHECK(code_point_offset(s, 5) == s.size());
    CHECK(code_point_offset(s, 99) == s.size());
    CHECK(code_point_offset("", 0) == 0);
    CHECK(last_code_points_offset(s, 0) == s.size());
    CHECK(last_code_points_offset(s, 1) == 10);
    CHECK(last_code_points_offset(s, 2) == 6);
    CHECK(last_code_points_offset(s, 4) == 1);
    CHECK(last_code_points_offset(s, 5) == 0);
    CHECK(last_code_points_offset(s, 99) == 0);
    CHECK(last_code_points_offset("", 3) == 0);
}

namespace {

struct TruncateCase {
    std::string_view msg;
    std::size_t max_chars;
    std::string_view expected;
};

// Generated with CPython 3.11 from Stirrup's truncate_msg.
const TruncateCase truncate_cases[] = {
    {"abcdefghij", 10, "abcdefghij"},
    {"abcdefghijk", 10,
     "abcde\n... This content has been truncated from an original 11 characters to stay below 10 characters "
     "...\nghijk"},
    {"abcdefghij", 9,
     "abcd\n... This content has been truncated from an original 10 characters to stay below 9 characters ...\nfghij"},
    {"abcdefghijkl", 9,
     "abcd\n... This content has been truncated from an original 12 characters to stay below 9 characters ...\nhijkl"},
    {"abcdefghijkl", 8,
     "abcd\n... This content has been truncated from an original 12 characters to stay below 8 characters ...\nijkl"},
    {"ab", 1, "\n... This content has been truncated from an original 2 characters to stay below 1 characters ...\nb"},
    {"abc", 1, "\n... This content has been truncated from an original 3 characters to stay below 1 characters ...\nc"},
    {"abc", 0,
     "\n... This content has been truncated from an original 3 characters to stay below 0 characters ...\nabc"},
    {"", 0, ""},
    {"a", 0, "\n... This content has been truncated from an original 1 characters to stay below 0 characters ...\na"},
    {"abc", 2,
     "a\n... This content has been truncated from an original 3 characters to stay below 2 characters ...\nc"},
    {"abcd", 3,
     "a\n... This content has been truncated from an original 4 characters to stay below 3 characters ...\ncd"},
    {"αβγδεζηθικ", 10, "αβγδεζηθικ"},
    {"αβγδεζηθικ", 5,
     "αβ\n... This content has been truncated from an original 10 characters to stay below 5 characters ...\nθικ"},
    {"αβγδεζηθικ", 4,
     "αβ\n... This content has been truncated from an original 10 characters to stay below 4 characters ...\nικ"},
    {"😀a😀b😀c😀", 4,
     "😀a\n... This content has been truncated from an original 7 characters to stay below 4 characters ...\nc😀"},
    {"😀a😀b😀c😀", 5,
     "😀a\n... This content has been truncated from an original 7 characters to stay below 5 characters ...\n😀c😀"},
    {"😀😀😀😀😀😀", 3,
     "😀\n... This content has been truncated from an original 6 characters to stay below 3 characters ...\n😀😀"},
    {"é€😀xé€😀x", 6,
     "é€😀\n... This content has been truncated from an original 8 characters to stay below 6 characters ...\n€😀x"},
    {"é€😀xé€😀x", 7,
     "é€😀\n... This content has been truncated from an original 8 characters to stay below 7 characters ...\né€😀x"},
    {"x�y�z", 3,
     "x\n... This content has been truncated from an original 5 characters to stay below 3 characters ...\n�z"},
    {"line1\nline2\nline3\n", 7,
     "lin\n... This content has been truncated from an original 18 characters to stay below 7 characters ...\nne3\n"},
};

std::string marker(std::uint64_t length, std::size_t max_chars)
{
    return "\n... This content has been truncated from an original " + std::to_string(length) +
           " characters to stay below " + std::to_string(max_chars) + " characters ...\n";
}

} // namespace

TEST_CASE("truncate_msg matches Stirrup")
{
    for (const auto& c : truncate_cases) {
        CAPTURE(c.msg);
        CAPTURE(c.max_chars);
        CHECK(truncate_msg(c.msg, c.max_chars) == c.expected);
    }
}

TEST_CASE("truncate_msg at Stirrup's 20000 limit")
{
    const std::string at_limit(20'000, 'a');
    CHECK(truncate_msg(at_limit, 20'000) == at_limit);

    const std::string over = std::string(10'000, 'a') + std::string(10'001, 'b');
    CHECK(truncate_msg(over, 20'000) == std::string(10'000, 'a') + marker(20'001, 20'000) + std::string(10'000, 'b'));

    // 20001 two-byte characters: lengths are code points, not bytes.
    std::string greek;
    for (int i = 0; i < 20'001; ++i)
        greek += "\xCE\xB1";
    const std::string out = truncate_msg(greek, 20'000);
    CHECK(out.substr(0, 20'000) == greek.substr(0, 20'000));
    CHECK(out.find(marker(20'001, 20'000)) == 20'000);
    CHECK(count_code_points(out) == 20'000 + count_code_points(marker(20'001, 20'000)));
}

TEST_CASE("truncate_msg with characters dropped by a capture")
{
    // What a capture keeping 5 + 6 code points holds of a 20-character text.
    const std::string full = "0123456789abcdefghij";
    const std::string kept = full.substr(0, 5) + full.substr(14);
    for (std::size_t n = 1; n <= 10; ++n) {
        CAPTURE(n);
        CHECK(truncate_msg(kept, n, 9) == truncate_msg(full, n));
    }
    CHECK(truncate_msg(kept, 8, 9) == "0123" + marker(20, 8) + "ghij");

    // Multi-byte characters on both sides of the gap.
    const std::string wide = "\xCE\xB1\xCE\xB2\xCE\xB3"
                             "xyz"
                             "\xF0\x9F\x98\x80\xE2\x82\xAC\xC3\xA9";
    const std::string wide_kept = "\xCE\xB1\xCE\xB2\xCE\xB3"
                                  "\xF0\x9F\x98\x80\xE2\x82\xAC\xC3\xA9";
    for (std::size_t n = 1; n <= 6; ++n) {
        CAPTURE(n);
        CHECK(truncate_msg(wide_kept, n, 3) == truncate_msg(wide, n));
    }

    // A total within the limit is returned as is.
    CHECK(truncate_msg("abc", 10, 2) == "abc");
    CHECK(truncate_msg("abc", 5, 2) == "abc");
    CHECK(truncate_msg("abcd", 4, 2) == "ab" + marker(6, 4) + "cd");
}

TEST_CASE("seconds_text prints a duration as Python prints seconds")
{
    using std::chrono::milliseconds;
    CHECK(seconds_text(milliseconds(120000)) == "120");
    CHECK(seconds_text(milliseconds(1000)) == "1");
    CHECK(seconds_text(milliseconds(0)) == "0");
    CHECK(seconds_text(milliseconds(1500)) == "1.5");
    CHECK(seconds_text(milliseconds(100)) == "0.1");
    CHECK(seconds_text(milliseconds(1)) == "0.001");
}

#undef FFFD
