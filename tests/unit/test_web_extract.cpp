// fetch_web_page's extraction: a page's bytes and Content-Type in, Markdown
// out. Small handcrafted pages pin each construct byte for byte; the saved
// real pages in tests/fixtures/web must stay as close to trafilatura's own
// extraction (saved next to each page) as they are now.

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/tools/web/detail/charset.hpp"
#include "stirrup/tools/web/detail/html_extract.hpp"

using namespace stirrup::detail::web;

namespace {

std::string md(std::string_view html, const ExtractOptions& options = {})
{
    return extract_markdown(html, "text/html; charset=utf-8", options);
}

bool valid_utf8(std::string_view s)
{
    return stirrup::detail::text::sanitize_utf8(s) == s;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Token-level F1 of two texts: tokens are runs of ASCII letters and digits
/// and non-ASCII bytes (so a UTF-8 word is one token), ASCII lower-cased,
/// compared as multisets. docs/web-extraction.md reports the same measure.
double token_f1(std::string_view a, std::string_view b)
{
    auto tokens = [](std::string_view s) {
        std::map<std::string, int> out;
        std::string t;
        for (const char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
                t += ch;
            } else if (c >= 'A' && c <= 'Z') {
                t += static_cast<char>(c - 'A' + 'a');
            } else if (!t.empty()) {
                ++out[t];
                t.clear();
            }
        }
        if (!t.empty())
            ++out[t];
        return out;
    };
    const auto ta = tokens(a);
    const auto tb = tokens(b);
    long na = 0, nb = 0, common = 0;
    for (const auto& [t, n] : ta) {
        na += n;
        if (const auto it = tb.find(t); it != tb.end())
            common += std::min(n, it->second);
    }
    for (const auto& [t, n] : tb)
        nb += n;
    if (na == 0 || nb == 0 || common == 0)
        return 0.0;
    const double p = static_cast<double>(common) / na;
    const double r = static_cast<double>(common) / nb;
    return 2 * p * r / (p + r);
}

} // namespace

TEST_CASE("web extract: headings, paragraphs, emphasis, whitespace collapsed")
{
    CHECK(md("<main><h1>Title</h1><p>First   paragraph\n  with <b>bold</b>, <strong>strong</strong>, <i>italic</i> "
             "and <em>em</em>.</p><h2>Sub <i>part</i></h2><p>Second&nbsp;one.</p><h6>Six</h6><p>End.</p></main>") ==
          "# Title\n\nFirst paragraph with **bold**, **strong**, *italic* and *em*.\n\n## Sub part\n\nSecond one.\n\n"
          "###### Six\n\nEnd.");
    // The spaces inside an element go outside its markers; empty elements get none.
    CHECK(md("<article><p>a<b> bold </b>c<i> </i>d<del>gone</del> e</p></article>") == "a **bold** c d~~gone~~ e");
    CHECK(md("<article><p>line one<br>line two<br><br>new paragraph</p></article>") ==
          "line one\nline two\n\nnew paragraph");
    CHECK(md("<article><div>loose <span>text</span></div><div>next</div></article>") == "loose text\n\nnext");
}

TEST_CASE("web extract: lists, nested and ordered")
{
    CHECK(md("<main><p>Intro</p><ul><li>One</li><li>Two<ul><li>Two A</li><li>Two B</li></ul></li></ul>"
             "<ol start=\"3\"><li>Three</li><li><p>Four</p><p>more</p></li></ol><p>After</p></main>") ==
          "Intro\n\n- One\n- Two\n  - Two A\n  - Two B\n\n3. Three\n4. Four\n   more\n\nAfter");
    // A list straight inside a list belongs to the item before it.
    CHECK(md("<main><ol><li>a</li><ol><li>b</li></ol><li>c</li></ol></main>") == "1. a\n   1. b\n2. c");
}

TEST_CASE("web extract: links and images as Stirrup gets them, and when asked for")
{
    const std::string page = "<main><p>See <a href=\"/docs/x?a=1\">the docs</a> and "
                             "<a href=\"#top\">top</a>.<img src=\"pic.png\" alt=\"A [pic]\"></p></main>";
    CHECK(md(page) == "See the docs and top.");
    ExtractOptions o;
    o.include_links = true;
    o.include_images = true;
    CHECK(md(page, o) == "See [the docs](/docs/x?a=1) and top.![A (pic)](pic.png)");
    o.base_url = "https://example.com/guide/page.html";
    CHECK(md(page, o) ==
          "See [the docs](https://example.com/docs/x?a=1) and top.![A (pic)](https://example.com/guide/pic.png)");
    CHECK(md("<main><p><a href=\"a b(c)\">x</a> <a href=\"javascript:void(0)\">js</a></p></main>", o) ==
          "[x](https://example.com/guide/a%20b%28c%29) js");
    // Lazy-loaded images keep the real address in data-src.
    CHECK(md("<main><p><img src=\"data:image/gif;base64,R0lG\" data-src=\"/real.jpg\" alt=\"r\"></p></main>", o) ==
          "![r](https://example.com/real.jpg)");
}

TEST_CASE("web extract: code, pre blocks and quotes")
{
    CHECK(md("<main><p>Call <code>f(x*y)</code> or <code>a`b</code> or <kbd>Ctrl</kbd>.</p></main>") ==
          "Call `f(x*y)` or ``a`b`` or `Ctrl`.");
    CHECK(md("<main><pre class=\"language-cpp\"><code>int main() {\n    return 0;\n}\n</code></pre></main>") ==
          "```cpp\nint main() {\n    return 0;\n}\n```");
    CHECK(md("<main><pre><code class=\"lang-sh\">echo ```\n\n  done</code></pre></main>") ==
          "````sh\necho ```\n\n  done\n````");
    CHECK(md("<main><p>He said:</p><blockquote><p>Quoted</p><p>Two <b>b</b></p></blockquote><p>Then.</p></main>") ==
          "He said:\n\n> Quoted\n>\n> Two **b**\n\nThen.");
    CHECK(md("<main><blockquote>Outer<blockquote>Inner</blockquote></blockquote></main>") == "> Outer\n>\n> > Inner");
    CHECK(md("<main><ul><li>item<pre>x\n y</pre></li></ul></main>") == "- item\n  ```\n  x\n   y\n  ```");
}

TEST_CASE("web extract: tables as pipe tables, layout tables as blocks")
{
    CHECK(md("<main><table><caption>Prices</caption><thead><tr><th>Item</th><th>Cost</th></tr></thead>"
             "<tbody><tr><td>a | b</td><td><b>1</b> <br>EUR</td></tr><tr><td colspan=\"2\">wide</td></tr>"
             "<tr><td>short</td></tr></tbody></table></main>") ==
          "Prices\n\n| Item | Cost |\n| --- | --- |\n| a \\| b | **1** EUR |\n| wide | |\n| short | |");
    // One column, or cells holding blocks, is layout.
    CHECK(md("<main><table><tr><td><p>Just</p></td></tr><tr><td>text</td></tr></table></main>") == "Just\n\ntext");
    CHECK(md("<main><table><tr><td><ul><li>w</li></ul></td><td>y</td></tr></table></main>") == "- w\n\ny");
}

TEST_CASE("web extract: boilerplate removed")
{
    const std::string page = R"(<html><head><title>T</title><style>p{color:red}</style>
<script>var x = "<p>not text</p>";</script></head><body>
<header><a href="/">Site</a> <nav><a href="/a">A</a> <a href="/b">B</a></nav></header>
<div class="cookie-banner">We use cookies. Accept?</div>
<div id="main-wrapper"><article>
  <h1>Real title</h1>
  <p>The real content of the page, long enough to count as the content of this page for sure.</p>
  <div class="share-buttons">Share on Twitter</div>
  <p hidden>hidden by attribute</p><p aria-hidden="true">hidden from readers</p>
  <p style="display: none">hidden by style</p><p class="sr-only">screen reader only</p>
  <noscript>enable JavaScript</noscript><template><p>template</p></template>
  <form><label>Email</label><input name="e"><button>Subscribe</button></form>
  <p>More real text that follows the noise, as the second paragraph of the article.</p>
  <div class="related-posts"><h3>Related</h3><ul><li><a href="/x">Other post</a></li></ul></div>
  <svg><text>svg text</text></svg><iframe src="/ad"></iframe>
</article>
<aside>Sidebar text that is long enough to be a paragraph on its own, but it is an aside.</aside></div>
<footer>Copyright 2024</footer></body></html>)";
    CHECK(md(page) ==
          "# Real title\n\nThe real content of the page, long enough to count as the content of this page for "
          "sure.\n\nMore real text that follows the noise, as the second paragraph of the article.");
}

TEST_CASE("web extract: the densest block when the page names no content")
{
    std::string page = "<body><div class=\"top\"><a href=\"/1\">Home</a> | <a href=\"/2\">About</a> | "
                       "<a href=\"/3\">Contact</a></div><div class=\"x\">";
    for (int i = 0; i < 5; ++i)
        page += "<p>Paragraph " + std::to_string(i) +
                " of the story, with commas, clauses, and enough words to "
                "read as prose rather than as a menu.</p>";
    page += "</div><div class=\"y\"><ul><li><a href=\"/p\">Popular one</a></li><li><a href=\"/q\">Popular two</a>"
            "</li></ul></div></body>";
    const std::string out = md(page);
    CHECK(out.starts_with("Paragraph 0 of the story"));
    CHECK(out.ends_with("Paragraph 4 of the story, with commas, clauses, and enough words to read as prose rather "
                        "than as a menu."));
    CHECK(out.find("Home") == std::string::npos);
    CHECK(out.find("Popular") == std::string::npos);
    // A page of one short paragraph is all content.
    CHECK(md("<p>Just one short paragraph.</p>") == "Just one short paragraph.");
}

TEST_CASE("web extract: comments follow the content unless turned off")
{
    const std::string page = "<body><article><p>The article text, which is long enough to be the content of the "
                             "page by any measure we apply here.</p></article><div id=\"comments\"><h3>2 comments"
                             "</h3><ol class=\"comment-list\"><li class=\"comment\"><div class=\"comment-author\">"
                             "Bob</div><p>First comment.</p></li><li class=\"comment\"><p>Second comment.</p></li>"
                             "</ol><div class=\"comment-respond\"><h3>Leave a reply</h3></div></div></body>";
    CHECK(md(page) == "The article text, which is long enough to be the content of the page by any measure we apply "
                      "here.\n\n### 2 comments\n\n1. First comment.\n2. Second comment.");
    ExtractOptions o;
    o.include_comments = false;
    CHECK(md(page, o) ==
          "The article text, which is long enough to be the content of the page by any measure we apply here.");
}

TEST_CASE("web extract: charset from Content-Type, BOM, meta, else UTF-8")
{
    const std::string latin1_body = "<main><p>Caf\xE9 cr\xE8me \x80 \x93</p></main>";
    CHECK(extract_markdown(latin1_body, "text/html; charset=ISO-8859-1") ==
          "Caf\xC3\xA9 cr\xC3\xA8me \xE2\x82\xAC \xE2\x80\x9C");
    CHECK(extract_markdown(latin1_body, "text/html; charset=\"latin1\"") ==
          "Caf\xC3\xA9 cr\xC3\xA8me \xE2\x82\xAC \xE2\x80\x9C");
    const std::string meta = "<html><head><meta charset=\"windows-1252\"></head><body><main><p>na\xEFve</p></main>";
    CHECK(extract_markdown(meta, "text/html") == "na\xC3\xAFve");
    const std::string equiv = "<html><head><!-- <meta charset=utf-8> --><meta http-equiv=\"Content-Type\" "
                              "content=\"text/html; charset=iso-8859-1\"></head><body><main><p>\xC0 la</p></main>";
    CHECK(extract_markdown(equiv, "text/html") == "\xC3\x80 la");
    // The header wins over the document.
    CHECK(extract_markdown(meta, "text/html; charset=utf-8") == "na\xEF\xBF\xBDve");
    // Other charsets go through iconv.
    CHECK(extract_markdown("<main><p>\xF0\xD2\xC9\xD7\xC5\xD4</p></main>", "text/html; charset=KOI8-R") ==
          "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
    CHECK(extract_markdown("<main><p>\x83\x65\x83\x58\x83\x67</p></main>", "text/html; charset=shift_jis") ==
          "\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88");
    // A byte-order mark beats the header.
    const std::string utf16 = std::string("\xFF\xFE<\0p\0>\0\xE9\0<\0/\0p\0>\0", 18);
    CHECK(extract_markdown(utf16, "text/html; charset=iso-8859-1") == "\xC3\xA9");
    // No charset anywhere: UTF-8, invalid bytes replaced; an unknown label is UTF-8 too.
    CHECK(extract_markdown("<p>ok \xFF\xC3\xA9</p>", "text/html") == "ok \xEF\xBF\xBD\xC3\xA9");
    CHECK(extract_markdown("<p>ok \xC3\xA9</p>", "text/html; charset=x-no-such") == "ok \xC3\xA9");
    CHECK(extract_markdown("<p>ok \xC3\xA9</p>", "text/html; charset=utf-8//TRANSLIT") == "ok \xC3\xA9");
}

TEST_CASE("web extract: charset helpers")
{
    CHECK(parse_content_type("Text/HTML ; Charset=\"UTF-8\"").type == "text/html");
    CHECK(parse_content_type("Text/HTML ; Charset=\"UTF-8\"").charset == "utf-8");
    CHECK(parse_content_type("application/json").charset.empty());
    CHECK(sniff_meta_charset("<meta charset='Shift_JIS'>") == "shift_jis");
    CHECK(sniff_meta_charset("<meta content=\"text/html;charset=koi8-r\" http-equiv=content-type>") == "koi8-r");
    CHECK(sniff_meta_charset("<meta content=\"text/html;charset=koi8-r\">").empty()); // no http-equiv
    CHECK(sniff_meta_charset("<meta charset=utf-16le>") == "utf-8");
    CHECK(sniff_meta_charset("<div title='<meta charset=koi8-r>'></div>").empty());
    CHECK(sniff_meta_charset(std::string(1100, ' ') + "<meta charset=koi8-r>").empty());
    CHECK(iconv_charset_name("Latin1") == "WINDOWS-1252");
    CHECK(iconv_charset_name("gb2312") == "GB18030");
    CHECK(iconv_charset_name("koi8-r") == "KOI8-R");
    CHECK(iconv_charset_name("utf-8//IGNORE").empty());
    CHECK(decode_to_utf8("\xE9\xE9\xE9", "latin1", 4) == "\xC3\xA9\xC3\xA9");
    CHECK(decode_to_utf8("\xE9\xE9\xE9", "koi8-r", 5) == "\xD0\x98\xD0\x98");
    CHECK(decode_to_utf8("ab\xE2\x82\xAC", "utf-8", 4) == "ab");
}

TEST_CASE("web extract: plain text and JSON pass through; other types give nothing")
{
    CHECK(extract_markdown("line 1\n  <b>kept</b>\n\n", "text/plain") == "line 1\n  <b>kept</b>");
    CHECK(extract_markdown("caf\xE9", "text/plain; charset=iso-8859-1") == "caf\xC3\xA9");
    CHECK(extract_markdown("{\"a\": [1, 2], \"s\": \"<p>x</p>\"}", "application/json") ==
          "{\"a\": [1, 2], \"s\": \"<p>x</p>\"}");
    CHECK(extract_markdown("{\"a\":1}", "application/ld+json") == "{\"a\":1}");
    CHECK(extract_markdown("<rss><item>x</item></rss>", "application/rss+xml") == "<rss><item>x</item></rss>");
    CHECK(extract_markdown("\x89PNG\r\n\x1a\n", "image/png").empty());
    CHECK(extract_markdown("%PDF-1.7", "application/pdf").empty());
    // No type: sniffed.
    CHECK(classify_body("", "  <!DOCTYPE html><p>x") == BodyKind::html);
    CHECK(classify_body("application/octet-stream", "just words") == BodyKind::text);
    CHECK(classify_body("", std::string("\x89PNG\r\n\x1a\n\0\0", 10)) == BodyKind::other);
    CHECK(extract_markdown("<p>sniffed</p>", "") == "sniffed");
    ExtractOptions o;
    o.max_output_chars = 3;
    CHECK(extract_markdown("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", "text/plain", o) == "\xC3\xA9\xC3\xA9\xC3\xA9");
    CHECK(extract_markdown("<p>abcdef</p>", "text/html", o) == "abc");
    o.max_output_chars = SIZE_MAX; // no limit, no overflow
    CHECK(extract_markdown("caf\xE9", "text/plain; charset=koi8-r", o) == "caf\xD0\x98");
    CHECK(extract_markdown("<p>caf\xC3\xA9</p>", "text/html", o) == "caf\xC3\xA9");
}

TEST_CASE("web extract: invalid HTML never fails")
{
    CHECK(md("<main><p>unclosed <b>bold <i>both</p><p>next</b> para</main></div></span>") ==
          "unclosed **bold *both***\n\n***next*** *para*");
    // gumbo replaces NUL, out-of-range references and control characters with U+FFFD.
    CHECK(md("<p>&lt;&lt;&gt;&gt; text & &amp; &bogus; &#0; &#x110000; \x01</p>") ==
          "<<>> text & & &bogus; \xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD");
    CHECK(md("<<<>>> </p></p> <p>text</p>") == "<<<>>>\n\ntext");
    CHECK(md("<table><td>cell<tr><td>a<td>b</table>").size() > 0);
    CHECK(md("").empty());
    CHECK(md("<html><body></body></html>").empty());
    CHECK(md("<!-- only a comment").empty());
    CHECK(valid_utf8(md("<p>\xC3\x28 \xED\xA0\x80 \xF4\x90\x80\x80</p>")));
    // Deep nesting: the tree is walked without recursion past a bound.
    std::string deep;
    for (int i = 0; i < 3000; ++i)
        deep += "<div><span><b>";
    deep += "deep text";
    CHECK(md(deep) == "deep text");
}

TEST_CASE("web extract: parser budgets")
{
    std::string page;
    for (int i = 0; i < 20000; ++i)
        page += "<p>z</p>";
    ExtractOptions o;
    o.max_parser_bytes = 256 * 1024;
    CHECK_THROWS_AS(md(page, o), ExtractError);
    CHECK_THROWS_WITH(md(page, o), "The page needs too much memory to parse.");
    // Unclosed nested elements make the parse quadratic; the deadline stops it.
    std::string nested;
    for (int i = 0; i < 200000; ++i)
        nested += "<div>";
    o = {};
    o.parse_timeout = std::chrono::milliseconds(100);
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(md(nested, o), "The page took too long to parse.");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    // Within the budgets, the same page parses.
    CHECK(md(page).starts_with("z\n\nz\n\n"));
}

TEST_CASE("web extract: a 50 MB page within its limits")
{
    std::string page = "<html><head><meta charset=\"utf-8\"></head><body><nav><a href=\"/\">Home</a></nav><article>";
    std::size_t n = 0;
    while (page.size() < (std::size_t{50} << 20) - 200) {
        page += "<p>Paragraph " + std::to_string(n++) +
                ": a long page keeps going, with <b>bold</b> words, commas, and more words to fill the line.</p>\n";
    }
    page += "</article></body></html>";
    const auto start = std::chrono::steady_clock::now();
    const std::string out = extract_markdown(page, "text/html");
    const auto took = std::chrono::steady_clock::now() - start;
    MESSAGE("50 MB page: " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms, "
                           << out.size() << " bytes out");
    CHECK(took < std::chrono::seconds(60));
    CHECK(out.starts_with("Paragraph 0: a long page keeps going, with **bold** words"));
    CHECK(stirrup::detail::text::count_code_points(out) <= ExtractOptions{}.max_output_chars);
    CHECK(out.size() > 900'000);
    CHECK(valid_utf8(out));
    // Past max_input_bytes the body is cut, not refused.
    ExtractOptions o;
    o.max_input_bytes = 1000;
    o.max_output_chars = 100'000;
    const std::string cut = extract_markdown(page, "text/html", o);
    CHECK(cut.starts_with("Paragraph 0"));
    CHECK(cut.size() < 1000);
}

TEST_CASE("web extract: saved real pages stay close to trafilatura's extraction")
{
    // The minimum token F1 against trafilatura 2.2.0's Markdown of each page
    // (docs/web-extraction.md has the table and explains the gaps).
    const std::pair<const char*, double> pages[] = {
        {"news-threatpost-android", 0.97}, {"news-nature-telescope", 0.97},
        {"docs-docker-install", 0.97},     {"wiki-wikipedia-tsne", 0.85},
        {"blog-lemire-json", 0.95},        {"blog-gregoryszorc-python3", 0.97},
        {"forum-reddit-init", 0.95},       {"forum-stackexchange-ausgeraubt", 0.62},
    };
    const std::string dir = std::string(STIRRUP_SOURCE_DIR) + "/tests/fixtures/web/";
    for (const auto& [page, minimum] : pages) {
        const std::string name = page;
        CAPTURE(name);
        const std::string html = read_file(dir + name + ".html");
        const std::string expected = read_file(dir + name + ".trafilatura.md");
        const std::string out = extract_markdown(html, "text/html");
        const double f1 = token_f1(out, expected);
        MESSAGE(name << ": token F1 " << f1);
        CHECK(f1 >= minimum);
        CHECK(valid_utf8(out));
    }
}
