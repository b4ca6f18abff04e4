#include "stirrup/tools/web/detail/charset.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <iconv.h>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/detail/text.hpp"

namespace stirrup::detail::web {

namespace {

bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

std::string_view trim_spaces(std::string_view s) noexcept
{
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

bool starts_with_nocase(std::string_view s, std::size_t at, std::string_view prefix) noexcept
{
    return s.size() - at >= prefix.size() && ascii::iequals(s.substr(at, prefix.size()), prefix);
}

/// The value after "charset" in a Content-Type-like string (WHATWG's
/// "extracting a character encoding from a meta element"), or empty.
std::string charset_from_content(std::string_view content)
{
    std::size_t pos = 0;
    while (true) {
        std::size_t at = std::string::npos;
        for (std::size_t i = pos; i + 7 <= content.size(); ++i) {
            if (ascii::iequals(content.substr(i, 7), "charset")) {
                at = i;
                break;
            }
        }
        if (at == std::string::npos)
            return {};
        std::size_t i = at + 7;
        while (i < content.size() && is_space(content[i]))
            ++i;
        if (i >= content.size() || content[i] != '=') {
            pos = at + 7;
            continue;
        }
        ++i;
        while (i < content.size() && is_space(content[i]))
            ++i;
        if (i >= content.size())
            return {};
        if (content[i] == '"' || content[i] == '\'') {
            const char q = content[i];
            const std::size_t end = content.find(q, i + 1);
            if (end == std::string::npos)
                return {};
            return ascii::to_lower(content.substr(i + 1, end - i - 1));
        }
        std::size_t end = i;
        while (end < content.size() && !is_space(content[end]) && content[end] != ';')
            ++end;
        return ascii::to_lower(content.substr(i, end - i));
    }
}

struct PrescanAttr {
    std::string_view name;
    std::string_view value;
};

/// One attribute of a tag at `pos` (WHATWG's "get an attribute"), advancing
/// `pos`; false at '>' or the end.
bool next_attribute(std::string_view s, std::size_t& pos, PrescanAttr& attr)
{
    while (pos < s.size() && (is_space(s[pos]) || s[pos] == '/'))
        ++pos;
    if (pos >= s.size() || s[pos] == '>')
        return false;
    const std::size_t name_begin = pos;
    while (pos < s.size() && !is_space(s[pos]) && s[pos] != '=' && s[pos] != '>' &&
           !(s[pos] == '/' && pos > name_begin))
        ++pos;
    attr.name = s.substr(name_begin, pos - name_begin);
    attr.value = {};
    while (pos < s.size() && is_space(s[pos]))
        ++pos;
    if (pos >= s.size() || s[pos] != '=')
        return true;
    ++pos;
    while (pos < s.size() && is_space(s[pos]))
        ++pos;
    if (pos >= s.size())
        return true;
    if (s[pos] == '"' || s[pos] == '\'') {
        const char q = s[pos];
        const std::size_t end = s.find(q, pos + 1);
        const std::size_t stop = end == std::string::npos ? s.size() : end;
        attr.value = s.substr(pos + 1, stop - pos - 1);
        pos = end == std::string::npos ? s.size() : end + 1;
        return true;
    }
    const std::size_t value_begin = pos;
    while (pos < s.size() && !is_space(s[pos]) && s[pos] != '>')
        ++pos;
    attr.value = s.substr(value_begin, pos - value_begin);
    return true;
}

bool is_ascii_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// Windows-1252 bytes 0x80..0x9F as WHATWG decodes them (the five holes map
/// to the C1 controls); glibc's iconv refuses those five instead.
constexpr char16_t kWindows1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

std::string decode_windows_1252(std::string_view bytes, std::size_t max_output_bytes)
{
    std::string out;
    out.reserve(std::min(bytes.size() + bytes.size() / 8, max_output_bytes));
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        const char32_t cp = c < 0x80 ? c : c < 0xA0 ? kWindows1252High[c - 0x80] : c;
        if (out.size() + (cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3) > max_output_bytes)
            break;
        text::append_utf8(out, cp);
    }
    return out;
}

/// Cuts valid UTF-8 to at most `max` bytes without splitting a code point.
void cut_utf8(std::string& s, std::size_t max)
{
    if (s.size() <= max)
        return;
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
        --end;
    s.resize(end);
}

class Iconv {
public:
    explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
    ~Iconv()
    {
        if (ok())
            iconv_close(cd_);
    }
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    bool ok() const noexcept { return cd_ != reinterpret_cast<iconv_t>(-1); }
    iconv_t get() const noexcept { return cd_; }

private:
    iconv_t cd_;
};

std::string decode_with_iconv(iconv_t cd, std::string_view bytes, std::size_t unit, std::size_t max_output_bytes)
{
    constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    // Room for one more code point than the limit, cut at the end.
    const std::size_t cap = std::max(max_output_bytes, max_output_bytes + 4); // saturates
    std::string out(std::min(cap, bytes.size() + bytes.size() / 2 + 16), '\0');
    std::size_t used = 0;
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    bool flushed = false;
    while (true) {
        char* o = out.data() + used;
        std::size_t o_left = out.size() - used;
        // The final call with no input writes a stateful encoding's closing shift sequence.
        const std::size_t r =
            in_left > 0 || flushed ? iconv(cd, &in, &in_left, &o, &o_left) : iconv(cd, nullptr, nullptr, &o, &o_left);
        const int err = errno;
        used = static_cast<std::size_t>(o - out.data());
        if (r != static_cast<std::size_t>(-1)) {
            if (in_left > 0 || flushed)
                break;
            flushed = true;
            continue;
        }
        if (err == E2BIG || (err == EILSEQ && out.size() - used < kReplacement.size())) {
            if (out.size() >= cap)
                break;
            out.resize(std::min(cap, out.size() * 2 + 16));
            continue;
        }
        if (err == EILSEQ || err == EINVAL) {
            out.replace(used, kReplacement.size(), kReplacement);
            used += kReplacement.size();
            if (err == EINVAL) // a truncated sequence at the very end
                break;
            const std::size_t skip = std::min(unit, in_left);
            in += skip;
            in_left -= skip;
            continue;
        }
        break;
    }
    out.resize(used);
    cut_utf8(out, max_output_bytes);
    return out;
}

} // namespace

MediaType parse_content_type(std::string_view header)
{
    MediaType mt;
    const std::size_t semi = header.find(';');
    mt.type = ascii::to_lower(trim_spaces(header.substr(0, semi)));
    if (semi != std::string::npos) {
        std::string_view params = header.substr(semi + 1);
        while (!params.empty()) {
            const std::size_t next = params.find(';');
            const std::string_view param = trim_spaces(params.substr(0, next));
            params = next == std::string::npos ? std::string_view{} : params.substr(next + 1);
            const std::size_t eq = param.find('=');
            if (eq == std::string::npos || !ascii::iequals(trim_spaces(param.substr(0, eq)), "charset"))
                continue;
            std::string_view value = trim_spaces(param.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            mt.charset = ascii::to_lower(trim_spaces(value));
            break;
        }
    }
    return mt;
}

std::string sniff_meta_charset(std::string_view html)
{
    const std::string_view s = html.substr(0, std::min<std::size_t>(html.size(), 1024));
    std::size_t pos = 0;
    while (pos < s.size()) {
        if (s[pos] != '<') {
            ++pos;
            continue;
        }
        if (s.compare(pos, 4, "<!--") == 0) {
            const std::size_t end = s.find("-->", pos + 4);
            if (end == std::string::npos)
                return {};
            pos = end + 3;
            continue;
        }
        if (starts_with_nocase(s, pos, "<meta") && pos + 5 < s.size() && (is_space(s[pos + 5]) || s[pos + 5] == '/')) {
            pos += 5;
            bool got_pragma = false;
            std::string content_charset;
            std::string charset;
            PrescanAttr attr;
            while (next_attribute(s, pos, attr)) {
                if (ascii::iequals(attr.name, "http-equiv") && ascii::iequals(attr.value, "content-type"))
                    got_pragma = true;
                else if (ascii::iequals(attr.name, "content") && content_charset.empty())
                    content_charset = charset_from_content(attr.value);
                else if (ascii::iequals(attr.name, "charset") && charset.empty())
                    charset = ascii::to_lower(trim_spaces(attr.value));
            }
            std::string found = !charset.empty() ? charset : got_pragma ? content_charset : std::string{};
            if (!found.empty()) {
                if (found.starts_with("utf-16"))
                    return "utf-8";
                return found;
            }
            continue;
        }
        if (pos + 1 < s.size() &&
            (is_ascii_alpha(s[pos + 1]) || (s[pos + 1] == '/' && pos + 2 < s.size() && is_ascii_alpha(s[pos + 2])))) {
            // A tag: its attributes are skipped as such, so a '>' in a quoted value does not end it.
            pos += 2;
            while (pos < s.size() && !is_space(s[pos]) && s[pos] != '>')
                ++pos;
            PrescanAttr attr;
            while (next_attribute(s, pos, attr)) {
            }
            continue;
        }
        if (pos + 1 < s.size() && (s[pos + 1] == '!' || s[pos + 1] == '/' || s[pos + 1] == '?')) {
            const std::size_t end = s.find('>', pos + 2);
            if (end == std::string::npos)
                return {};
            pos = end + 1;
            continue;
        }
        ++pos;
    }
    return {};
}

std::string iconv_charset_name(std::string_view label)
{
    const std::string l = ascii::to_lower(trim_spaces(label));
    if (l.empty() || l.size() > 40)
        return {};
    for (const char c : l) {
        // iconv reads "//" suffixes as options; nothing else belongs in a charset name.
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':'))
            return {};
    }
    struct Alias {
        std::string_view label;
        std::string_view name;
    };
    // WHATWG's Encoding Standard maps these labels to a wider encoding than their name says.
    static constexpr Alias kAliases[] = {
        {"utf-8", "UTF-8"},
        {"utf8", "UTF-8"},
        {"unicode-1-1-utf-8", "UTF-8"},
        {"unicode11utf8", "UTF-8"},
        {"unicode20utf8", "UTF-8"},
        {"x-unicode20utf8", "UTF-8"},
        {"ansi_x3.4-1968", "WINDOWS-1252"},
        {"ascii", "WINDOWS-1252"},
        {"us-ascii", "WINDOWS-1252"},
        {"cp1252", "WINDOWS-1252"},
        {"cp819", "WINDOWS-1252"},
        {"csisolatin1", "WINDOWS-1252"},
        {"ibm819", "WINDOWS-1252"},
        {"iso-8859-1", "WINDOWS-1252"},
        {"iso-ir-100", "WINDOWS-1252"},
        {"iso8859-1", "WINDOWS-1252"},
        {"iso88591", "WINDOWS-1252"},
        {"iso_8859-1", "WINDOWS-1252"},
        {"iso_8859-1:1987", "WINDOWS-1252"},
        {"l1", "WINDOWS-1252"},
        {"latin1", "WINDOWS-1252"},
        {"windows-1252", "WINDOWS-1252"},
        {"x-cp1252", "WINDOWS-1252"},
        {"iso-8859-9", "WINDOWS-1254"},
        {"latin5", "WINDOWS-1254"},
        {"l5", "WINDOWS-1254"},
        {"iso-8859-11", "WINDOWS-874"},
        {"tis-620", "WINDOWS-874"},
        {"gb2312", "GB18030"},
        {"gbk", "GB18030"},
        {"x-gbk", "GB18030"},
        {"chinese", "GB18030"},
        {"csgb2312", "GB18030"},
        {"gb18030", "GB18030"},
        {"big5", "BIG5-HKSCS"},
        {"big5-hkscs", "BIG5-HKSCS"},
        {"x-x-big5", "BIG5-HKSCS"},
        {"shift_jis", "CP932"},
        {"shift-jis", "CP932"},
        {"sjis", "CP932"},
        {"ms_kanji", "CP932"},
        {"windows-31j", "CP932"},
        {"x-sjis", "CP932"},
        {"euc-kr", "CP949"},
        {"ks_c_5601-1987", "CP949"},
        {"windows-949", "CP949"},
        {"utf-16", "UTF-16LE"},
        {"utf-16le", "UTF-16LE"},
        {"utf-16be", "UTF-16BE"},
        {"x-user-defined", "WINDOWS-1252"},
    };
    for (const Alias& a : kAliases) {
        if (a.label == l)
            return std::string(a.name);
    }
    std::string upper = l;
    for (char& c : upper) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    }
    return upper;
}

std::string decode_to_utf8(std::string_view bytes, std::string_view label, std::size_t max_output_bytes)
{
    std::string from;
    if (bytes.starts_with("\xEF\xBB\xBF")) {
        bytes.remove_prefix(3);
        from = "UTF-8";
    } else if (bytes.starts_with("\xFF\xFE")) {
        bytes.remove_prefix(2);
        from = "UTF-16LE";
    } else if (bytes.starts_with("\xFE\xFF")) {
        bytes.remove_prefix(2);
        from = "UTF-16BE";
    } else {
        from = iconv_charset_name(label);
    }
    if (from == "WINDOWS-1252")
        return decode_windows_1252(bytes, max_output_bytes);
    if (!from.empty() && from != "UTF-8") {
        const Iconv cd(from);
        if (cd.ok())
            return decode_with_iconv(cd.get(), bytes, from.starts_with("UTF-16") ? 2 : 1, max_output_bytes);
    }
    // A UTF-8 sequence is at most 4 bytes and each replaced byte grows to 3: a
    // prefix this long decodes to at least max_output_bytes.
    std::string out =
        text::sanitize_utf8(bytes.substr(0, std::min(bytes.size(), std::max(max_output_bytes, max_output_bytes + 4))));
    cut_utf8(out, max_output_bytes);
    return out;
}

} // namespace stirrup::detail::web
