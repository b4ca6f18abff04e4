#include "stirrup/agent/detail/console_format.hpp"

#include "stirrup/pycompat/detail/json_dumps.hpp"
#include "stirrup/pycompat/detail/py_repr_json.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <utf8proc.h>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/pycompat/detail/py_float.hpp"

namespace stirrup::detail::console {

namespace json = boost::json;

namespace {

// Decodes one code point of valid UTF-8 at `i` and advances `i`.
char32_t next_code_point(std::string_view s, std::size_t& i)
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    len = std::min(len, s.size() - i);
    char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (std::size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    return cp;
}

// Columns from utf8proc's Unicode tables (East Asian Width and emoji
// presentation: 2; combining marks, format characters and controls: 0).
std::size_t code_point_width(char32_t cp)
{
    const int w = utf8proc_charwidth(static_cast<utf8proc_int32_t>(cp));
    return w > 0 ? static_cast<std::size_t>(w) : 0;
}

std::string number_text(const json::value& v)
{
    if (v.is_int64())
        return std::to_string(v.get_int64());
    if (v.is_uint64())
        return std::to_string(v.get_uint64());
    return detail::pyexpr::float_repr(v.get_double());
}

void dump_indented(std::string& out, const json::value& v, std::size_t level)
{
    const std::string pad((level + 1) * 2, ' ');
    const std::string close_pad(level * 2, ' ');
    switch (v.kind()) {
    case json::kind::object: {
        const auto& obj = v.get_object();
        if (obj.empty()) {
            out += "{}";
            return;
        }
        out += "{\n";
        bool first = true;
        for (const auto& [key, item] : obj) {
            if (!first)
                out += ",\n";
            first = false;
            out += pad;
            detail::append_json_string(out, key);
            out += ": ";
            dump_indented(out, item, level + 1);
        }
        out += "\n" + close_pad + "}";
        return;
    }
    case json::kind::array: {
        const auto& arr = v.get_array();
        if (arr.empty()) {
            out += "[]";
            return;
        }
        out += "[\n";
        bool first = true;
        for (const auto& item : arr) {
            if (!first)
                out += ",\n";
            first = false;
            out += pad;
            dump_indented(out, item, level + 1);
        }
        out += "\n" + close_pad + "]";
        return;
    }
    case json::kind::string:
        detail::append_json_string(out, v.get_string());
        return;
    case json::kind::bool_:
        out += v.get_bool() ? "true" : "false";
        return;
    case json::kind::null:
        out += "null";
        return;
    default:
        out += number_text(v);
        return;
    }
}

bool is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string repeat(std::string_view unit, std::size_t n)
{
    std::string out;
    out.reserve(unit.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        out += unit;
    return out;
}

} // namespace

// ---- values --------------------------------------------------------------

std::string with_thousands(std::int64_t n)
{
    const bool negative = n < 0;
    // Through unsigned so INT64_MIN has a magnitude.
    std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
    const std::string digits = std::to_string(magnitude);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return negative ? "-" + out : out;
}

std::string fixed(double x, int decimals)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    return buf;
}

std::string percent(double fraction)
{
    return fixed(fraction * 100.0, 1) + "%";
}

std::string human_size(std::uint64_t bytes)
{
    if (bytes < 1024)
        return std::to_string(bytes) + " B";
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    value /= 1024.0;
    while (value >= 1024.0 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    return fixed(value, 1) + " " + units[unit];
}

std::optional<std::string> pretty_json(std::string_view text)
{
    boost::system::error_code ec;
    const json::value parsed = json::parse(text, ec);
    if (ec)
        return std::nullopt;
    std::string out;
    dump_indented(out, parsed, 0);
    return out;
}

std::string display_value(const json::value& value)
{
    if (value.is_string())
        return std::string(value.get_string());
    return detail::py_repr_json(value);
}

// ---- text ----------------------------------------------------------------

std::string cut(std::string_view utf8, std::size_t max_chars)
{
    const std::size_t end = detail::text::code_point_offset(utf8, max_chars);
    if (end >= utf8.size())
        return std::string(utf8);
    return std::string(utf8.substr(0, end)) + "...";
}

std::string collapse_whitespace(std::string_view text)
{
    std::string out;
    bool pending_space = false;
    for (const char c : text) {
        if (is_ascii_space(c) || c == '\n') {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space)
            out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

std::string content_display(const Content& content)
{
    if (const auto* s = std::get_if<std::string>(&content))
        return detail::text::sanitize_utf8(*s);
    std::string out;
    bool first = true;
    for (const auto& part : std::get<std::vector<ContentPart>>(content)) {
        if (!first)
            out += '\n';
        first = false;
        if (const auto* s = std::get_if<std::string>(&part)) {
            out += detail::text::sanitize_utf8(*s);
        } else if (const auto* image = std::get_if<ImageBlock>(&part)) {
            out +=
                "[image " + detail::text::sanitize_utf8(image->mime_type) + ", " + human_size(image->data.size()) + "]";
        } else {
            const auto& audio = std::get<AudioBlock>(part);
            out +=
                "[audio " + detail::text::sanitize_utf8(audio.mime_type) + ", " + human_size(audio.data.size()) + "]";
        }
    }
    return out;
}

std::string html_unescape(std::string_view text)
{
    static constexpr std::pair<std::string_view, std::string_view> named[] = {
        {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"}, {"nbsp;", "\u00A0"},
    };
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '&') {
            out += text[i++];
            continue;
        }
        const std::string_view rest = text.substr(i + 1);
        bool replaced = false;
        for (const auto& [name, value] : named) {
            if (rest.starts_with(name)) {
                out += value;
                i += 1 + name.size();
                replaced = true;
                break;
            }
        }
        if (!replaced && rest.starts_with('#')) {
            const bool hex = rest.size() > 1 && (rest[1] == 'x' || rest[1] == 'X');
            std::size_t j = hex ? 2 : 1;
            std::uint32_t cp = 0;
            std::size_t digits = 0;
            for (; j < rest.size() && digits < 8; ++j, ++digits) {
                const char c = rest[j];
                int d = -1;
                if (c >= '0' && c <= '9')
                    d = c - '0';
                else if (hex && c >= 'a' && c <= 'f')
                    d = c - 'a' + 10;
                else if (hex && c >= 'A' && c <= 'F')
                    d = c - 'A' + 10;
                if (d < 0)
                    break;
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
            }
            if (digits > 0 && j < rest.size() && rest[j] == ';') {
                // As html.unescape: NUL, surrogates and out-of-range become U+FFFD.
                if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                    cp = 0xFFFD;
                detail::text::append_utf8(out, cp);
                i += 1 + j + 1;
                replaced = true;
            }
        }
        if (!replaced)
            out += text[i++];
    }
    return out;
}

std::string visible(std::string_view utf8)
{
    std::string out;
    out.reserve(utf8.size());
    std::size_t column = 0;
    std::size_t i = 0;
    while (i < utf8.size()) {
        const char32_t cp = next_code_point(utf8, i);
        if (cp == '\n') {
            out += '\n';
            column = 0;
        } else if (cp == '\t') {
            const std::size_t spaces = 8 - column % 8;
            out.append(spaces, ' ');
            column += spaces;
        } else if (cp < 0x20) {
            detail::text::append_utf8(out, 0x2400 + cp);
            ++column;
        } else if (cp == 0x7F) {
            detail::text::append_utf8(out, 0x2421);
            ++column;
        } else if (cp >= 0x80 && cp <= 0x9F) {
            detail::text::append_utf8(out, 0xFFFD);
            ++column;
        } else {
            detail::text::append_utf8(out, cp);
            column += code_point_width(cp);
        }
    }
    return out;
}

std::size_t display_width(std::string_view utf8)
{
    std::size_t width = 0;
    std::size_t i = 0;
    while (i < utf8.size())
        width += code_point_width(next_code_point(utf8, i));
    return width;
}

std::string fit_width(std::string_view utf8, std::size_t columns)
{
    std::size_t width = 0;
    std::size_t i = 0;
    while (i < utf8.size()) {
        std::size_t next = i;
        const std::size_t w = code_point_width(next_code_point(utf8, next));
        if (width + w > columns)
            break;
        width += w;
        i = next;
    }
    return std::string(utf8.substr(0, i));
}

std::vector<std::string> split_lines(std::string_view text)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) {
            lines.emplace_back(text.substr(start));
            break;
        }
        lines.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::vector<std::string> wrap(std::string_view utf8, std::size_t columns)
{
    columns = std::max<std::size_t>(columns, 1);
    std::vector<std::string> out;
    for (const auto& line : split_lines(utf8)) {
        std::string_view rest = line;
        while (display_width(rest) > columns) {
            std::string piece = fit_width(rest, columns);
            if (piece.empty())
                piece = std::string(rest.substr(0, 1)); // a char wider than the line
            const auto space = piece.rfind(' ');
            if (space != std::string::npos && space >= piece.size() / 2 && space > 0) {
                out.push_back(piece.substr(0, space));
                rest.remove_prefix(space + 1);
            } else {
                rest.remove_prefix(piece.size());
                out.push_back(std::move(piece));
            }
        }
        out.emplace_back(rest);
    }
    return out;
}

// ---- layout --------------------------------------------------------------

std::string Painter::paint(std::string_view text, std::string_view code) const
{
    if (!color || code.empty() || text.empty())
        return std::string(text);
    std::string out = "\x1b[";
    out += code;
    out += 'm';
    out += text;
    out += "\x1b[0m";
    return out;
}

std::string Painter::line(std::string_view text) const
{
    std::string out(indent, ' ');
    out += text;
    out += '\n';
    return out;
}

std::size_t Painter::usable_width() const
{
    return width > indent + 20 ? width - indent : 20;
}

std::string Painter::rule(std::string_view title, std::string_view title_code, std::string_view rule_code) const
{
    const std::size_t w = usable_width();
    if (title.empty())
        return line(paint(repeat("─", w), rule_code));
    const std::size_t title_width = display_width(title) + 2;
    if (title_width + 2 > w)
        return line(paint("─ ", rule_code) + paint(title, title_code));
    const std::size_t left = (w - title_width) / 2;
    const std::size_t right = w - title_width - left;
    return line(paint(repeat("─", left), rule_code) + " " + paint(title, title_code) + " " +
                paint(repeat("─", right), rule_code));
}

std::string Painter::panel(std::string_view title, std::string_view title_code, std::string_view border_code,
                           const std::vector<std::string>& body) const
{
    const std::size_t w = usable_width();
    const std::size_t used = 3 + display_width(title) + 1; // "╭─ " title " "
    std::string out = line(paint("╭─ ", border_code) + paint(title, title_code) + " " +
                           paint(repeat("─", w > used ? w - used : 0), border_code));
    for (const auto& body_line : body)
        out += line(paint("│", border_code) + (body_line.empty() ? "" : " " + body_line));
    out += line(paint("╰" + repeat("─", w - 1), border_code));
    return out;
}

namespace {

void render_children(const TreeNode& node, const Painter& painter, const std::string& prefix,
                     std::vector<std::string>& out)
{
    for (std::size_t i = 0; i < node.children.size(); ++i) {
        const bool last = i + 1 == node.children.size();
        const auto& child = node.children[i];
        out.push_back(painter.paint(prefix + (last ? "└── " : "├── "), sgr::dim) + child.label);
        render_children(child, painter, prefix + (last ? "    " : "│   "), out);
    }
}

} // namespace

std::vector<std::string> render_tree(const TreeNode& root, const Painter& painter)
{
    std::vector<std::string> out{root.label};
    render_children(root, painter, "", out);
    return out;
}

} // namespace stirrup::detail::console
