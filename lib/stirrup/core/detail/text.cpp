#include "stirrup/core/detail/text.hpp"

#include <algorithm>
#include <cstring>

namespace stirrup::detail::text {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD

using Byte = unsigned char;

bool is_continuation(Byte b) noexcept
{
    return (b & 0xC0) == 0x80;
}

enum class SeqKind { valid, invalid, truncated };

struct Seq {
    SeqKind kind;
    std::size_t len; // bytes of the sequence, of the maximal invalid subpart, or of the valid prefix
};

// Classifies the non-ASCII sequence at p. The allowed range of the second
// byte is what rejects overlongs (E0, F0), surrogates (ED) and code points
// above U+10FFFF (F4); C0, C1 and F5..FF can never start a sequence. An
// invalid sequence spans its maximal valid prefix, so CPython's "replace"
// emits one U+FFFD for it and resumes at the offending byte.
Seq classify(const Byte* p, const Byte* end) noexcept
{
    const Byte lead = *p;
    std::size_t need;
    Byte lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
        if (lead == 0xE0)
            lo = 0xA0;
        if (lead == 0xED)
            hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
        if (lead == 0xF0)
            lo = 0x90;
        if (lead == 0xF4)
            hi = 0x8F;
    } else {
        return {SeqKind::invalid, 1};
    }
    for (std::size_t i = 1; i < need; ++i) {
        if (p + i == end)
            return {SeqKind::truncated, i};
        const Byte b = p[i];
        if (b < lo || b > hi)
            return {SeqKind::invalid, i};
        lo = 0x80;
        hi = 0xBF;
    }
    return {SeqKind::valid, need};
}

// Output is mostly ASCII, so test eight bytes at a time.
const Byte* skip_ascii(const Byte* p, const Byte* end) noexcept
{
    while (end - p >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        if (word & 0x8080808080808080ULL)
            break;
        p += 8;
    }
    while (p < end && *p < 0x80)
        ++p;
    return p;
}

} // namespace

void Utf8Decoder::feed(std::string_view bytes, std::string& out)
{
    const Byte* p = reinterpret_cast<const Byte*>(bytes.data());
    const Byte* const end = p + bytes.size();

    if (pending_len_ > 0) {
        // Resolve the carried prefix against the new bytes exactly as the
        // one-shot decoder would have seen them contiguously.
        Byte buf[4];
        std::memcpy(buf, pending_, pending_len_);
        const std::size_t extra = std::min<std::size_t>(4 - pending_len_, bytes.size());
        std::memcpy(buf + pending_len_, p, extra);
        const Seq s = classify(buf, buf + pending_len_ + extra);
        if (s.kind == SeqKind::truncated) {
            std::memcpy(pending_, buf, s.len);
            pending_len_ = s.len;
            return; // every new byte extended the prefix
        }
        if (s.kind == SeqKind::valid)
            out.append(reinterpret_cast<const char*>(buf), s.len);
        else
            out += replacement;
        ++code_points_;
        // The carried prefix was valid, so the sequence ends at or after it;
        // an offending first new byte is not consumed and is decoded below.
        p += s.len - pending_len_;
        pending_len_ = 0;
    }

    while (p < end) {
        // Append the longest valid run in one go.
        const Byte* run = p;
        std::uint64_t run_points = 0;
        Seq s{SeqKind::valid, 0};
        while (p < end) {
            if (*p < 0x80) {
                const Byte* q = skip_ascii(p, end);
                run_points += static_cast<std::uint64_t>(q - p);
                p = q;
                continue;
            }
            s = classify(p, end);
            if (s.kind != SeqKind::valid)
                break;
            p += s.len;
            ++run_points;
        }
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        code_points_ += run_points;
        if (p == end)
            break;

        if (s.kind == SeqKind::invalid) {
            out += replacement;
            ++code_points_;
            p += s.len;
        } else { // truncated: only possible at the end of this chunk
            std::memcpy(pending_, p, s.len);
            pending_len_ = s.len;
            p = end;
        }
    }
}

void Utf8Decoder::finish(std::string& out)
{
    if (pending_len_ == 0)
        return;
    // CPython reports "unexpected end of data" for the whole valid prefix.
    out += replacement;
    ++code_points_;
    pending_len_ = 0;
}

std::string sanitize_utf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    Utf8Decoder decoder;
    decoder.feed(bytes, out);
    decoder.finish(out);
    return out;
}

std::size_t count_code_points(std::string_view utf8) noexcept
{
    std::size_t n = 0;
    for (const char c : utf8)
        n += !is_continuation(static_cast<Byte>(c));
    return n;
}

std::size_t code_point_offset(std::string_view utf8, std::size_t n) noexcept
{
    std::size_t seen = 0;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        if (is_continuation(static_cast<Byte>(utf8[i])))
            continue;
        if (seen == n)
            return i;
        ++seen;
    }
    return utf8.size();
}

std::size_t last_code_points_offset(std::string_view utf8, std::size_t n) noexcept
{
    std::size_t i = utf8.size();
    for (std::size_t seen = 0; seen < n && i > 0;) {
        --i;
        if (!is_continuation(static_cast<Byte>(utf8[i])))
            ++seen;
    }
    return i;
}

std::string truncate_msg(std::string_view utf8, std::size_t max_chars, std::uint64_t dropped_chars)
{
    const std::uint64_t length = count_code_points(utf8) + dropped_chars;
    if (length <= max_chars)
        return std::string(utf8);

    // Python: msg[:n // 2] + marker + msg[-n // 2:]. The floor division of
    // -n makes the tail ceil(n/2), and for n == 0 the slice is msg[0:].
    const std::size_t head = code_point_offset(utf8, max_chars / 2);
    const std::size_t tail = max_chars == 0 ? 0 : last_code_points_offset(utf8, max_chars - max_chars / 2);
    std::string out;
    out.reserve(head + (utf8.size() - tail) + 128);
    out.append(utf8.substr(0, head));
    out += "\n... This content has been truncated from an original ";
    out += std::to_string(length);
    out += " characters to stay below ";
    out += std::to_string(max_chars);
    out += " characters ...\n";
    out.append(utf8.substr(tail));
    return out;
}

void append_utf8(std::string& out, char32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string seconds_text(std::chrono::milliseconds t)
{
    if (t.count() % 1000 == 0)
        return std::to_string(t.count() / 1000);
    std::string s = std::to_string(static_cast<double>(t.count()) / 1000.0);
    while (!s.empty() && s.back() == '0')
        s.pop_back();
    return s;
}

} // namespace stirrup::detail::text
