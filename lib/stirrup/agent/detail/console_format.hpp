#pragma once
// Text building blocks of the console logger: Python-style number and JSON
// formatting, cutting text by code points, and the box-drawing layouts
// (rules, open-sided panels, trees) with optional ANSI colours. Pure
// functions on strings, so the logger's output can be tested line by line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "stirrup/core/messages.hpp"

namespace stirrup::detail::console {

// ---- values --------------------------------------------------------------

/// 1234567 -> "1,234,567" (Python's f"{n:,}").
std::string with_thousands(std::int64_t n);
/// Python's f"{x:.2f}" for finite values.
std::string fixed(double x, int decimals);
/// Python's f"{x:.1%}": 0.712 -> "71.2%".
std::string percent(double fraction);
/// 512 -> "512 B", 1536 -> "1.5 KiB".
std::string human_size(std::uint64_t bytes);

/// Python's json.dumps(json.loads(text), indent=2, ensure_ascii=False);
/// nullopt when `text` is not valid JSON.
std::optional<std::string> pretty_json(std::string_view text);
/// A metadata value as Stirrup's tree prints it: strings bare, numbers as
/// Python prints them, True/False/None, containers as compact JSON.
std::string display_value(const boost::json::value& value);

// ---- text ----------------------------------------------------------------

/// The first `max_chars` code points plus "..." when the text is longer
/// (Python's `text[:n] + "..."`). `utf8` must be valid UTF-8.
std::string cut(std::string_view utf8, std::size_t max_chars);
/// Every run of ASCII whitespace (newlines included) made one space, none
/// at either end. Stirrup strips each line of a task and joins them with
/// spaces; this also collapses runs inside a line.
std::string collapse_whitespace(std::string_view text);
/// Message content as text: text parts joined by newlines, images as
/// "[image image/png, 1.5 KiB]". Invalid UTF-8 is replaced.
std::string content_display(const Content& content);
/// The common HTML entities and numeric references decoded (Stirrup runs
/// html.unescape on tool results before showing them).
std::string html_unescape(std::string_view text);
/// Control characters other than newline shown as their Unicode control
/// pictures (ESC -> "␛"), C1 controls as U+FFFD, and tabs expanded to the
/// next multiple of 8 columns, so model text cannot move the cursor or change
/// colours on the terminal and widths can be measured.
std::string visible(std::string_view utf8);
/// Terminal columns taken by valid UTF-8 (wide East Asian and emoji count 2).
std::size_t display_width(std::string_view utf8);
/// The longest prefix of `utf8` that fits in `columns`.
std::string fit_width(std::string_view utf8, std::size_t columns);
/// `text` split at '\n' (a trailing newline gives no empty last line).
std::vector<std::string> split_lines(std::string_view text);
/// split_lines, then each line broken to at most `columns` columns, at the
/// last space of the piece when there is one in its second half.
std::vector<std::string> wrap(std::string_view utf8, std::size_t columns);

// ---- layout --------------------------------------------------------------

/// ANSI SGR codes used by the logger.
namespace sgr {
inline constexpr std::string_view bold = "1";
inline constexpr std::string_view dim = "2";
inline constexpr std::string_view red = "31";
inline constexpr std::string_view green = "32";
inline constexpr std::string_view yellow = "33";
inline constexpr std::string_view blue = "34";
inline constexpr std::string_view magenta = "35";
inline constexpr std::string_view cyan = "36";
inline constexpr std::string_view orange = "38;5;214";
} // namespace sgr

/// Lays out lines for one session: indentation by depth, the line width, and
/// whether colour codes are written.
struct Painter {
    bool color = false;
    std::size_t width = 80;
    std::size_t indent = 0;

    /// `text` wrapped in the SGR code `code` (e.g. "1;36") when colour is on.
    std::string paint(std::string_view text, std::string_view code) const;
    /// One output line: indentation, `text`, newline.
    std::string line(std::string_view text) const;
    /// A horizontal rule across the usable width with `title` centred (or
    /// none), as rich's console.rule draws it.
    std::string rule(std::string_view title, std::string_view title_code, std::string_view rule_code) const;
    /// An open-sided panel: "╭─ title ───", each body line after "│ ", and
    /// a closing "╰───". Body lines may already contain colour codes and
    /// should fit body_width().
    std::string panel(std::string_view title, std::string_view title_code, std::string_view border_code,
                      const std::vector<std::string>& body) const;
    /// Columns left after the indentation (at least 20).
    std::size_t usable_width() const;
    /// Columns of a panel's body line.
    std::size_t body_width() const { return usable_width() - 2; }
};

/// A node of a tree drawn with "├── " / "└── " guides. The label may
/// already contain colour codes.
struct TreeNode {
    std::string label;
    std::vector<TreeNode> children;
};

/// The tree's lines, the root's label first, guides dimmed.
std::vector<std::string> render_tree(const TreeNode& root, const Painter& painter);

} // namespace stirrup::detail::console
