// OutputCapture: bounded head + tail of a byte stream, as valid UTF-8.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/exec/detail/output_capture.hpp"

using stirrup::detail::OutputCapture;
namespace text = stirrup::detail::text;

namespace {

struct Captured {
    std::string text;
    std::uint64_t dropped;
    std::uint64_t total;
};

Captured capture(std::string_view bytes, std::size_t head, std::size_t tail, std::size_t chunk)
{
    OutputCapture c(head, tail);
    for (std::size_t i = 0; i < bytes.size(); i += chunk)
        c.append(bytes.substr(i, chunk));
    Captured r;
    r.text = c.take_text();
    r.dropped = c.dropped_chars();
    r.total = c.total_chars();
    return r;
}

// First `head` and last `tail` code points of valid UTF-8, as the capture
// should keep them.
std::string expected_kept(std::string_view utf8, std::size_t head, std::size_t tail)
{
    const std::size_t n = text::count_code_points(utf8);
    if (head + tail >= n)
        return std::string(utf8);
    return std::string(utf8.substr(0, text::code_point_offset(utf8, head))) +
           std::string(utf8.substr(text::last_code_points_offset(utf8, tail)));
}

// Small deterministic generator (xorshift), so failures reproduce.
struct Rng {
    std::uint64_t s;
    std::uint64_t next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

// Mostly text with multi-byte characters, sprinkled with invalid bytes.
std::string random_output(Rng& rng, std::size_t pieces)
{
    static constexpr std::string_view parts[] = {
        "a",    "xyz",      "\n",       "\xC3\xA9",     "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF",
        "\x80", "\xE2\x82", "\xF0\x9F", "\xED\xA0\x80", "\xC0\xAF",     "0123456789"};
    std::string out;
    for (std::size_t i = 0; i < pieces; ++i)
        out += parts[rng.below(std::size(parts))];
    return out;
}

} // namespace

TEST_CASE("OutputCapture keeps everything that fits")
{
    for (std::size_t chunk : {1u, 2u, 5u, 100u}) {
        const auto r = capture("hello\n", 3, 3, chunk);
        CHECK(r.text == "hello\n");
        CHECK(r.dropped == 0);
        CHECK(r.total == 6);
    }
    const auto empty = capture("", 3, 3, 1);
    CHECK(empty.text.empty());
    CHECK(empty.dropped == 0);
    CHECK(empty.total == 0);
}

TEST_CASE("OutputCapture keeps head and tail and counts what it drops")
{
    const std::string out = std::string(10, 'a') + std::string(100, 'b') + std::string(10, 'c');
    for (std::size_t chunk : {1u, 3u, 7u, 10u, 11u, 64u, 1000u}) {
        CAPTURE(chunk);
        const auto r = capture(out, 10, 10, chunk);
        CHECK(r.text == std::string(10, 'a') + std::string(10, 'c'));
        CHECK(r.dropped == 100);
        CHECK(r.total == 120);
    }
    const auto one_over = capture("abcdefg", 3, 3, 2);
    CHECK(one_over.text == "abcefg");
    CHECK(one_over.dropped == 1);
}

TEST_CASE("OutputCapture counts and cuts in code points, never inside a sequence")
{
    // 12 code points, 1 to 4 bytes each.
    const std::string out = "\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC"
                            "a"
                            "\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC"
                            "b"
                            "\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC"
                            "c";
    for (std::size_t head = 0; head <= 13; ++head) {
        for (std::size_t tail = 0; tail <= 13; ++tail) {
            for (std::size_t chunk : {1u, 2u, 3u, 5u, 64u}) {
                CAPTURE(head);
                CAPTURE(tail);
                CAPTURE(chunk);
                const auto r = capture(out, head, tail, chunk);
                CHECK(r.text == expected_kept(out, head, tail));
                CHECK(r.total == 12);
                CHECK(r.dropped == 12 - text::count_code_points(r.text));
            }
        }
    }
}

TEST_CASE("OutputCapture replaces invalid bytes, including a sequence cut at the end")
{
    const auto r = capture("ok\xFF"
                           "\xE2\x82",
                           10, 10, 1);
    CHECK(r.text == "ok\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(r.total == 4);

    // take_text flushes a pending prefix even without finish().
    OutputCapture c(2, 2);
    c.append("abcdef\xF0\x9F\x98");
    CHECK(c.total_chars() == 6);
    CHECK(c.take_text() == "abf\xEF\xBF\xBD");
    CHECK(c.dropped_chars() == 3);
}

TEST_CASE("OutputCapture with a zero head or tail")
{
    const std::string out = "0123456789";
    CHECK(capture(out, 0, 3, 2).text == "789");
    CHECK(capture(out, 3, 0, 2).text == "012");
    const auto none = capture(out, 0, 0, 4);
    CHECK(none.text.empty());
    CHECK(none.dropped == 10);
}

TEST_CASE("OutputCapture handles large outputs in small and huge appends")
{
    // Repeated tail trimming (chunks smaller than the tail) and one append far
    // larger than both limits and than the decoding block.
    std::string big;
    for (int i = 0; i < 200'000; ++i)
        big += "line " + std::to_string(i) + " \xE2\x82\xAC\n";
    const std::string expected = expected_kept(big, 1000, 1000);
    const std::uint64_t total = text::count_code_points(big);
    for (const std::size_t chunk :
         {std::size_t{7}, std::size_t{333}, std::size_t{4096}, std::size_t{65'537}, big.size()}) {
        CAPTURE(chunk);
        const auto r = capture(big, 1000, 1000, chunk);
        CHECK((r.text == expected)); // parenthesised: a failure would print megabytes
        CHECK(r.total == total);
        CHECK(r.dropped == total - 2000);
    }
}

TEST_CASE("OutputCapture then truncate_msg reads as truncate_msg on the full output")
{
    Rng rng{0x9E3779B97F4A7C15ULL};
    for (int round = 0; round < 300; ++round) {
        const std::string bytes = random_output(rng, rng.below(60));
        const std::string full = text::sanitize_utf8(bytes);
        const std::size_t head = rng.below(12);
        const std::size_t tail = rng.below(12);
        const std::size_t chunk = 1 + rng.below(9);
        CAPTURE(round);
        const auto r = capture(bytes, head, tail, chunk);
        REQUIRE(r.text == expected_kept(full, head, tail));
        for (std::size_t n = 1; n <= 2 * std::min(head, tail); ++n) {
            CAPTURE(n);
            CHECK(text::truncate_msg(r.text, n, r.dropped) == text::truncate_msg(full, n));
        }
    }
}
