#pragma once
// A compact, mutable tree of an HTML page, parsed by gumbo (a full HTML5
// parser: any bytes give a tree, as a browser's would). Only what extraction
// reads is kept: elements with the attributes that matter, and text. What
// never holds readable text (script, style, forms' controls, embedded media,
// SVG and MathML, hidden elements) is left out while copying.
//
// gumbo has no limits of its own: its memory grows with the page (20-50
// times its size), a deep nesting of unclosed elements makes it quadratic,
// and freeing its tree recurses once per level. So it allocates from an
// arena that enforces a byte budget and a deadline (aborting the parse), and
// the whole arena is dropped at once instead of freeing the tree. Every walk
// of the copy is iterative: depth costs no stack.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::web {

/// The page could not be parsed within its memory or time budget.
class ExtractError : public Error {
public:
    using Error::Error;
};

/// Element names extraction tells apart; everything else is `other`, which
/// is treated as an inline container (custom elements among them).
enum class Tag : std::uint8_t {
    other,
    html,
    body,
    a,
    abbr,
    address,
    article,
    aside,
    b,
    bdi,
    bdo,
    blockquote,
    br,
    caption,
    center,
    cite,
    code,
    dd,
    del,
    details,
    dfn,
    dialog,
    div,
    dl,
    dt,
    em,
    fieldset,
    figcaption,
    figure,
    font,
    footer,
    form,
    h1,
    h2,
    h3,
    h4,
    h5,
    h6,
    header,
    hgroup,
    hr,
    i,
    img,
    ins,
    kbd,
    label,
    legend,
    li,
    main,
    mark,
    menu,
    nav,
    ol,
    p,
    pre,
    q,
    s,
    samp,
    section,
    small,
    span,
    strike,
    strong,
    sub,
    summary,
    sup,
    table,
    tbody,
    td,
    tfoot,
    th,
    thead,
    time,
    tr,
    tt,
    u,
    ul,
    var,
    wbr,
};

/// The attributes extraction reads; the others are not kept.
enum class Attr : std::uint8_t { id, class_, role, itemprop, href, src, data_src, alt, start, colspan, type, count };

inline constexpr std::uint32_t kNone = 0xFFFFFFFF;

struct DomNode {
    std::uint32_t parent = kNone;
    std::uint32_t first_child = kNone;
    std::uint32_t last_child = kNone;
    std::uint32_t prev_sibling = kNone;
    std::uint32_t next_sibling = kNone;
    /// Text node: its text in Dom::text. Element: its attribute values there.
    std::uint32_t text_begin = 0;
    std::uint32_t text_len = 0;
    std::uint32_t attr_begin = 0; // into Dom::attrs
    std::uint8_t attr_count = 0;
    bool is_text = false;
    Tag tag = Tag::other;
};

struct DomAttr {
    Attr name;
    std::uint32_t begin;
    std::uint32_t len;
};

struct Dom {
    std::vector<DomNode> nodes; // nodes[0] is the root (the html element)
    std::vector<DomAttr> attrs;
    std::string text; // text nodes' text and attribute values, back to back

    std::string_view text_of(std::uint32_t n) const
    {
        return std::string_view(text).substr(nodes[n].text_begin, nodes[n].text_len);
    }
    /// The attribute's value, empty when absent.
    std::string_view attr(std::uint32_t n, Attr a) const;
    bool has_attr(std::uint32_t n, Attr a) const;
    /// Takes `n` (and its subtree) out of its parent; its indices stay valid.
    void unlink(std::uint32_t n);
    /// The first element with this tag in document order, or kNone.
    std::uint32_t find_first(Tag tag, std::uint32_t from = 0) const;
    /// The next node of `n` in document order within `root`'s subtree,
    /// skipping n's children when `skip_children`; kNone at the end.
    std::uint32_t next_in_subtree(std::uint32_t n, std::uint32_t root, bool skip_children = false) const;
};

struct ParseLimits {
    /// Bytes gumbo may hold at once.
    std::size_t max_parser_bytes = std::size_t{1} << 30;
    std::chrono::milliseconds timeout{30'000};
};

/// Parses valid UTF-8 HTML. Throws ExtractError past a limit.
Dom parse_html(std::string_view utf8_html, const ParseLimits& limits = {});

} // namespace stirrup::detail::web
