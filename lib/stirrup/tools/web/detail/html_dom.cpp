#include "stirrup/tools/web/detail/html_dom.hpp"

#include <csetjmp>
#include <cstdlib>
#include <limits>
#include <new>

#include <gumbo.h>

#include "stirrup/core/detail/ascii.hpp"

namespace stirrup::detail::web {

namespace {

/// gumbo's allocator: every block is linked into a list, so the whole parse
/// is freed by walking the list (never gumbo's recursive destroy), and a
/// parse past its budget is abandoned by longjmp back to parse_with_arena.
/// Nothing but plain C frames and alloc() lies between the two, and gumbo
/// keeps all its state in blocks of this arena, so nothing leaks.
class GumboArena {
public:
    GumboArena(std::size_t max_bytes, std::chrono::milliseconds timeout)
        : max_bytes_(max_bytes), deadline_(std::chrono::steady_clock::now() + timeout)
    {
        head_.prev = head_.next = &head_;
    }
    ~GumboArena() { release(); }
    GumboArena(const GumboArena&) = delete;
    GumboArena& operator=(const GumboArena&) = delete;

    enum class Failure { none, memory, time };

    /// gumbo's output, or nullptr with failure() set.
    GumboOutput* parse(std::string_view html)
    {
        GumboOptions options = kGumboDefaultOptions;
        options.allocator = &GumboArena::alloc;
        options.deallocator = &GumboArena::dealloc;
        options.userdata = this;
        options.max_errors = 0; // parse errors are not read: do not keep them
        return parse_with_arena(options, html.data(), html.size());
    }

    Failure failure() const noexcept { return failure_; }

    void release() noexcept
    {
        Block* b = head_.next;
        while (b != &head_) {
            Block* next = b->next;
            std::free(b);
            b = next;
        }
        head_.prev = head_.next = &head_;
        used_ = 0;
    }

private:
    struct alignas(alignof(std::max_align_t)) Block {
        Block* prev;
        Block* next;
        std::size_t size;
    };

    // Kept apart so that the setjmp frame holds nothing a longjmp could clobber.
    GumboOutput* parse_with_arena(const GumboOptions& options, const char* data, std::size_t size)
    {
        if (setjmp(jump_) != 0)
            return nullptr;
        return gumbo_parse_with_options(&options, data, size);
    }

    [[noreturn]] void abort_parse(Failure f) noexcept
    {
        failure_ = f;
        std::longjmp(jump_, 1);
    }

    static void* alloc(void* userdata, std::size_t size)
    {
        auto* self = static_cast<GumboArena*>(userdata);
        if (size > self->max_bytes_ - std::min(self->max_bytes_, self->used_))
            self->abort_parse(Failure::memory);
        // The parse is quadratic in some nestings; gumbo allocates at least once per element.
        if ((++self->calls_ & 1023) == 0 && std::chrono::steady_clock::now() > self->deadline_)
            self->abort_parse(Failure::time);
        auto* b = static_cast<Block*>(std::malloc(sizeof(Block) + size));
        if (b == nullptr)
            self->abort_parse(Failure::memory);
        b->size = size;
        b->next = &self->head_;
        b->prev = self->head_.prev;
        self->head_.prev->next = b;
        self->head_.prev = b;
        self->used_ += size;
        return b + 1;
    }

    static void dealloc(void* userdata, void* ptr)
    {
        if (ptr == nullptr)
            return;
        auto* self = static_cast<GumboArena*>(userdata);
        Block* b = static_cast<Block*>(ptr) - 1;
        b->prev->next = b->next;
        b->next->prev = b->prev;
        self->used_ -= b->size;
        std::free(b);
    }

    Block head_{};
    std::size_t used_ = 0;
    std::size_t max_bytes_;
    std::chrono::steady_clock::time_point deadline_;
    unsigned calls_ = 0;
    Failure failure_ = Failure::none;
    std::jmp_buf jump_{};
};

/// kDrop: the element and its subtree are not copied.
constexpr Tag kDrop = static_cast<Tag>(0xFF);

Tag map_tag(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_HTML:
        return Tag::html;
    case GUMBO_TAG_BODY:
        return Tag::body;
    case GUMBO_TAG_A:
        return Tag::a;
    case GUMBO_TAG_ABBR:
    case GUMBO_TAG_ACRONYM:
        return Tag::abbr;
    case GUMBO_TAG_ADDRESS:
        return Tag::address;
    case GUMBO_TAG_ARTICLE:
        return Tag::article;
    case GUMBO_TAG_ASIDE:
        return Tag::aside;
    case GUMBO_TAG_B:
        return Tag::b;
    case GUMBO_TAG_BDI:
        return Tag::bdi;
    case GUMBO_TAG_BDO:
        return Tag::bdo;
    case GUMBO_TAG_BLOCKQUOTE:
        return Tag::blockquote;
    case GUMBO_TAG_BR:
        return Tag::br;
    case GUMBO_TAG_CAPTION:
        return Tag::caption;
    case GUMBO_TAG_CENTER:
        return Tag::center;
    case GUMBO_TAG_CITE:
        return Tag::cite;
    case GUMBO_TAG_CODE:
        return Tag::code;
    case GUMBO_TAG_DD:
        return Tag::dd;
    case GUMBO_TAG_DEL:
        return Tag::del;
    case GUMBO_TAG_DETAILS:
        return Tag::details;
    case GUMBO_TAG_DFN:
        return Tag::dfn;
    case GUMBO_TAG_DIV:
        return Tag::div;
    case GUMBO_TAG_DL:
        return Tag::dl;
    case GUMBO_TAG_DT:
        return Tag::dt;
    case GUMBO_TAG_EM:
        return Tag::em;
    case GUMBO_TAG_FIELDSET:
        return Tag::fieldset;
    case GUMBO_TAG_FIGCAPTION:
        return Tag::figcaption;
    case GUMBO_TAG_FIGURE:
        return Tag::figure;
    case GUMBO_TAG_FONT:
    case GUMBO_TAG_BIG:
        return Tag::font;
    case GUMBO_TAG_FOOTER:
        return Tag::footer;
    case GUMBO_TAG_FORM:
        return Tag::form;
    case GUMBO_TAG_H1:
        return Tag::h1;
    case GUMBO_TAG_H2:
        return Tag::h2;
    case GUMBO_TAG_H3:
        return Tag::h3;
    case GUMBO_TAG_H4:
        return Tag::h4;
    case GUMBO_TAG_H5:
        return Tag::h5;
    case GUMBO_TAG_H6:
        return Tag::h6;
    case GUMBO_TAG_HEADER:
        return Tag::header;
    case GUMBO_TAG_HGROUP:
        return Tag::hgroup;
    case GUMBO_TAG_HR:
        return Tag::hr;
    case GUMBO_TAG_I:
        return Tag::i;
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_IMAGE:
        return Tag::img;
    case GUMBO_TAG_INS:
        return Tag::ins;
    case GUMBO_TAG_KBD:
        return Tag::kbd;
    case GUMBO_TAG_LABEL:
        return Tag::label;
    case GUMBO_TAG_LEGEND:
        return Tag::legend;
    case GUMBO_TAG_LI:
        return Tag::li;
    case GUMBO_TAG_MAIN:
        return Tag::main;
    case GUMBO_TAG_MARK:
        return Tag::mark;
    case GUMBO_TAG_MENU:
    case GUMBO_TAG_DIR:
        return Tag::menu;
    case GUMBO_TAG_NAV:
        return Tag::nav;
    case GUMBO_TAG_OL:
        return Tag::ol;
    case GUMBO_TAG_P:
        return Tag::p;
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_LISTING:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_PLAINTEXT:
        return Tag::pre;
    case GUMBO_TAG_Q:
        return Tag::q;
    case GUMBO_TAG_S:
        return Tag::s;
    case GUMBO_TAG_SAMP:
        return Tag::samp;
    case GUMBO_TAG_SECTION:
        return Tag::section;
    case GUMBO_TAG_SMALL:
        return Tag::small;
    case GUMBO_TAG_SPAN:
        return Tag::span;
    case GUMBO_TAG_STRIKE:
        return Tag::strike;
    case GUMBO_TAG_STRONG:
        return Tag::strong;
    case GUMBO_TAG_SUB:
        return Tag::sub;
    case GUMBO_TAG_SUMMARY:
        return Tag::summary;
    case GUMBO_TAG_SUP:
        return Tag::sup;
    case GUMBO_TAG_TABLE:
        return Tag::table;
    case GUMBO_TAG_TBODY:
        return Tag::tbody;
    case GUMBO_TAG_TD:
        return Tag::td;
    case GUMBO_TAG_TFOOT:
        return Tag::tfoot;
    case GUMBO_TAG_TH:
        return Tag::th;
    case GUMBO_TAG_THEAD:
        return Tag::thead;
    case GUMBO_TAG_TIME:
        return Tag::time;
    case GUMBO_TAG_TR:
        return Tag::tr;
    case GUMBO_TAG_TT:
        return Tag::tt;
    case GUMBO_TAG_U:
        return Tag::u;
    case GUMBO_TAG_UL:
        return Tag::ul;
    case GUMBO_TAG_VAR:
        return Tag::var;
    case GUMBO_TAG_WBR:
        return Tag::wbr;
    // Never readable text: code, metadata, controls, embedded content, ruby annotations.
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_META:
    case GUMBO_TAG_LINK:
    case GUMBO_TAG_BASE:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_FRAME:
    case GUMBO_TAG_FRAMESET:
    case GUMBO_TAG_NOFRAMES:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_APPLET:
    case GUMBO_TAG_PARAM:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_INPUT:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_OPTION:
    case GUMBO_TAG_OPTGROUP:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_DATALIST:
    case GUMBO_TAG_OUTPUT:
    case GUMBO_TAG_PROGRESS:
    case GUMBO_TAG_METER:
    case GUMBO_TAG_KEYGEN:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_AUDIO:
    case GUMBO_TAG_VIDEO:
    case GUMBO_TAG_SOURCE:
    case GUMBO_TAG_TRACK:
    case GUMBO_TAG_MAP:
    case GUMBO_TAG_AREA:
    case GUMBO_TAG_MENUITEM:
    case GUMBO_TAG_MARQUEE:
    case GUMBO_TAG_BLINK:
    case GUMBO_TAG_RP:
    case GUMBO_TAG_RT:
    case GUMBO_TAG_RTC:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
        return kDrop;
    default:
        return Tag::other;
    }
}

/// The name of an element gumbo does not know, lower-case, from the source text.
std::string element_name(const GumboElement& e)
{
    GumboStringPiece name = e.original_tag;
    // gumbo asserts the piece is a whole tag; an element it implied has none.
    if (name.data == nullptr || name.length < 2 || name.data[0] != '<' || name.data[name.length - 1] != '>')
        return {};
    gumbo_tag_from_original_text(&name);
    if (name.data == nullptr)
        return {};
    return ascii::to_lower(std::string_view(name.data, name.length));
}

/// gumbo names only the tags it knows; the newer ones come from the source text.
Tag map_element(const GumboElement& e)
{
    if (e.tag != GUMBO_TAG_UNKNOWN)
        return map_tag(e.tag);
    const std::string n = element_name(e);
    if (n == "dialog")
        return Tag::dialog;
    if (n == "search")
        return Tag::nav;
    return Tag::other;
}

std::string_view attr_value(const GumboElement& e, const char* name)
{
    const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
    return a == nullptr ? std::string_view{} : std::string_view(a->value);
}

/// Hidden from every reader, as a browser would render it (hidden, aria-hidden,
/// or an inline style that hides it).
bool is_hidden(const GumboElement& e)
{
    if (gumbo_get_attribute(&e.attributes, "hidden") != nullptr)
        return true;
    if (ascii::iequals(attr_value(e, "aria-hidden"), "true"))
        return true;
    const std::string_view style = attr_value(e, "style");
    if (style.empty())
        return false;
    std::string compact;
    compact.reserve(style.size());
    for (const char c : style) {
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            compact += ascii::to_lower(c);
    }
    return compact.find("display:none") != std::string::npos || compact.find("visibility:hidden") != std::string::npos;
}

constexpr const char* kAttrNames[] = {"id",       "class", "role",  "itemprop", "href", "src",
                                      "data-src", "alt",   "start", "colspan",  "type"};
static_assert(std::size(kAttrNames) == static_cast<std::size_t>(Attr::count));

class DomBuilder {
public:
    explicit DomBuilder(Dom& dom) : dom_(dom) {}

    std::uint32_t add_element(std::uint32_t parent, Tag tag, const GumboElement& e)
    {
        const std::uint32_t n = add_node(parent);
        DomNode& node = dom_.nodes[n];
        node.tag = tag;
        node.attr_begin = static_cast<std::uint32_t>(dom_.attrs.size());
        for (std::size_t i = 0; i < std::size(kAttrNames); ++i) {
            const GumboAttribute* a = gumbo_get_attribute(&e.attributes, kAttrNames[i]);
            if (a == nullptr)
                continue;
            const std::string_view v(a->value);
            dom_.attrs.push_back({static_cast<Attr>(i), pool(v), static_cast<std::uint32_t>(v.size())});
            ++dom_.nodes[n].attr_count;
        }
        return n;
    }

    void add_text(std::uint32_t parent, std::string_view text)
    {
        const std::uint32_t last = dom_.nodes[parent].last_child;
        // gumbo splits text at character references and some errors; one node reads better.
        if (last != kNone && dom_.nodes[last].is_text &&
            dom_.nodes[last].text_begin + dom_.nodes[last].text_len == dom_.text.size()) {
            pool(text);
            dom_.nodes[last].text_len += static_cast<std::uint32_t>(text.size());
            return;
        }
        const std::uint32_t n = add_node(parent);
        dom_.nodes[n].is_text = true;
        dom_.nodes[n].text_begin = pool(text);
        dom_.nodes[n].text_len = static_cast<std::uint32_t>(text.size());
    }

    std::uint32_t add_node(std::uint32_t parent)
    {
        if (dom_.nodes.size() >= kNone - 1)
            throw ExtractError("The page has too many elements to extract.");
        const auto n = static_cast<std::uint32_t>(dom_.nodes.size());
        dom_.nodes.emplace_back();
        if (parent != kNone) {
            DomNode& p = dom_.nodes[parent];
            dom_.nodes[n].parent = parent;
            dom_.nodes[n].prev_sibling = p.last_child;
            if (p.last_child != kNone)
                dom_.nodes[p.last_child].next_sibling = n;
            else
                p.first_child = n;
            p.last_child = n;
        }
        return n;
    }

private:
    std::uint32_t pool(std::string_view s)
    {
        if (dom_.text.size() + s.size() >= std::numeric_limits<std::uint32_t>::max())
            throw ExtractError("The page has too much text to extract.");
        const auto at = static_cast<std::uint32_t>(dom_.text.size());
        dom_.text.append(s);
        return at;
    }

    Dom& dom_;
};

/// A MathML formula's LaTeX source (its TeX annotation, else its alttext),
/// delimited as trafilatura writes it; empty when it has none.
std::string math_source(const GumboNode* math)
{
    std::string tex;
    std::vector<const GumboNode*> stack{math};
    while (!stack.empty() && tex.empty()) {
        const GumboNode* n = stack.back();
        stack.pop_back();
        if (n->type != GUMBO_NODE_ELEMENT)
            continue;
        const GumboElement& e = n->v.element;
        if (attr_value(e, "encoding") == "application/x-tex" && element_name(e) == "annotation") {
            for (unsigned i = 0; i < e.children.length; ++i) {
                const auto* c = static_cast<const GumboNode*>(e.children.data[i]);
                if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE || c->type == GUMBO_NODE_CDATA)
                    tex += c->v.text.text;
            }
            continue;
        }
        for (unsigned i = e.children.length; i-- > 0;)
            stack.push_back(static_cast<const GumboNode*>(e.children.data[i]));
    }
    if (tex.empty())
        tex = attr_value(math->v.element, "alttext");
    const std::string_view trimmed = ascii::trim(tex);
    if (trimmed.empty())
        return {};
    const bool display = attr_value(math->v.element, "display") == "block";
    return std::string(display ? "\\[" : "\\(") + std::string(trimmed) + (display ? "\\]" : "\\)");
}

/// The formulas inside a hidden element, as math_source writes them.
std::string hidden_math(const GumboNode* hidden)
{
    std::string out;
    std::vector<const GumboNode*> stack{hidden};
    while (!stack.empty()) {
        const GumboNode* n = stack.back();
        stack.pop_back();
        if (n->type != GUMBO_NODE_ELEMENT)
            continue;
        const GumboElement& e = n->v.element;
        if (e.tag_namespace == GUMBO_NAMESPACE_MATHML && e.tag == GUMBO_TAG_MATH) {
            out += math_source(n);
            continue;
        }
        for (unsigned i = e.children.length; i-- > 0;)
            stack.push_back(static_cast<const GumboNode*>(e.children.data[i]));
    }
    return out;
}

void copy_tree(const GumboNode* html, Dom& dom)
{
    DomBuilder builder(dom);
    builder.add_node(kNone);
    dom.nodes[0].tag = Tag::html;
    struct Frame {
        const GumboNode* node;
        std::uint32_t dom;
        unsigned next;
    };
    std::vector<Frame> stack{{html, 0, 0}};
    while (!stack.empty()) {
        Frame& top = stack.back();
        const GumboVector& children = top.node->v.element.children;
        if (top.next >= children.length) {
            stack.pop_back();
            continue;
        }
        const auto* child = static_cast<const GumboNode*>(children.data[top.next++]);
        const std::uint32_t parent = top.dom;
        switch (child->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_WHITESPACE:
        case GUMBO_NODE_CDATA:
            builder.add_text(parent, child->v.text.text);
            break;
        case GUMBO_NODE_ELEMENT: {
            const GumboElement& e = child->v.element;
            if (e.tag_namespace == GUMBO_NAMESPACE_MATHML && e.tag == GUMBO_TAG_MATH) {
                if (const std::string tex = math_source(child); !tex.empty())
                    builder.add_text(parent, tex);
                break;
            }
            if (e.tag_namespace != GUMBO_NAMESPACE_HTML)
                break;
            const Tag tag = map_element(e);
            if (tag == kDrop)
                break;
            if (tag != Tag::body && is_hidden(e)) {
                // Wikipedia hides its MathML (for screen readers) next to an image of the formula.
                if (const std::string tex = hidden_math(child); !tex.empty())
                    builder.add_text(parent, tex);
                break;
            }
            const std::uint32_t n = builder.add_element(parent, tag, e);
            stack.push_back({child, n, 0});
            break;
        }
        default: // comments, templates' contents
            break;
        }
    }
}

} // namespace

std::string_view Dom::attr(std::uint32_t n, Attr a) const
{
    const DomNode& node = nodes[n];
    for (std::uint32_t i = 0; i < node.attr_count; ++i) {
        const DomAttr& at = attrs[node.attr_begin + i];
        if (at.name == a)
            return std::string_view(text).substr(at.begin, at.len);
    }
    return {};
}

bool Dom::has_attr(std::uint32_t n, Attr a) const
{
    const DomNode& node = nodes[n];
    for (std::uint32_t i = 0; i < node.attr_count; ++i) {
        if (attrs[node.attr_begin + i].name == a)
            return true;
    }
    return false;
}

void Dom::unlink(std::uint32_t n)
{
    DomNode& node = nodes[n];
    if (node.parent == kNone)
        return;
    DomNode& p = nodes[node.parent];
    if (node.prev_sibling != kNone)
        nodes[node.prev_sibling].next_sibling = node.next_sibling;
    else
        p.first_child = node.next_sibling;
    if (node.next_sibling != kNone)
        nodes[node.next_sibling].prev_sibling = node.prev_sibling;
    else
        p.last_child = node.prev_sibling;
    node.parent = node.prev_sibling = node.next_sibling = kNone;
}

std::uint32_t Dom::next_in_subtree(std::uint32_t n, std::uint32_t root, bool skip_children) const
{
    if (!skip_children && nodes[n].first_child != kNone)
        return nodes[n].first_child;
    while (n != root && n != kNone) {
        if (nodes[n].next_sibling != kNone)
            return nodes[n].next_sibling;
        n = nodes[n].parent;
    }
    return kNone;
}

std::uint32_t Dom::find_first(Tag tag, std::uint32_t from) const
{
    for (std::uint32_t n = from; n != kNone; n = next_in_subtree(n, from)) {
        if (!nodes[n].is_text && nodes[n].tag == tag)
            return n;
    }
    return kNone;
}

Dom parse_html(std::string_view utf8_html, const ParseLimits& limits)
{
    GumboArena arena(limits.max_parser_bytes, limits.timeout);
    const GumboOutput* out = arena.parse(utf8_html);
    if (out == nullptr) {
        if (arena.failure() == GumboArena::Failure::time)
            throw ExtractError("The page took too long to parse.");
        throw ExtractError("The page needs too much memory to parse.");
    }
    Dom dom;
    // About one node per 40 bytes of a typical page.
    dom.nodes.reserve(utf8_html.size() / 40 + 16);
    dom.text.reserve(utf8_html.size() / 2);
    copy_tree(out->root, dom);
    return dom;
}

} // namespace stirrup::detail::web
