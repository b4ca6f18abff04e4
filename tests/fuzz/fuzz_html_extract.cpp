// libFuzzer target for fetch_web_page's extraction: any bytes, under any
// Content-Type, give valid UTF-8 of bounded length or an ExtractError.
//
// Input layout: byte 0 picks the Content-Type (bits 0-2), links, images and
// comments (bits 3-5) and a small output limit (bits 6-7); the rest is the
// body. Small inputs stay within the parser's budgets, so for them an
// ExtractError is a bug too.
//
// Properties:
//  - extract_markdown returns (never throws);
//  - the result is valid UTF-8 with at most max_output_chars code points;
//  - a body that is not text gives ""; text passes through unchanged when it
//    is valid UTF-8 without trailing whitespace and fits the limit;
//  - the same input gives the same output (no state kept between calls).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/tools/web/detail/html_extract.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::fuzz::require;
namespace web = stirrup::detail::web;

constexpr std::string_view kContentTypes[] = {
    "text/html",
    "text/html; charset=utf-8",
    "text/html; charset=iso-8859-1",
    "text/html; charset=shift_jis",
    "text/plain",
    "application/json",
    "",
    "image/png",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size);
    if (!input)
        return 0;
    const std::uint8_t seed = input->seed;
    const std::string_view body = input->rest;
    const std::string_view content_type = kContentTypes[seed & 7];

    web::ExtractOptions options;
    options.include_links = (seed & 8) != 0;
    options.include_images = (seed & 16) != 0;
    options.include_comments = (seed & 32) == 0;
    static constexpr std::size_t kLimits[] = {1'000'000, 0, 7, 200};
    options.max_output_chars = kLimits[seed >> 6];
    if (options.include_links)
        options.base_url = "https://example.com/a/b.html";

    std::string out;
    try {
        out = web::extract_markdown(body, content_type, options);
    } catch (const web::ExtractError&) {
        require(false);
    }
    require(stirrup::detail::text::sanitize_utf8(out) == out);
    require(stirrup::detail::text::count_code_points(out) <= options.max_output_chars);

    const web::BodyKind kind = web::classify_body(content_type, body);
    if (kind == web::BodyKind::other)
        require(out.empty());
    if (kind == web::BodyKind::text && (seed & 7) != 6 && stirrup::detail::text::sanitize_utf8(body) == body &&
        !body.starts_with("\xEF\xBB\xBF") && options.max_output_chars >= body.size()) {
        const std::size_t end = body.find_last_not_of(" \t\r\n");
        require(out == body.substr(0, end == std::string_view::npos ? 0 : end + 1));
    }

    require(web::extract_markdown(body, content_type, options) == out);
    return 0;
}
