#include "stirrup/tools/web/detail/html_extract.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <vector>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/detail/text.hpp"
#include "stirrup/tools/web/detail/charset.hpp"
#include "stirrup/tools/web/detail/markdown_writer.hpp"

namespace stirrup::detail::web {

namespace {

/// Room for `chars` code points of UTF-8 (saturating: the limit may be SIZE_MAX).
std::size_t utf8_bytes_for(std::size_t chars)
{
    return chars > (std::numeric_limits<std::size_t>::max() - 16) / 4 ? std::numeric_limits<std::size_t>::max()
                                                                      : chars * 4 + 16;
}

/// Below this many characters a candidate is not the page's content on its
/// own (trafilatura's MIN_EXTRACTED_SIZE).
constexpr std::uint32_t kMinContentChars = 250;
constexpr std::size_t kMaxArticles = 200;

/// Text totals of a subtree, recomputed after each round of removals.
struct Stats {
    std::uint32_t text = 0;      // visible characters, whitespace not counted
    std::uint32_t link_text = 0; // of which inside <a>
    std::uint32_t links = 0;     // <a> elements with text
    std::uint32_t commas = 0;
    bool holds_main = false;  // is or contains main, article, [role=main], [itemprop=articleBody]
    bool holds_block = false; // has a block element inside
    bool holds_title = false; // has an h1 or h2 inside
    bool in_article = false;  // below an article
    bool in_content = false;  // below an article, main or [role=main]
    std::uint32_t depth = 0;
};

double link_density(const Stats& s)
{
    return s.text == 0 ? 0.0 : static_cast<double>(s.link_text) / s.text;
}

bool is_heading(Tag t)
{
    return t == Tag::h1 || t == Tag::h2 || t == Tag::h3 || t == Tag::h4 || t == Tag::h5 || t == Tag::h6;
}

/// Elements that hold a block of running text: their text is the content, never a stray label.
bool is_text_block(Tag t)
{
    switch (t) {
    case Tag::p:
    case Tag::pre:
    case Tag::li:
    case Tag::dt:
    case Tag::dd:
    case Tag::td:
    case Tag::th:
    case Tag::blockquote:
    case Tag::caption:
    case Tag::summary:
    case Tag::figcaption:
    case Tag::address:
    case Tag::table:
    case Tag::ul:
    case Tag::ol:
    case Tag::dl:
        return true;
    default:
        return is_heading(t);
    }
}

/// Elements that start a line of their own.
bool is_block_element(Tag t)
{
    switch (t) {
    case Tag::article:
    case Tag::aside:
    case Tag::body:
    case Tag::center:
    case Tag::details:
    case Tag::dialog:
    case Tag::div:
    case Tag::fieldset:
    case Tag::figure:
    case Tag::footer:
    case Tag::form:
    case Tag::header:
    case Tag::hgroup:
    case Tag::hr:
    case Tag::html:
    case Tag::main:
    case Tag::menu:
    case Tag::nav:
    case Tag::section:
    case Tag::tbody:
    case Tag::tfoot:
    case Tag::thead:
    case Tag::tr:
        return true;
    default:
        return is_text_block(t);
    }
}

/// The lower-case words of a class or id: "shareButtons post-meta" ->
/// share, buttons, post, meta.
void split_words(std::string_view s, std::vector<std::string>& words)
{
    std::string word;
    auto end_word = [&] {
        if (!word.empty())
            words.push_back(std::move(word));
        word.clear();
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!std::isalnum(c)) {
            end_word();
            continue;
        }
        // camelCase: an upper-case letter after a lower-case one starts a word.
        if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(s[i - 1])))
            end_word();
        word += static_cast<char>(std::tolower(c));
    }
    end_word();
}

/// The whitespace-separated tokens of a class attribute, lower-case.
std::vector<std::string> class_tokens(std::string_view s)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos])))
            ++pos;
        std::size_t end = pos;
        while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end])))
            ++end;
        if (end > pos)
            out.push_back(ascii::to_lower(s.substr(pos, end - pos)));
        pos = end;
    }
    return out;
}

// Words of a class or id that name page furniture rather than content: the
// concepts of trafilatura's discard expressions, matched as whole words so
// that "ad" does not hit "header" or "read".
constexpr std::string_view kBoilerplateWords[] = {
    "ad",           "ads",       "adv",         "advert",          "adverts",     "advertisement", "advertising",
    "sponsor",      "sponsored", "promo",       "promoted",        "outbrain",    "taboola",       "banner",
    "share",        "sharing",   "sharer",      "social",          "sociable",    "newsletter",    "subscribe",
    "subscription", "signup",    "login",       "signin",          "cookie",      "cookies",       "consent",
    "gdpr",         "related",   "recommended", "recommendations", "trending",    "popular",       "sidebar",
    "sidenav",      "widget",    "widgets",     "breadcrumb",      "breadcrumbs", "nav",           "navbar",
    "navigation",   "subnav",    "menu",        "menubar",         "toolbar",     "footer",        "masthead",
    "pagination",   "pager",     "popup",       "modal",           "overlay",     "lightbox",      "byline",
    "author",       "tags",      "tagcloud",    "taglist",         "meta",        "rating",        "skip",
    "teaser",       "caption",   "vote",        "votes",           "voting",      "signature",     "timestamp",
    "avatar",       "edit",
};

// Fragments of a class or id (lower-case) naming a post's user card or toolbar on forums
// and Q&A sites (trafilatura's user-info, user-profile).
constexpr std::string_view kBoilerplateFragments[] = {
    "user-info",
    "userinfo",
    "user-details",
    "user-profile",
    "usercard",
    "user-card",
    "user-action",
    "post-menu",
    // Boxes a page hides from print are not the article (trafilatura's hide-print, noprint).
    "hide-print",
    "noprint",
    "no-print",
    "print-hide",
    "print-no",
    "editsection",
};

// Whole class tokens that hide an element (utility classes of common CSS frameworks).
constexpr std::string_view kHiddenClasses[] = {
    "hidden",    "hide",     "is-hidden",          "u-hidden",          "invisible",
    "d-none",    "sr-only",  "visually-hidden",    "visuallyhidden",    "screen-reader-text",
    "skip-link", "skiplink", "screen-reader-only", "element-invisible", "offscreen",
};

// ARIA landmarks and widgets that are never the content.
constexpr std::string_view kBoilerplateRoles[] = {
    "navigation", "banner",  "contentinfo", "complementary", "search",  "menu",
    "menubar",    "toolbar", "dialog",      "alertdialog",   "tooltip",
};

// Words that, next to "comment", name a comment widget's furniture rather than the comments.
constexpr std::string_view kCommentFurniture[] = {"count",  "link",  "links",  "respond", "reply",  "button",
                                                  "title",  "meta",  "author", "date",    "number", "icon",
                                                  "closed", "score", "user",   "actions", "avatar", "votes"};

// Class and id fragments of content containers, from trafilatura's first and
// third body expressions (the wording of common CMS themes).
constexpr std::string_view kContentClassFragments[] = {
    "entry-content",   "post-content",  "post_content",  "postcontent",  "article-content",    "article__content",
    "article-body",    "articlebody",   "article__body", "article_body", "post-body",          "postbody",
    "post-entry",      "postentry",     "post-text",     "post_text",    "article-text",       "articletext",
    "story-body",      "story-content", "storycontent",  "entry-body",   "page-content",       "main-content",
    "content-main",    "content-body",  "contentbody",   "blog-content", "single-content",     "theme-content",
    "section-content", "body-text",     "field-body",    "text-content", "post_inner_wrapper", "fulltext",
};

constexpr std::string_view kContentIds[] = {"mw-content-text", "article",      "story",
                                            "content",         "main-content", "articlecontent",
                                            "article-body",    "story-body",   "content-main"};

template <std::size_t N>
bool in_list(const std::string_view (&list)[N], std::string_view s)
{
    return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

bool is_comment_token(const std::vector<std::string>& words)
{
    return std::any_of(words.begin(), words.end(),
                       [](const std::string& w) { return w.starts_with("comment") || w == "disqus" || w == "dsq"; });
}

/// A comment token names furniture by its last word: comment-count, comments-link, comment-meta.
bool comment_furniture(const std::vector<std::string>& words)
{
    return !words.empty() && in_list(kCommentFurniture, words.back());
}

/// Elements whose class, id or role may mark them as furniture; never the
/// page's own structure (body, main, article).
bool furniture_candidate(Tag t)
{
    switch (t) {
    case Tag::div:
    case Tag::section:
    case Tag::span:
    case Tag::ul:
    case Tag::ol:
    case Tag::li:
    case Tag::p:
    case Tag::dl:
    case Tag::table:
    case Tag::header:
    case Tag::figure:
    case Tag::center:
    case Tag::details:
    case Tag::other:
        return true;
    default:
        return false;
    }
}

class Extractor {
public:
    Extractor(Dom& dom, const ExtractOptions& options) : dom_(dom), options_(options) {}

    std::string run()
    {
        std::uint32_t body = dom_.find_first(Tag::body);
        if (body == kNone)
            body = 0;
        const std::vector<DomNode> original = dom_.nodes;
        compute_stats();
        total_text_ = stats_[body].text;
        // As trafilatura: page furniture known by its element goes first, comments are set
        // aside, the content is chosen, and only then is it cleaned of furniture known by name
        // (a name like "sidebar-layout" can wrap the content itself).
        clean_structure(body, options_.include_comments ? Comments::detect : Comments::drop);
        compute_stats();
        std::vector<std::uint32_t> roots = choose_main(body);
        compute_stats();
        for (const std::uint32_t r : roots)
            clean_names(r);
        compute_stats();
        for (const std::uint32_t r : roots)
            prune_link_dense(r);
        compute_stats();
        for (const std::uint32_t r : roots)
            drop_loose_snippets(r);
        compute_stats();
        for (const std::uint32_t r : roots)
            drop_trailing_headings(r);

        MarkdownOptions md;
        md.include_links = options_.include_links;
        md.include_images = options_.include_images;
        md.base_url = options_.base_url;
        md.max_bytes = utf8_bytes_for(options_.max_output_chars);
        MarkdownWriter writer(dom_, md);
        for (const std::uint32_t r : roots)
            writer.render(r);

        if (!comments_.empty()) {
            const std::vector<std::uint32_t> comments = std::move(comments_);
            for (const std::uint32_t c : comments)
                clean_structure(c, Comments::keep);
            compute_stats();
            for (const std::uint32_t c : comments)
                clean_names(c);
            compute_stats();
            for (const std::uint32_t c : comments)
                prune_link_dense(c);
            compute_stats();
            for (const std::uint32_t c : comments)
                drop_loose_snippets(c);
            compute_stats();
            for (const std::uint32_t c : comments) {
                drop_trailing_headings(c);
                writer.render(c);
            }
        }
        std::string out = writer.take();
        if (out.empty() && total_text_ > 0) {
            // Everything looked like furniture: the page's whole text beats nothing.
            dom_.nodes = original;
            MarkdownWriter all(dom_, md);
            all.render(body);
            out = all.take();
        }
        return out;
    }

private:
    void compute_stats()
    {
        stats_.assign(dom_.nodes.size(), Stats{});
        // Nodes are numbered in document order, so every child comes after its parent.
        for (std::size_t i = dom_.nodes.size(); i-- > 0;) {
            const DomNode& node = dom_.nodes[i];
            Stats& s = stats_[i];
            if (node.is_text) {
                for (const char ch : dom_.text_of(static_cast<std::uint32_t>(i))) {
                    const auto c = static_cast<unsigned char>(ch);
                    if (c > ' ' && (c & 0xC0) != 0x80)
                        ++s.text;
                    if (c == ',')
                        ++s.commas;
                }
            } else if (node.tag == Tag::a) {
                s.link_text = s.text;
                s.links = s.text > 0 ? 1 : 0;
            }
            if (node.parent != kNone) {
                Stats& p = stats_[node.parent];
                p.holds_block = p.holds_block || s.holds_block || (!node.is_text && is_block_element(node.tag));
                p.holds_title =
                    p.holds_title || s.holds_title || (!node.is_text && (node.tag == Tag::h1 || node.tag == Tag::h2));
                p.text += s.text;
                p.link_text += s.link_text;
                p.links += s.links;
                p.commas += s.commas;
            }
        }
        // An article counts as the content only when it is a good part of the page: sidebars
        // are full of small "card" articles.
        const std::uint32_t big_article = std::max(kMinContentChars, stats_[0].text / 5);
        for (std::size_t i = dom_.nodes.size(); i-- > 0;) {
            const DomNode& node = dom_.nodes[i];
            Stats& s = stats_[i];
            if (!node.is_text) {
                const auto n = static_cast<std::uint32_t>(i);
                if (node.tag == Tag::main || ascii::iequals(dom_.attr(n, Attr::role), "main") ||
                    dom_.attr(n, Attr::itemprop) == "articleBody" ||
                    (node.tag == Tag::article && s.text >= big_article))
                    s.holds_main = true;
            }
            if (s.holds_main && node.parent != kNone)
                stats_[node.parent].holds_main = true;
        }
        // Flags from above, in one pass each way: no walk up or down per element, which a
        // deeply nested page would make quadratic.
        for (std::size_t i = 0; i < dom_.nodes.size(); ++i) {
            const std::uint32_t p = dom_.nodes[i].parent;
            if (p == kNone)
                continue;
            const Tag pt = dom_.nodes[p].tag;
            Stats& s = stats_[i];
            s.depth = stats_[p].depth + 1;
            s.in_article = stats_[p].in_article || pt == Tag::article;
            s.in_content = stats_[p].in_content || pt == Tag::article || pt == Tag::main ||
                           ascii::iequals(dom_.attr(p, Attr::role), "main");
        }
    }

    enum class Verdict { keep, remove, comments };
    /// What a comment section met by clean_structure becomes.
    enum class Comments { detect, drop, keep };

    /// Furniture known by its element, role or a hiding class; comment sections.
    Verdict judge_structure(std::uint32_t n, Comments mode)
    {
        const DomNode& node = dom_.nodes[n];
        const Stats& s = stats_[n];
        if (s.holds_main && node.tag != Tag::form)
            return Verdict::keep;
        switch (node.tag) {
        case Tag::nav:
        case Tag::aside:
        case Tag::footer:
        case Tag::menu:
        case Tag::dialog:
        case Tag::fieldset:
        case Tag::label:
        case Tag::legend:
            return Verdict::remove;
        case Tag::figure:
        case Tag::figcaption:
            if (!options_.include_images)
                return Verdict::remove;
            break;
        case Tag::form:
            // ASP.NET and the like wrap the whole page in one form.
            if (s.text * 2 <= total_text_)
                return Verdict::remove;
            break;
        case Tag::header:
            // A site's banner goes; an article's own header (its title) stays.
            if (!s.in_content && !(s.holds_title && link_density(s) < 0.5))
                return Verdict::remove;
            break;
        default:
            break;
        }
        if (!furniture_candidate(node.tag))
            return Verdict::keep;
        const std::string_view role = dom_.attr(n, Attr::role);
        if (!role.empty() && in_list(kBoilerplateRoles, ascii::to_lower(ascii::trim(role))))
            return Verdict::remove;
        const std::string_view cls = dom_.attr(n, Attr::class_);
        const std::string_view id = dom_.attr(n, Attr::id);
        if (cls.empty() && id.empty())
            return Verdict::keep;
        std::vector<std::string> tokens = class_tokens(cls);
        for (const std::string& token : tokens) {
            if (in_list(kHiddenClasses, token))
                return Verdict::remove;
        }
        // Each class token on its own (and the id), so that "comment" meets only its own token's words.
        if (!id.empty())
            tokens.emplace_back(id);
        std::vector<std::string> words;
        for (const std::string& token : tokens) {
            words.clear();
            split_words(token, words);
            if (!is_comment_token(words))
                continue;
            if (comment_furniture(words) || mode == Comments::drop)
                return Verdict::remove;
            if (mode == Comments::keep)
                continue;
            if (node.tag == Tag::div || node.tag == Tag::section || node.tag == Tag::ol || node.tag == Tag::ul ||
                node.tag == Tag::other)
                return Verdict::comments;
        }
        return Verdict::keep;
    }

    /// Furniture known by the words of its class or id, within content of
    /// `scope_text` characters.
    bool furniture_by_name(std::uint32_t n, std::uint32_t scope_text)
    {
        const DomNode& node = dom_.nodes[n];
        const Stats& s = stats_[n];
        if (s.holds_main || !furniture_candidate(node.tag))
            return false;
        const std::string_view cls = dom_.attr(n, Attr::class_);
        const std::string_view id = dom_.attr(n, Attr::id);
        if (cls.empty() && id.empty())
            return false;
        // A wrapper holding most of the content is layout whatever its name says.
        if (s.text * 2 > scope_text && link_density(s) < 0.5)
            return false;
        std::vector<std::string> tokens = class_tokens(cls);
        if (!id.empty())
            tokens.emplace_back(id);
        std::vector<std::string> words;
        for (const std::string& token : tokens) {
            words.clear();
            split_words(token, words);
            // "comment-author-lemire" marks a comment by the author; "comment-author" is a name line.
            if (is_comment_token(words)) {
                if (comment_furniture(words))
                    return true;
                continue;
            }
            if (std::any_of(words.begin(), words.end(),
                            [](const std::string& w) { return in_list(kBoilerplateWords, w); }))
                return true;
        }
        const std::string names = ascii::to_lower(cls) + ' ' + ascii::to_lower(id);
        return std::any_of(std::begin(kBoilerplateFragments), std::end(kBoilerplateFragments),
                           [&](std::string_view f) { return names.find(f) != std::string::npos; });
    }

    /// Removes furniture known by element under `root`; comment sections are
    /// set aside, removed or kept as `mode` says.
    void clean_structure(std::uint32_t root, Comments mode)
    {
        std::uint32_t n = root;
        while (n != kNone) {
            if (n == root || dom_.nodes[n].is_text) {
                n = dom_.next_in_subtree(n, root);
                continue;
            }
            const Verdict v = judge_structure(n, mode);
            if (v == Verdict::keep) {
                n = dom_.next_in_subtree(n, root);
                continue;
            }
            const std::uint32_t next = dom_.next_in_subtree(n, root, true);
            dom_.unlink(n);
            if (v == Verdict::comments)
                comments_.push_back(n);
            n = next;
        }
    }

    void clean_names(std::uint32_t root)
    {
        const std::uint32_t scope = stats_[root].text;
        std::uint32_t n = dom_.nodes[root].first_child;
        while (n != kNone) {
            if (!dom_.nodes[n].is_text && furniture_by_name(n, scope)) {
                const std::uint32_t next = dom_.next_in_subtree(n, root, true);
                dom_.unlink(n);
                n = next;
                continue;
            }
            n = dom_.next_in_subtree(n, root);
        }
    }

    bool content_named(std::uint32_t n) const
    {
        if (dom_.attr(n, Attr::itemprop) == "articleBody")
            return true;
        const std::string id = ascii::to_lower(dom_.attr(n, Attr::id));
        if (!id.empty() && in_list(kContentIds, id))
            return true;
        const std::string cls = ascii::to_lower(dom_.attr(n, Attr::class_));
        if (cls.empty())
            return false;
        if (cls == "post" || cls == "entry" || cls == "content" || cls == "text" || cls == "story")
            return true;
        return std::any_of(std::begin(kContentClassFragments), std::end(kContentClassFragments),
                           [&](std::string_view f) { return cls.find(f) != std::string::npos; });
    }

    std::uint32_t common_ancestor(std::uint32_t a, std::uint32_t b) const
    {
        while (stats_[a].depth > stats_[b].depth)
            a = dom_.nodes[a].parent;
        while (stats_[b].depth > stats_[a].depth)
            b = dom_.nodes[b].parent;
        while (a != b) {
            a = dom_.nodes[a].parent;
            b = dom_.nodes[b].parent;
        }
        return a;
    }

    std::vector<std::uint32_t> choose_main(std::uint32_t body)
    {
        const std::uint32_t total = stats_[body].text;
        if (total == 0)
            return {body};
        auto good = [&](std::uint32_t n) {
            return stats_[n].text >= std::min<std::uint32_t>(kMinContentChars, total / 2) &&
                   link_density(stats_[n]) < 0.5;
        };

        std::uint32_t named = kNone;
        std::uint32_t main = kNone;
        std::vector<std::uint32_t> articles;
        for (std::uint32_t n = dom_.nodes[body].first_child; n != kNone; n = dom_.next_in_subtree(n, body)) {
            const DomNode& node = dom_.nodes[n];
            if (node.is_text)
                continue;
            if ((node.tag == Tag::div || node.tag == Tag::section || node.tag == Tag::article ||
                 node.tag == Tag::main) &&
                content_named(n) && good(n) && (named == kNone || stats_[n].text > stats_[named].text))
                named = n;
            if ((node.tag == Tag::main || ascii::iequals(dom_.attr(n, Attr::role), "main")) && good(n) &&
                (main == kNone || stats_[n].text > stats_[main].text))
                main = n;
            if (node.tag == Tag::article && stats_[n].text > 0 && !stats_[n].in_article)
                articles.push_back(n);
        }
        // A container named as the content, unless it is a fraction of the main element or article.
        if (named != kNone && stats_[named].text * 5 >= total)
            return {named};
        if (!articles.empty()) {
            std::uint32_t sum = 0;
            std::uint32_t best = articles.front();
            for (const std::uint32_t a : articles) {
                sum += stats_[a].text;
                if (stats_[a].text > stats_[best].text)
                    best = a;
            }
            std::uint32_t chosen = best;
            // The biggest articles only: a page of thousands, each deeper than the last, would
            // make finding their container quadratic.
            if (articles.size() > kMaxArticles) {
                std::partial_sort(articles.begin(), articles.begin() + kMaxArticles, articles.end(),
                                  [&](std::uint32_t x, std::uint32_t y) { return stats_[x].text > stats_[y].text; });
                articles.resize(kMaxArticles);
            }
            if (stats_[best].text * 10 < sum * 6) {
                // Several articles of a size (a forum thread, a listing): their common container.
                for (const std::uint32_t a : articles) {
                    if (stats_[a].text * 10 >= stats_[best].text)
                        chosen = common_ancestor(chosen, a);
                }
            }
            if (good(chosen) && stats_[chosen].text * 5 >= total)
                return {chosen};
        }
        if (main != kNone)
            return {main};
        if (named != kNone)
            return {named};
        clean_names(body);
        compute_stats();
        return densest(body);
    }

    /// Readability's idea: each paragraph scores its parent (and half its
    /// grandparent) by length and commas, less its links; the best-scored
    /// container is the content, with its siblings that score close to it.
    std::vector<std::uint32_t> densest(std::uint32_t body)
    {
        std::vector<double> score(dom_.nodes.size(), 0.0);
        for (std::uint32_t n = dom_.nodes[body].first_child; n != kNone; n = dom_.next_in_subtree(n, body)) {
            const DomNode& node = dom_.nodes[n];
            if (node.is_text)
                continue;
            std::uint32_t own = 0;
            std::uint32_t commas = 0;
            if (node.tag == Tag::p || node.tag == Tag::pre || node.tag == Tag::td || node.tag == Tag::blockquote ||
                node.tag == Tag::dd || node.tag == Tag::li) {
                own = stats_[n].text;
                commas = stats_[n].commas;
            } else if (node.tag == Tag::div || node.tag == Tag::section || node.tag == Tag::other ||
                       node.tag == Tag::center || node.tag == Tag::font) {
                // Text straight in a div (sites that write paragraphs with <br>).
                for (std::uint32_t c = node.first_child; c != kNone; c = dom_.nodes[c].next_sibling) {
                    if (dom_.nodes[c].is_text) {
                        own += stats_[c].text;
                        commas += stats_[c].commas;
                    }
                }
            }
            if (own < 25)
                continue;
            const double s = (1.0 + commas + std::min(own / 100.0, 3.0)) * (1.0 - link_density(stats_[n]));
            const std::uint32_t parent = node.parent;
            if (parent == kNone)
                continue;
            score[parent] += s;
            if (const std::uint32_t grand = dom_.nodes[parent].parent; grand != kNone)
                score[grand] += s / 2;
        }
        std::uint32_t top = kNone;
        double top_score = 0;
        for (std::uint32_t n = body; n != kNone; n = dom_.next_in_subtree(n, body)) {
            if (dom_.nodes[n].is_text || score[n] <= 0)
                continue;
            score[n] *= 1.0 - link_density(stats_[n]);
            if (score[n] > top_score) {
                top_score = score[n];
                top = n;
            }
        }
        if (top == kNone)
            return {body};
        std::vector<std::uint32_t> roots;
        const std::uint32_t parent = dom_.nodes[top].parent;
        if (parent == kNone)
            return {top};
        const double threshold = std::max(10.0, top_score * 0.2);
        for (std::uint32_t c = dom_.nodes[parent].first_child; c != kNone; c = dom_.nodes[c].next_sibling) {
            if (dom_.nodes[c].is_text)
                continue;
            const Stats& s = stats_[c];
            const bool paragraph = dom_.nodes[c].tag == Tag::p && s.text > 80 && link_density(s) < 0.25;
            if (c == top || score[c] >= threshold || paragraph)
                roots.push_back(c);
        }
        return roots;
    }

    bool link_heavy(std::uint32_t n) const
    {
        const DomNode& node = dom_.nodes[n];
        const Stats& s = stats_[n];
        if (s.links == 0 || s.text == 0)
            return false;
        const double ld = link_density(s);
        switch (node.tag) {
        case Tag::p:
            // A lone "read more" or "see also" line.
            return s.text < 60 && ld > 0.8;
        case Tag::table:
            return s.text >= 200 && ld > (s.text < 1000 ? 0.8 : 0.5);
        case Tag::div:
        case Tag::section:
        case Tag::ul:
        case Tag::ol:
        case Tag::dl:
        case Tag::other:
        case Tag::details:
        case Tag::center:
        case Tag::header:
            if (s.text < 300)
                return ld > 0.8;
            // A link farm: many short links and little else.
            return s.links > 4 && ld > 0.9 && s.link_text < 100 * s.links;
        default:
            return false;
        }
    }

    void prune_link_dense(std::uint32_t root)
    {
        std::uint32_t n = dom_.nodes[root].first_child;
        while (n != kNone) {
            if (!dom_.nodes[n].is_text && link_heavy(n)) {
                const std::uint32_t next = dom_.next_in_subtree(n, root, true);
                dom_.unlink(n);
                n = next;
                continue;
            }
            n = dom_.next_in_subtree(n, root);
        }
    }

    /// Text of a block element outside all its text blocks (paragraphs, lists, headings...).
    std::uint32_t loose_text(std::uint32_t root) const
    {
        std::uint32_t in_blocks = 0;
        for (std::uint32_t n = dom_.nodes[root].first_child; n != kNone;) {
            if (!dom_.nodes[n].is_text && is_text_block(dom_.nodes[n].tag)) {
                in_blocks += stats_[n].text;
                n = dom_.next_in_subtree(n, root, true);
                continue;
            }
            n = dom_.next_in_subtree(n, root);
        }
        return stats_[root].text - in_blocks;
    }

    /// On a page written in paragraphs, short runs of text set loose in
    /// layout elements are labels (dates, scores, user names, "level 1"),
    /// which trafilatura does not take either: it keeps only the text of
    /// paragraph-like elements when there is enough of it.
    void drop_loose_snippets(std::uint32_t root)
    {
        constexpr std::uint32_t kLongRun = 50;
        if (loose_text(root) * 2 > stats_[root].text)
            return;
        std::vector<std::uint32_t> run;
        std::uint32_t run_text = 0;
        auto end_run = [&] {
            if (run_text < kLongRun) {
                for (const std::uint32_t r : run)
                    dom_.unlink(r);
            }
            run.clear();
            run_text = 0;
        };
        std::vector<std::uint32_t> containers{root};
        while (!containers.empty()) {
            const std::uint32_t c = containers.back();
            containers.pop_back();
            for (std::uint32_t n = dom_.nodes[c].first_child; n != kNone;) {
                const std::uint32_t next = dom_.nodes[n].next_sibling;
                const DomNode& node = dom_.nodes[n];
                const bool block = !node.is_text && (is_block_element(node.tag) || stats_[n].holds_block);
                if (!block) {
                    run.push_back(n);
                    run_text += stats_[n].text;
                } else {
                    end_run();
                    if (!is_text_block(node.tag))
                        containers.push_back(n);
                }
                n = next;
            }
            end_run();
        }
    }

    /// A heading left at the very end (the title of a list that was pruned).
    void drop_trailing_headings(std::uint32_t root)
    {
        for (int round = 0; round < 8; ++round) {
            std::uint32_t n = root;
            while (!dom_.nodes[n].is_text && !is_heading(dom_.nodes[n].tag)) {
                std::uint32_t last = kNone;
                for (std::uint32_t c = dom_.nodes[n].last_child; c != kNone; c = dom_.nodes[c].prev_sibling) {
                    if (stats_[c].text > 0) {
                        last = c;
                        break;
                    }
                }
                if (last == kNone)
                    break;
                n = last;
            }
            if (n == root || dom_.nodes[n].is_text || !is_heading(dom_.nodes[n].tag))
                return;
            for (std::uint32_t p = dom_.nodes[n].parent; p != kNone; p = dom_.nodes[p].parent)
                stats_[p].text -= stats_[n].text;
            dom_.unlink(n);
        }
    }

    Dom& dom_;
    const ExtractOptions& options_;
    std::vector<Stats> stats_;
    std::vector<std::uint32_t> comments_;
    std::uint32_t total_text_ = 0;
};

bool is_binary_byte(unsigned char c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1A) || (c >= 0x1C && c <= 0x1F);
}

/// Cut to at most `max_chars` code points, trailing whitespace dropped.
void finish_text(std::string& s, std::size_t max_chars)
{
    if (const std::size_t at = text::code_point_offset(s, max_chars); at < s.size())
        s.resize(at);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
        s.pop_back();
}

} // namespace

BodyKind classify_body(std::string_view content_type, std::string_view body)
{
    const MediaType mt = parse_content_type(content_type);
    const std::string& t = mt.type;
    if (t == "text/html" || t == "application/xhtml+xml" || t == "application/vnd.wap.xhtml+xml")
        return BodyKind::html;
    if (t.starts_with("text/") || t == "application/json" || t.ends_with("+json") || t == "application/xml" ||
        t.ends_with("+xml") || t == "application/javascript" || t == "application/x-javascript" ||
        t == "application/ecmascript" || t == "application/x-ndjson" || t == "application/yaml" ||
        t == "application/x-yaml" || t == "application/toml" || t == "application/x-sh")
        return BodyKind::text;
    if (!t.empty() && t != "application/octet-stream" && t != "unknown/unknown" && t != "application/unknown")
        return BodyKind::other;
    // No usable type: sniff as a browser does.
    std::string_view head = body.substr(0, 1024);
    if (head.starts_with("\xEF\xBB\xBF"))
        head.remove_prefix(3);
    const bool utf16 = head.starts_with("\xFF\xFE") || head.starts_with("\xFE\xFF");
    if (!utf16 &&
        std::any_of(head.begin(), head.end(), [](char c) { return is_binary_byte(static_cast<unsigned char>(c)); }))
        return BodyKind::other;
    if (utf16)
        return BodyKind::text;
    const std::size_t first = head.find_first_not_of(" \t\r\n\f");
    if (first != std::string_view::npos && head[first] == '<' && first + 1 < head.size()) {
        const char c = head[first + 1];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '!' || c == '?')
            return BodyKind::html;
    }
    return BodyKind::text;
}

std::string html_to_markdown(std::string_view utf8_html, const ExtractOptions& options)
{
    Dom dom = parse_html(utf8_html, {options.max_parser_bytes, options.parse_timeout});
    Extractor extractor(dom, options);
    std::string out = extractor.run();
    finish_text(out, options.max_output_chars);
    return out;
}

std::string extract_markdown(std::string_view body, std::string_view content_type, const ExtractOptions& options)
{
    body = body.substr(0, std::min(body.size(), options.max_input_bytes));
    const BodyKind kind = classify_body(content_type, body);
    if (kind == BodyKind::other)
        return {};
    std::string label = parse_content_type(content_type).charset;
    if (label.empty() && kind == BodyKind::html)
        label = sniff_meta_charset(body);
    if (kind == BodyKind::text) {
        std::string text = decode_to_utf8(body, label, utf8_bytes_for(options.max_output_chars));
        finish_text(text, options.max_output_chars);
        return text;
    }
    // A single-byte charset takes at most 3 UTF-8 bytes per byte.
    const std::string html = decode_to_utf8(body, label, body.size() * 3 + 4);
    return html_to_markdown(html, options);
}

} // namespace stirrup::detail::web
