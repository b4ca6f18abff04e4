#pragma once
// Renders a cleaned subtree of a page as Markdown, the form trafilatura gives
// the model: headings (#), paragraphs, lists (nested, "-" and "1."), emphasis
// (**, *, ~~), inline code and fenced blocks, block quotes, pipe tables.
// Whitespace is collapsed as a browser renders it (pre keeps its own).
// Links and images are plain text unless asked for, as Stirrup gets them
// (trafilatura's include_links and include_images default to off).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/tools/web/detail/html_dom.hpp"

namespace stirrup::detail::web {

struct MarkdownOptions {
    bool include_links = false;
    bool include_images = false;
    /// Relative hrefs and srcs are resolved against it when it is an absolute URL.
    std::string base_url;
    /// Rendering stops once the output is this long (the caller cuts exactly).
    std::size_t max_bytes = std::size_t{4} << 20;
};

class MarkdownWriter {
public:
    MarkdownWriter(const Dom& dom, const MarkdownOptions& options);

    /// Appends `root`'s subtree as blocks after what is already written.
    void render(std::uint32_t root);
    bool full() const noexcept { return out_.size() >= options_.max_bytes; }
    std::string take() { return std::move(out_); }

private:
    struct Context {
        std::string first; // the prefix of the first line written inside (a list marker)
        std::string rest;  // the prefix of the lines after it
        bool used = false;
        bool list_item = false;
        bool nested_item = false; // this item's list sits inside another list item
        bool first_item = false;
        std::uint64_t id = 0;
    };

    void render_node(std::uint32_t n, unsigned depth);
    void render_children(std::uint32_t n, unsigned depth);
    void render_text(std::string_view text);
    void render_flat(std::uint32_t n);
    void render_heading(std::uint32_t n, unsigned level, unsigned depth);
    void render_list(std::uint32_t n, unsigned depth);
    void render_pre(std::uint32_t n);
    void render_table(std::uint32_t n, unsigned depth);
    void render_wrapped(std::uint32_t n, unsigned depth, std::string_view open, std::string_view close);
    void render_inline_code(std::uint32_t n);
    void render_link(std::uint32_t n, unsigned depth);
    void render_image(std::uint32_t n);

    void flush_paragraph();
    void emit_block(std::string_view text, bool keep_inner_blank_lines = false);
    std::string line_prefix(bool blank);
    std::string resolve(std::string_view url) const;
    std::string cell_markdown(std::uint32_t cell, unsigned depth) const;

    const Dom& dom_;
    const MarkdownOptions& options_;
    std::string out_;
    std::string inline_;           // the paragraph being gathered, whitespace collapsed
    bool pending_space_ = false;   // a collapsed run of whitespace not written yet
    std::uint64_t generation_ = 0; // bumped at each flush, so a wrapper knows its start is gone
    unsigned no_markup_ = 0;       // inside a heading or code: no emphasis markers
    std::vector<Context> contexts_;
    std::uint64_t next_context_id_ = 0;
    std::vector<std::uint64_t> last_block_contexts_; // the contexts the last block was written in
};

} // namespace stirrup::detail::web
