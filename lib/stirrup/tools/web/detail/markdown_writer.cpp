#include "stirrup/tools/web/detail/markdown_writer.hpp"

#include <algorithm>
#include <charconv>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "stirrup/core/detail/ascii.hpp"

namespace stirrup::detail::web {

namespace {

/// Past this depth a subtree is written as plain text: the writer recurses
/// once per element, and no page needs this much structure to be read.
constexpr unsigned kMaxMarkdownDepth = 200;
constexpr std::size_t kMaxTableColumns = 200;
constexpr long kMaxColspan = 50;

bool is_block_tag(Tag t)
{
    switch (t) {
    case Tag::address:
    case Tag::article:
    case Tag::aside:
    case Tag::blockquote:
    case Tag::body:
    case Tag::caption:
    case Tag::center:
    case Tag::dd:
    case Tag::details:
    case Tag::dialog:
    case Tag::div:
    case Tag::dl:
    case Tag::dt:
    case Tag::fieldset:
    case Tag::figcaption:
    case Tag::figure:
    case Tag::footer:
    case Tag::form:
    case Tag::header:
    case Tag::hgroup:
    case Tag::hr:
    case Tag::html:
    case Tag::legend:
    case Tag::li:
    case Tag::main:
    case Tag::menu:
    case Tag::nav:
    case Tag::ol:
    case Tag::p:
    case Tag::pre:
    case Tag::section:
    case Tag::summary:
    case Tag::table:
    case Tag::tbody:
    case Tag::td:
    case Tag::tfoot:
    case Tag::th:
    case Tag::thead:
    case Tag::tr:
    case Tag::ul:
        return true;
    default:
        return false;
    }
}

unsigned heading_level(Tag t)
{
    switch (t) {
    case Tag::h1:
        return 1;
    case Tag::h2:
        return 2;
    case Tag::h3:
        return 3;
    case Tag::h4:
        return 4;
    case Tag::h5:
        return 5;
    case Tag::h6:
        return 6;
    default:
        return 0;
    }
}

bool is_ws(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool has_visible_char(std::string_view s) noexcept
{
    return std::any_of(s.begin(), s.end(), [](char c) { return !is_ws(c); });
}

std::string collapse_ws(std::string_view s)
{
    std::string out;
    bool space = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (is_ws(c) || (c == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xA0')) {
            if (c == '\xC2')
                ++i;
            space = true;
            continue;
        }
        if (space && !out.empty())
            out += ' ';
        space = false;
        out += c;
    }
    return out;
}

std::size_t longest_run(std::string_view s, char ch)
{
    std::size_t best = 0;
    std::size_t run = 0;
    for (const char c : s) {
        run = c == ch ? run + 1 : 0;
        best = std::max(best, run);
    }
    return best;
}

/// A paragraph that is nothing but a sharing or printing link's label
/// (trafilatura drops the same lines).
bool is_share_label(std::string_view line)
{
    static constexpr std::string_view kLabels[] = {
        "drucken", "e-mail", "email",     "facebook", "flipboard", "google", "instagram", "linkedin",
        "mail",    "pdf",    "pinterest", "pocket",   "print",     "qq",     "reddit",    "twitter",
        "wechat",  "weibo",  "whatsapp",  "xing",     "share",     "tweet",  "x",
    };
    while (!line.empty() && !std::isalnum(static_cast<unsigned char>(line.front())))
        line.remove_prefix(1);
    while (!line.empty() && !std::isalnum(static_cast<unsigned char>(line.back())))
        line.remove_suffix(1);
    if (line.empty() || line.size() > 12)
        return false;
    const std::string lower = ascii::to_lower(line);
    return std::find(std::begin(kLabels), std::end(kLabels), lower) != std::end(kLabels);
}

/// "language-cpp" / "lang-cpp" in a class attribute, for a fence's info string.
std::string code_language(std::string_view cls)
{
    std::size_t pos = 0;
    while (pos < cls.size()) {
        while (pos < cls.size() && is_ws(cls[pos]))
            ++pos;
        std::size_t end = pos;
        while (end < cls.size() && !is_ws(cls[end]))
            ++end;
        std::string_view token = cls.substr(pos, end - pos);
        pos = end;
        for (const std::string_view prefix : {std::string_view("language-"), std::string_view("lang-")}) {
            if (!token.starts_with(prefix))
                continue;
            token.remove_prefix(prefix.size());
            if (token.empty() || token.size() > 30)
                continue;
            const bool ok = std::all_of(token.begin(), token.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '#' || c == '-' || c == '_' ||
                       c == '.';
            });
            if (ok)
                return std::string(token);
        }
    }
    return {};
}

/// A URL written inside (...) of a Markdown link: no spaces, no parentheses.
std::string link_target(std::string_view url)
{
    std::string out;
    for (const char c : url) {
        if (c == ' ')
            out += "%20";
        else if (c == '(')
            out += "%28";
        else if (c == ')')
            out += "%29";
        else if (c == '\n' || c == '\r' || c == '\t')
            continue;
        else
            out += c;
    }
    return out;
}

} // namespace

MarkdownWriter::MarkdownWriter(const Dom& dom, const MarkdownOptions& options) : dom_(dom), options_(options) {}

void MarkdownWriter::render(std::uint32_t root)
{
    render_node(root, 0);
    flush_paragraph();
}

void MarkdownWriter::render_children(std::uint32_t n, unsigned depth)
{
    for (std::uint32_t c = dom_.nodes[n].first_child; c != kNone && !full(); c = dom_.nodes[c].next_sibling)
        render_node(c, depth + 1);
}

void MarkdownWriter::render_node(std::uint32_t n, unsigned depth)
{
    if (full())
        return;
    const DomNode& node = dom_.nodes[n];
    if (node.is_text) {
        render_text(dom_.text_of(n));
        return;
    }
    if (depth > kMaxMarkdownDepth) {
        render_flat(n);
        return;
    }
    if (const unsigned level = heading_level(node.tag); level != 0) {
        render_heading(n, level, depth);
        return;
    }
    switch (node.tag) {
    case Tag::ul:
    case Tag::ol:
    case Tag::menu:
        render_list(n, depth);
        return;
    case Tag::pre:
        render_pre(n);
        return;
    case Tag::table:
        render_table(n, depth);
        return;
    case Tag::blockquote:
        flush_paragraph();
        contexts_.push_back({"> ", "> "});
        contexts_.back().id = ++next_context_id_;
        render_children(n, depth);
        flush_paragraph();
        contexts_.pop_back();
        return;
    case Tag::br:
        if (!inline_.empty())
            inline_ += '\n';
        pending_space_ = false;
        return;
    case Tag::hr:
        flush_paragraph();
        return;
    case Tag::img:
        render_image(n);
        return;
    case Tag::a:
        render_link(n, depth);
        return;
    case Tag::b:
    case Tag::strong:
        render_wrapped(n, depth, "**", "**");
        return;
    case Tag::em:
    case Tag::i:
        render_wrapped(n, depth, "*", "*");
        return;
    case Tag::del:
    case Tag::s:
    case Tag::strike:
        render_wrapped(n, depth, "~~", "~~");
        return;
    case Tag::code:
    case Tag::kbd:
    case Tag::samp:
    case Tag::tt:
    case Tag::var:
        render_inline_code(n);
        return;
    default:
        break;
    }
    if (is_block_tag(node.tag)) {
        flush_paragraph();
        render_children(n, depth);
        flush_paragraph();
        return;
    }
    render_children(n, depth);
}

void MarkdownWriter::render_text(std::string_view text)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        // U+00A0 collapses with the spaces around it, as trafilatura's trim does.
        if (is_ws(c) || (c == '\xC2' && i + 1 < text.size() && text[i + 1] == '\xA0')) {
            if (c == '\xC2')
                ++i;
            pending_space_ = true;
            continue;
        }
        if (pending_space_ && !inline_.empty() && inline_.back() != '\n')
            inline_ += ' ';
        pending_space_ = false;
        inline_ += c;
    }
}

void MarkdownWriter::render_flat(std::uint32_t n)
{
    for (std::uint32_t c = n; c != kNone && !full(); c = dom_.next_in_subtree(c, n)) {
        if (dom_.nodes[c].is_text)
            render_text(dom_.text_of(c));
        else if (is_block_tag(dom_.nodes[c].tag) || dom_.nodes[c].tag == Tag::br)
            pending_space_ = true;
    }
}

void MarkdownWriter::render_wrapped(std::uint32_t n, unsigned depth, std::string_view open, std::string_view close)
{
    if (no_markup_ > 0) {
        render_children(n, depth);
        return;
    }
    const std::uint64_t generation = generation_;
    const std::size_t start = inline_.size();
    render_children(n, depth);
    // A block inside the element flushed the paragraph: there is nothing left to wrap.
    if (generation != generation_ || inline_.size() <= start)
        return;
    std::size_t begin = start;
    if (inline_[begin] == ' ') // the collapsed space before the element stays outside it
        ++begin;
    std::size_t end = inline_.size();
    while (end > begin && inline_[end - 1] == '\n')
        --end;
    if (!has_visible_char(std::string_view(inline_).substr(begin, end - begin)))
        return;
    inline_.insert(end, close);
    inline_.insert(begin, open);
}

void MarkdownWriter::render_inline_code(std::uint32_t n)
{
    std::string raw;
    for (std::uint32_t c = n; c != kNone; c = dom_.next_in_subtree(c, n)) {
        if (dom_.nodes[c].is_text)
            raw += dom_.text_of(c);
        else if (dom_.nodes[c].tag == Tag::br)
            raw += '\n';
    }
    const std::size_t first = raw.find_first_not_of("\n\r");
    const std::size_t last = raw.find_last_not_of(" \t\n\r");
    const bool multiline =
        first != std::string::npos && raw.find('\n', first) < last && (inline_.empty() || !has_visible_char(inline_));
    if (multiline) {
        // Code laid out as a block without <pre> (styled white-space: pre): keep its lines.
        render_pre(n);
        return;
    }
    const std::string content = collapse_ws(raw);
    if (content.empty())
        return;
    const std::string fence(longest_run(content, '`') + 1, '`');
    const bool pad = content.front() == '`' || content.back() == '`';
    if (pending_space_ && !inline_.empty() && inline_.back() != '\n')
        inline_ += ' ';
    pending_space_ = false;
    if (no_markup_ > 0) {
        inline_ += content;
        return;
    }
    inline_ += fence;
    if (pad)
        inline_ += ' ';
    inline_ += content;
    if (pad)
        inline_ += ' ';
    inline_ += fence;
}

void MarkdownWriter::render_link(std::uint32_t n, unsigned depth)
{
    const std::string_view href = ascii::trim(dom_.attr(n, Attr::href));
    if (!options_.include_links || no_markup_ > 0 || href.empty() || href.front() == '#' ||
        ascii::iequals(href.substr(0, 11), "javascript:")) {
        render_children(n, depth);
        return;
    }
    const std::uint64_t generation = generation_;
    const std::size_t start = inline_.size();
    render_children(n, depth);
    if (generation != generation_ || inline_.size() <= start)
        return;
    std::size_t begin = start;
    if (inline_[begin] == ' ')
        ++begin;
    std::size_t end = inline_.size();
    while (end > begin && inline_[end - 1] == '\n')
        --end;
    if (!has_visible_char(std::string_view(inline_).substr(begin, end - begin)))
        return;
    inline_.insert(end, "](" + link_target(resolve(link_target(href))) + ")");
    inline_.insert(begin, "[");
}

void MarkdownWriter::render_image(std::uint32_t n)
{
    if (!options_.include_images || no_markup_ > 0)
        return;
    std::string_view src = ascii::trim(dom_.attr(n, Attr::src));
    // Lazy-loading pages keep the real address in data-src and a placeholder in src.
    if (src.empty() || src.starts_with("data:"))
        src = ascii::trim(dom_.attr(n, Attr::data_src));
    if (src.empty() || src.starts_with("data:"))
        return;
    std::string alt = collapse_ws(dom_.attr(n, Attr::alt));
    std::replace(alt.begin(), alt.end(), '[', '(');
    std::replace(alt.begin(), alt.end(), ']', ')');
    if (pending_space_ && !inline_.empty() && inline_.back() != '\n')
        inline_ += ' ';
    pending_space_ = false;
    inline_ += "![" + alt + "](" + link_target(resolve(link_target(src))) + ")";
}

void MarkdownWriter::render_heading(std::uint32_t n, unsigned level, unsigned depth)
{
    flush_paragraph();
    ++no_markup_;
    render_children(n, depth);
    --no_markup_;
    std::string text = collapse_ws(inline_);
    inline_.clear();
    pending_space_ = false;
    ++generation_;
    if (text.empty())
        return;
    emit_block(std::string(level, '#') + ' ' + text);
}

void MarkdownWriter::render_list(std::uint32_t n, unsigned depth)
{
    flush_paragraph();
    const bool ordered = dom_.nodes[n].tag == Tag::ol;
    long number = 1;
    if (ordered) {
        const std::string_view start = ascii::trim(dom_.attr(n, Attr::start));
        long v = 0;
        const auto [ptr, ec] = std::from_chars(start.data(), start.data() + start.size(), v);
        if (ec == std::errc{} && ptr == start.data() + start.size() && v >= 0 && v < 1'000'000'000)
            number = v;
    }
    const bool nested = std::any_of(contexts_.begin(), contexts_.end(), [](const Context& c) { return c.list_item; });
    bool first = true;
    std::size_t marker_width = 2;
    for (std::uint32_t c = dom_.nodes[n].first_child; c != kNone && !full(); c = dom_.nodes[c].next_sibling) {
        const DomNode& child = dom_.nodes[c];
        if (child.is_text && !has_visible_char(dom_.text_of(c)))
            continue;
        const bool sublist = !child.is_text && (child.tag == Tag::ul || child.tag == Tag::ol);
        // A list straight inside a list (invalid, common) belongs to the item before it.
        std::string marker = sublist   ? std::string(marker_width, ' ')
                             : ordered ? std::to_string(number++) + ". "
                                       : "- ";
        marker_width = marker.size();
        std::string rest(marker.size(), ' ');
        contexts_.push_back({std::move(marker), std::move(rest), false, true, nested || sublist, first});
        contexts_.back().id = ++next_context_id_;
        render_node(c, depth + 1);
        flush_paragraph();
        if (contexts_.back().used)
            first = false;
        contexts_.pop_back();
    }
}

void MarkdownWriter::render_pre(std::uint32_t n)
{
    flush_paragraph();
    std::string raw;
    for (std::uint32_t c = n; c != kNone; c = dom_.next_in_subtree(c, n)) {
        if (dom_.nodes[c].is_text)
            raw += dom_.text_of(c);
        else if (dom_.nodes[c].tag == Tag::br)
            raw += '\n';
    }
    raw.erase(std::remove(raw.begin(), raw.end(), '\r'), raw.end());
    const std::size_t first_line = raw.find_first_not_of(" \t\n");
    if (first_line == std::string::npos)
        return;
    raw.erase(0, raw.rfind('\n', first_line) == std::string::npos ? 0 : raw.rfind('\n', first_line) + 1);
    raw.erase(raw.find_last_not_of(" \t\n") + 1);
    std::string lang = code_language(dom_.attr(n, Attr::class_));
    if (const std::uint32_t child = dom_.nodes[n].first_child;
        lang.empty() && child != kNone && !dom_.nodes[child].is_text && dom_.nodes[child].tag == Tag::code)
        lang = code_language(dom_.attr(child, Attr::class_));
    const std::string fence(std::max<std::size_t>(3, longest_run(raw, '`') + 1), '`');
    emit_block(fence + lang + '\n' + raw + '\n' + fence, true);
}

std::string MarkdownWriter::cell_markdown(std::uint32_t cell, unsigned depth) const
{
    MarkdownOptions options = options_;
    options.max_bytes = std::min<std::size_t>(options_.max_bytes, 64 * 1024);
    MarkdownWriter sub(dom_, options);
    sub.render_children(cell, depth);
    sub.flush_paragraph();
    std::string text = collapse_ws(sub.out_);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '|')
            out += '\\';
        out += c;
    }
    return out;
}

void MarkdownWriter::render_table(std::uint32_t n, unsigned depth)
{
    flush_paragraph();
    std::uint32_t caption = kNone;
    std::vector<std::uint32_t> rows;
    for (std::uint32_t c = dom_.nodes[n].first_child; c != kNone; c = dom_.nodes[c].next_sibling) {
        const DomNode& child = dom_.nodes[c];
        if (child.is_text)
            continue;
        if (child.tag == Tag::caption && caption == kNone)
            caption = c;
        else if (child.tag == Tag::tr)
            rows.push_back(c);
        else if (child.tag == Tag::thead || child.tag == Tag::tbody || child.tag == Tag::tfoot) {
            for (std::uint32_t r = child.first_child; r != kNone; r = dom_.nodes[r].next_sibling) {
                if (!dom_.nodes[r].is_text && dom_.nodes[r].tag == Tag::tr)
                    rows.push_back(r);
            }
        }
    }
    // A table is data when it has columns and its cells hold text, not page layout.
    std::size_t columns = 0;
    bool layout =
        ascii::iequals(dom_.attr(n, Attr::role), "presentation") || ascii::iequals(dom_.attr(n, Attr::role), "none");
    for (const std::uint32_t r : rows) {
        std::size_t width = 0;
        for (std::uint32_t cell = dom_.nodes[r].first_child; cell != kNone && !layout;
             cell = dom_.nodes[cell].next_sibling) {
            if (dom_.nodes[cell].is_text)
                continue;
            long span = 1;
            const std::string_view cs = ascii::trim(dom_.attr(cell, Attr::colspan));
            std::from_chars(cs.data(), cs.data() + cs.size(), span);
            width += static_cast<std::size_t>(std::clamp(span, 1L, kMaxColspan));
            for (std::uint32_t d = dom_.nodes[cell].first_child; d != kNone && !layout;
                 d = dom_.next_in_subtree(d, cell)) {
                const Tag t = dom_.nodes[d].tag;
                layout = !dom_.nodes[d].is_text && (t == Tag::table || t == Tag::pre || t == Tag::ul || t == Tag::ol ||
                                                    t == Tag::dl || t == Tag::blockquote || heading_level(t) != 0);
            }
        }
        columns = std::max(columns, width);
    }
    if (layout || columns < 2) {
        if (caption != kNone)
            render_node(caption, depth + 1);
        for (const std::uint32_t r : rows) {
            for (std::uint32_t cell = dom_.nodes[r].first_child; cell != kNone && !full();
                 cell = dom_.nodes[cell].next_sibling)
                render_node(cell, depth + 2);
        }
        flush_paragraph();
        return;
    }
    columns = std::min(columns, kMaxTableColumns);
    if (caption != kNone)
        render_node(caption, depth + 1);
    std::string table;
    bool header_done = false;
    for (const std::uint32_t r : rows) {
        std::vector<std::string> cells;
        for (std::uint32_t cell = dom_.nodes[r].first_child; cell != kNone && cells.size() < columns;
             cell = dom_.nodes[cell].next_sibling) {
            if (dom_.nodes[cell].is_text)
                continue;
            cells.push_back(cell_markdown(cell, depth + 2));
            long span = 1;
            const std::string_view cs = ascii::trim(dom_.attr(cell, Attr::colspan));
            std::from_chars(cs.data(), cs.data() + cs.size(), span);
            for (long i = 1; i < std::clamp(span, 1L, kMaxColspan) && cells.size() < columns; ++i)
                cells.emplace_back();
        }
        if (!header_done && std::none_of(cells.begin(), cells.end(), [](const std::string& s) { return !s.empty(); }))
            continue; // an empty first row (spacers) would make an empty header
        cells.resize(columns);
        if (!table.empty())
            table += '\n';
        table += '|';
        for (const std::string& c : cells) {
            table += ' ';
            table += c;
            table += c.empty() ? "|" : " |";
        }
        if (!header_done) {
            table += "\n|";
            for (std::size_t i = 0; i < columns; ++i)
                table += " --- |";
            header_done = true;
        }
        if (out_.size() + table.size() >= options_.max_bytes)
            break;
    }
    if (!table.empty())
        emit_block(table);
}

void MarkdownWriter::flush_paragraph()
{
    ++generation_;
    pending_space_ = false;
    if (inline_.empty())
        return;
    std::string text = std::move(inline_);
    inline_.clear();
    // Lines trimmed; an empty line (two <br>) starts a new paragraph.
    std::string block;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        std::string_view line = std::string_view(text).substr(pos, end - pos);
        while (!line.empty() && line.back() == ' ')
            line.remove_suffix(1);
        while (!line.empty() && line.front() == ' ')
            line.remove_prefix(1);
        if (line.empty()) {
            if (!block.empty() && !is_share_label(block))
                emit_block(block);
            block.clear();
        } else {
            if (!block.empty())
                block += '\n';
            block += line;
        }
        pos = end + 1;
    }
    if (!block.empty() && !is_share_label(block))
        emit_block(block);
}

std::string MarkdownWriter::line_prefix(bool blank)
{
    std::string p;
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
        Context& c = contexts_[i];
        if (blank) {
            // A blank line between two blocks belongs only to the quotes and items around both.
            if (i >= last_block_contexts_.size() || last_block_contexts_[i] != c.id)
                break;
            p += c.rest;
            continue;
        }
        p += c.used ? c.rest : c.first;
        c.used = true;
    }
    if (blank) {
        while (!p.empty() && p.back() == ' ')
            p.pop_back();
    }
    return p;
}

void MarkdownWriter::emit_block(std::string_view text, bool keep_inner_blank_lines)
{
    if (full())
        return;
    if (!out_.empty()) {
        // Items of one list, and the blocks inside an item, follow each other line by line.
        bool tight = false;
        for (auto it = contexts_.rbegin(); it != contexts_.rend(); ++it) {
            if (!it->list_item)
                continue;
            tight = it->used || !it->first_item || it->nested_item;
            break;
        }
        out_ += '\n';
        if (!tight) {
            out_ += line_prefix(true);
            out_ += '\n';
        }
    }
    last_block_contexts_.clear();
    for (const Context& c : contexts_)
        last_block_contexts_.push_back(c.id);
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view line = text.substr(pos, end - pos);
        if (pos > 0)
            out_ += '\n';
        if (line.empty() && keep_inner_blank_lines)
            out_ += line_prefix(true);
        else
            out_ += line_prefix(false);
        out_ += line;
        pos = end + 1;
    }
}

std::string MarkdownWriter::resolve(std::string_view url) const
{
    if (options_.base_url.empty())
        return std::string(url);
    const auto base = boost::urls::parse_uri(options_.base_url);
    const auto ref = boost::urls::parse_uri_reference(url);
    if (!base || !ref)
        return std::string(url);
    boost::urls::url out;
    if (boost::urls::resolve(*base, *ref, out))
        return std::string(out.buffer());
    return std::string(url);
}

} // namespace stirrup::detail::web
