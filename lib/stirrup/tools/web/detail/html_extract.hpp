#pragma once
// fetch_web_page's stand-in for trafilatura: a fetched body in, the Markdown
// the model reads out. Stirrup calls
// trafilatura.extract(response.text, output_format="markdown"), whose
// defaults keep comments and tables and drop links and images; these options
// default the same way. docs/web-extraction.md describes the rules and
// compares the output with trafilatura's on saved pages.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "stirrup/tools/web/detail/html_dom.hpp"

namespace stirrup::detail::web {

struct ExtractOptions {
    /// A longer body is cut to this many bytes before decoding.
    std::size_t max_input_bytes = std::size_t{50} << 20;
    /// The Markdown is cut to this many code points (fetch_web_page cuts
    /// further, to 40,000, with truncate_msg).
    std::size_t max_output_chars = 1'000'000;
    /// Memory and time the HTML parser may take; past them ExtractError.
    std::size_t max_parser_bytes = std::size_t{1} << 30;
    std::chrono::milliseconds parse_timeout{30'000};
    bool include_links = false;   // [text](href), as trafilatura's include_links
    bool include_images = false;  // ![alt](src), as trafilatura's include_images
    bool include_comments = true; // reader comments after the content, as trafilatura's include_comments
    /// The page's URL: relative links and images are resolved against it
    /// (kept as written when empty).
    std::string base_url;
};

enum class BodyKind {
    html, // extracted to Markdown
    text, // passed through (plain text, JSON, XML, CSS, JavaScript, ...)
    other // images, PDF, archives: nothing the model can read as text
};

/// How a body with this Content-Type (and, when that says nothing, these
/// first bytes) is read.
BodyKind classify_body(std::string_view content_type, std::string_view body);

/// The page's main content as Markdown. `content_type` is the response's
/// Content-Type: its charset is honoured, else a byte-order mark or (HTML)
/// <meta charset> / http-equiv, else UTF-8 with invalid bytes replaced.
/// Text and JSON come back decoded, as they are; other types give "" (Stirrup
/// gives an empty body: trafilatura finds nothing in them). The result is
/// valid UTF-8. Throws ExtractError when the HTML parser passes its budget.
std::string extract_markdown(std::string_view body, std::string_view content_type, const ExtractOptions& options = {});

/// The HTML half of extract_markdown, on text already decoded.
std::string html_to_markdown(std::string_view utf8_html, const ExtractOptions& options = {});

} // namespace stirrup::detail::web
