// libFuzzer target for the UTF-8 decoder, OutputCapture and truncate_msg.
//
// Input layout: byte 0 chooses the split point, bytes 1 and 2 the capture's
// head and tail limits (0..15 code points), the rest is the output stream.
//
// Properties:
//  - the decoder agrees with a reference written from the Unicode definition
//    of maximal subparts (CPython's "replace" behaviour);
//  - its output is valid UTF-8 (checked by an independent validator that
//    decodes code points by value), and valid input passes unchanged;
//  - feeding the stream in two parts, or byte by byte, gives the one-shot result;
//  - OutputCapture keeps exactly the first `head` and last `tail` code points
//    and counts the rest as dropped;
//  - truncate_msg(capture text, n, dropped) == truncate_msg(full text, n) for
//    1 <= n <= 2*min(head, tail), the range OutputCapture documents;
//  - truncate_msg agrees with a direct model of Python's slicing.
// Each input is checked as given and with its bytes mapped onto the edges of
// the UTF-8 ranges.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/exec/detail/output_capture.hpp"

#include "fuzz_harness.hpp"

namespace text = stirrup::detail::text;

#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            std::fprintf(stderr, "check failed at line %d: %s\n", __LINE__, #cond);                                    \
            std::abort();                                                                                              \
        }                                                                                                              \
    } while (0)

namespace {

// Splits valid UTF-8 into its code points, or returns false if it is not
// valid. Decodes each value and checks it, unlike the decoder's range table.
bool split_code_points(std::string_view s, std::vector<std::string_view>* out)
{
    static constexpr std::uint32_t min_value[] = {0, 0, 0x80, 0x800, 0x10000};
    std::size_t i = 0;
    while (i < s.size()) {
        const auto lead = static_cast<unsigned char>(s[i]);
        std::size_t len;
        std::uint32_t cp;
        if (lead < 0x80) {
            len = 1;
            cp = lead;
        } else if ((lead & 0xE0) == 0xC0) {
            len = 2;
            cp = lead & 0x1F;
        } else if ((lead & 0xF0) == 0xE0) {
            len = 3;
            cp = lead & 0x0F;
        } else if ((lead & 0xF8) == 0xF0) {
            len = 4;
            cp = lead & 0x07;
        } else {
            return false;
        }
        if (s.size() - i < len)
            return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (len > 1 && cp < min_value[len])
            return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        if (out)
            out->push_back(s.substr(i, len));
        i += len;
    }
    return true;
}

// Reference decoder, written from the Unicode definition rather than the
// decoder's per-byte ranges: at an unconvertible offset, replace the longest
// prefix that some completion could still turn into a valid scalar value
// (one U+FFFD), or else the single byte. A prefix's completions span a value
// interval, valid if it meets [minimum for the length, U+10FFFF] outside the
// surrogates.
bool completable(std::string_view prefix, std::size_t len)
{
    static constexpr std::uint32_t min_value[] = {0, 0, 0x80, 0x800, 0x10000};
    static constexpr unsigned char lead_mask[] = {0, 0, 0x1F, 0x0F, 0x07};
    std::uint32_t v = static_cast<unsigned char>(prefix[0]) & lead_mask[len];
    for (std::size_t k = 1; k < prefix.size(); ++k)
        v = (v << 6) | (prefix[k] & 0x3F);
    const unsigned missing_bits = 6 * static_cast<unsigned>(len - prefix.size());
    const std::uint32_t lo = std::max(v << missing_bits, min_value[len]);
    const std::uint32_t hi = std::min(((v + 1) << missing_bits) - 1, std::uint32_t{0x10FFFF});
    return lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF);
}

std::string reference_decode(std::string_view in)
{
    std::string out;
    std::size_t i = 0;
    while (i < in.size()) {
        const auto lead = static_cast<unsigned char>(in[i]);
        const std::size_t len = lead < 0x80   ? 1
                                : lead < 0xC0 ? 0
                                : lead < 0xE0 ? 2
                                : lead < 0xF0 ? 3
                                : lead < 0xF8 ? 4
                                              : 0;
        if (len == 1) {
            out += in[i++];
            continue;
        }
        if (len == 0 || !completable(in.substr(i, 1), len)) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        std::size_t k = 1;
        while (k < len && i + k < in.size() && (in[i + k] & 0xC0) == 0x80 && completable(in.substr(i, k + 1), len))
            ++k;
        if (k == len)
            out += in.substr(i, len);
        else
            out += "\xEF\xBF\xBD";
        i += k;
    }
    return out;
}

std::string join(const std::vector<std::string_view>& cps, std::size_t from, std::size_t to)
{
    std::string out;
    for (std::size_t i = from; i < to; ++i)
        out += cps[i];
    return out;
}

// Python: msg[:n // 2] + marker + msg[-n // 2:], on a list of code points.
std::string model_truncate(const std::vector<std::string_view>& cps, std::size_t n)
{
    const std::size_t len = cps.size();
    if (len <= n)
        return join(cps, 0, len);
    const std::size_t tail = n == 0 ? len : n - n / 2;
    return join(cps, 0, n / 2) + "\n... This content has been truncated from an original " + std::to_string(len) +
           " characters to stay below " + std::to_string(n) + " characters ...\n" + join(cps, len - tail, len);
}

std::string decode_parts(std::string_view a, std::string_view b)
{
    text::Utf8Decoder d;
    std::string out;
    d.feed(a, out);
    d.feed(b, out);
    d.finish(out);
    FUZZ_CHECK(d.code_points() == text::count_code_points(out));
    return out;
}

// Runs every property on one stream.
void check_stream(std::string_view in, std::size_t selector, std::size_t head, std::size_t tail)
{
    const std::size_t split = selector % (in.size() + 1);

    const std::string full = text::sanitize_utf8(in);
    FUZZ_CHECK(full == reference_decode(in));
    std::vector<std::string_view> cps;
    FUZZ_CHECK(split_code_points(full, &cps));
    FUZZ_CHECK(cps.size() == text::count_code_points(full));
    if (split_code_points(in, nullptr))
        FUZZ_CHECK(full == in);

    FUZZ_CHECK(decode_parts(in.substr(0, split), in.substr(split)) == full);
    {
        text::Utf8Decoder d;
        std::string out;
        for (std::size_t i = 0; i < in.size(); ++i)
            d.feed(in.substr(i, 1), out);
        d.finish(out);
        FUZZ_CHECK(out == full);
    }

    for (std::size_t n = 0; n <= cps.size() + 1 && n <= 40; ++n)
        FUZZ_CHECK(text::truncate_msg(full, n) == model_truncate(cps, n));

    // Two captures: two appends at the split point, and one byte at a time.
    for (int bytewise = 0; bytewise < 2; ++bytewise) {
        stirrup::detail::OutputCapture capture(head, tail);
        if (bytewise) {
            for (std::size_t i = 0; i < in.size(); ++i)
                capture.append(in.substr(i, 1));
        } else {
            capture.append(in.substr(0, split));
            capture.append(in.substr(split));
        }
        capture.finish();
        const std::string kept = capture.take_text();
        const std::uint64_t dropped = capture.dropped_chars();

        FUZZ_CHECK(capture.total_chars() == cps.size());
        FUZZ_CHECK(text::count_code_points(kept) + dropped == cps.size());
        if (head + tail >= cps.size()) {
            FUZZ_CHECK(dropped == 0);
            FUZZ_CHECK(kept == full);
        } else {
            FUZZ_CHECK(kept == join(cps, 0, head) + join(cps, cps.size() - tail, cps.size()));
        }
        for (std::size_t n = 1; n <= 2 * std::min(head, tail); ++n)
            FUZZ_CHECK(text::truncate_msg(kept, n, dropped) == text::truncate_msg(full, n));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const std::size_t selector = data[0];
    const std::size_t head = data[1] % 16;
    const std::size_t tail = data[2] % 16;
    const std::string_view in = stirrup::fuzz::as_text(data + 3, size - 3);
    check_stream(in, selector, head, tail);

    // Coverage cannot tell a wrongly accepted byte from a rightly rejected
    // one, and random bytes rarely hit the range edges where such bugs live
    // (E0 9F, ED A0, F4 90...). So also check the stream with every byte
    // mapped onto those edges.
    static constexpr unsigned char edges[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                              0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                              0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
    std::string edged(in.size(), '\0');
    for (std::size_t i = 0; i < in.size(); ++i)
        edged[i] = static_cast<char>(edges[static_cast<unsigned char>(in[i]) % sizeof edges]);
    check_stream(edged, selector, head, tail);
    return 0;
}
