#include "stirrup/agent/console_logger.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <sys/ioctl.h>
#include <unistd.h>

#include "stirrup/agent/detail/console_format.hpp"
#include "stirrup/agent/detail/console_summary.hpp"
#include "stirrup/core/detail/cancellation.hpp"
#include "stirrup/core/detail/text.hpp"

namespace stirrup {

namespace {

using detail::console::Painter;
namespace console = detail::console;
namespace sgr = console::sgr;

// Stirrup indents everything of a sub-agent by 8 spaces per level.
constexpr std::size_t indent_per_depth = 8;

// The live line is erased by returning to column 0 and clearing the line.
constexpr std::string_view erase_line = "\r\x1b[2K";

bool is_terminal(std::FILE* out)
{
    const int fd = out != nullptr ? ::fileno(out) : -1;
    return fd >= 0 && ::isatty(fd) == 1;
}

bool colour_wanted(std::FILE* out)
{
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0')
        return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::strcmp(term, "dumb") == 0)
        return false;
    return is_terminal(out);
}

// Model and tool text: valid UTF-8, at most `max_chars` code points, safe
// for the terminal, wrapped to the panel.
std::vector<std::string> body_text(std::string_view raw, std::size_t max_chars, const Painter& painter)
{
    return console::wrap(console::visible(console::cut(detail::text::sanitize_utf8(raw), max_chars)),
                         painter.body_width());
}

// Segments of the progress line and their colours.
using Segments = std::vector<std::pair<std::string, std::string_view>>;

Segments progress_segments(const LogScope& scope, const StepProgress& p, std::size_t other_roots)
{
    const std::string sep = "  │  ";
    std::string steps = "step " + console::with_thousands(p.step);
    if (scope.max_turns > 0)
        steps += "/" + console::with_thousands(scope.max_turns);
    Segments segments{
        {"Running " + console::visible(detail::text::sanitize_utf8(scope.agent_name)), "1;32"},
        {sep, sgr::dim},
        {steps, sgr::cyan},
        {sep, sgr::dim},
        {console::with_thousands(p.tool_calls) + " tool calls", sgr::magenta},
        {sep, sgr::dim},
        {console::with_thousands(p.input_tokens) + " input tokens", sgr::yellow},
        {sep, sgr::dim},
        {console::with_thousands(p.output_tokens) + " output tokens", sgr::blue},
    };
    if (other_roots > 0) {
        segments.emplace_back(sep, sgr::dim);
        segments.emplace_back("+" + std::to_string(other_roots) + " more running", sgr::dim);
    }
    return segments;
}

} // namespace

struct ConsoleLogger::Impl {
    struct SessionState {
        LogScope scope;
        StepProgress progress;
    };

    ConsoleLoggerOptions options;
    bool color;
    bool live;
    bool tty;

    std::mutex mutex;
    // Everything below is guarded by `mutex`.
    std::map<std::uint64_t, SessionState> sessions;
    std::uint64_t shown_root = 0; ///< the root session the live line shows
    bool live_drawn = false;      ///< the live line is on screen, cursor at its end
    int paused = 0;

    explicit Impl(ConsoleLoggerOptions o)
        : options(o), color(o.color.value_or(colour_wanted(o.out))), live(o.live.value_or(is_terminal(o.out))),
          tty(is_terminal(o.out))
    {
    }

    std::size_t width() const
    {
        if (options.width)
            return static_cast<std::size_t>(std::max(*options.width, 20));
        if (tty) {
            winsize ws{};
            if (::ioctl(::fileno(options.out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        }
        return 80;
    }

    Painter painter(const LogScope& scope) const
    {
        return Painter{color, width(), static_cast<std::size_t>(std::max(scope.depth, 0)) * indent_per_depth};
    }

    bool panels_enabled() const { return options.level <= LogLevel::info; }

    // ---- with `mutex` held ----

    void write(std::string_view text) { std::fwrite(text.data(), 1, text.size(), options.out); }

    void erase_live()
    {
        if (!live_drawn)
            return;
        write(erase_line);
        live_drawn = false;
    }

    std::size_t active_roots() const
    {
        std::size_t n = 0;
        for (const auto& [id, s] : sessions)
            n += s.scope.depth == 0 ? 1 : 0;
        return n;
    }

    std::string progress_line(const SessionState& s, std::size_t other_roots) const
    {
        const Segments segments = progress_segments(s.scope, s.progress, other_roots);
        if (live) {
            // Wider than the terminal, the line would wrap and "\r" could no
            // longer erase it: cut it, uncoloured.
            std::string plain;
            for (const auto& [text, code] : segments)
                plain += text;
            const std::size_t max = width() - 1;
            if (console::display_width(plain) > max)
                return console::fit_width(plain, max);
        }
        const Painter p{color, width(), 0};
        std::string out;
        for (const auto& [text, code] : segments)
            out += p.paint(text, code);
        return out;
    }

    void draw_live()
    {
        if (!live || paused > 0 || live_drawn)
            return;
        auto it = sessions.find(shown_root);
        if (it == sessions.end()) {
            // The shown root ended: show another one still running.
            it =
                std::find_if(sessions.begin(), sessions.end(), [](const auto& e) { return e.second.scope.depth == 0; });
            if (it == sessions.end())
                return;
            shown_root = it->first;
        }
        // The cursor is at the start of an empty line: after a printed
        // newline, or after erase_live().
        write(progress_line(it->second, active_roots() - 1));
        live_drawn = true;
    }

    void flush() { std::fflush(options.out); }

    // ---- locking entry points ----

    /// Prints `text` above the live line.
    void print(const std::string& text)
    {
        if (text.empty())
            return;
        const std::lock_guard lock(mutex);
        erase_live();
        write(text);
        draw_live();
        flush();
    }
};

ConsoleLogger::ConsoleLogger(ConsoleLoggerOptions options) : impl_(std::make_unique<Impl>(options)) {}

ConsoleLogger::~ConsoleLogger()
{
    const std::lock_guard lock(impl_->mutex);
    impl_->erase_live();
    impl_->flush();
}

bool ConsoleLogger::color() const noexcept
{
    return impl_->color;
}
bool ConsoleLogger::live() const noexcept
{
    return impl_->live;
}

void ConsoleLogger::session_start(const LogScope& scope)
{
    const Painter p = impl_->painter(scope);
    const std::string name = console::visible(detail::text::sanitize_utf8(scope.agent_name));
    const std::string model =
        scope.model.empty() ? "" : " (" + console::visible(detail::text::sanitize_utf8(scope.model)) + ")";
    const std::string title =
        scope.depth == 0 ? "▶ " + name + model : "▶ " + name + ": Level " + std::to_string(scope.depth) + model;
    const std::string text = p.rule(title, "1;36", sgr::cyan) + "\n";

    const std::lock_guard lock(impl_->mutex);
    impl_->sessions[scope.session_id] = {scope, {}};
    if (scope.depth == 0)
        impl_->shown_root = scope.session_id;
    impl_->erase_live();
    impl_->write(text);
    impl_->draw_live();
    impl_->flush();
}

void ConsoleLogger::session_end(const LogScope& scope, const SessionReport& report)
{
    const Painter p = impl_->painter(scope);
    const std::string name = console::visible(detail::text::sanitize_utf8(scope.agent_name));
    const bool finished = report.finish != nullptr && report.finish->has_value();
    std::string status;
    if (report.error)
        status = "✗ " + name + " - Error: " +
                 console::visible(console::cut(
                     console::collapse_whitespace(detail::text::sanitize_utf8(detail::error_text(report.error))), 500));
    else if (!finished)
        status = "✗ " + name + " - Failed";
    else
        status = "✓ " + name + " - Complete";
    const bool ok = finished && !report.error;

    std::string text = "\n" + p.rule(status, ok ? "1;32" : "1;31", ok ? sgr::green : sgr::red);
    if (scope.depth == 0)
        text += "\n" + console::session_summary(scope, report, p) + "\n";

    const std::lock_guard lock(impl_->mutex);
    impl_->sessions.erase(scope.session_id);
    impl_->erase_live();
    impl_->write(text);
    impl_->draw_live();
    impl_->flush();
}

void ConsoleLogger::task(const LogScope& scope, std::string_view text)
{
    if (!impl_->panels_enabled())
        return;
    const Painter p = impl_->painter(scope);
    std::string out = p.line(p.paint(scope.depth > 0 ? "Sub Agent Task:" : "Agent Task:", sgr::bold)) + "\n";
    const std::string collapsed = console::collapse_whitespace(detail::text::sanitize_utf8(text));
    for (const auto& line : console::wrap(console::visible(collapsed), p.usable_width()))
        out += p.line(line);
    impl_->print(out + "\n");
}

void ConsoleLogger::warnings(const LogScope& scope, const std::vector<std::string>& warnings)
{
    if (!impl_->panels_enabled() || warnings.empty())
        return;
    const Painter p = impl_->painter(scope);
    std::string out = p.line(p.paint("Warnings", "1;38;5;214")) + "\n";
    for (const auto& warning : warnings) {
        const auto lines =
            console::wrap(console::visible(detail::text::sanitize_utf8("⚠ " + warning)), p.usable_width());
        for (const auto& line : lines)
            out += p.line(p.paint(line, sgr::orange));
        out += "\n";
    }
    impl_->print(out);
}

void ConsoleLogger::assistant_message(const LogScope& scope, int turn, int max_turns, const AssistantMessage& message)
{
    if (!impl_->panels_enabled())
        return;
    const Painter p = impl_->painter(scope);
    std::vector<std::string> body;
    if (const auto text = joined_text(message.blocks); text && !text->empty())
        body = body_text(*text, 500, p);

    const auto calls = tool_call_blocks(message.blocks);
    if (!calls.empty()) {
        if (!body.empty())
            body.emplace_back();
        body.push_back(p.paint("Tool Calls:", "1;35"));
        for (const auto& call : calls) {
            body.push_back(p.paint("  🔧 " + console::visible(detail::text::sanitize_utf8(call.name)), sgr::magenta));
            if (console::collapse_whitespace(call.arguments).empty())
                continue;
            // Stirrup's logger json.loads the arguments and crashes the run on
            // invalid JSON; here they are shown as the model wrote them, and
            // the tool call itself reports the error to the model.
            const std::string args = detail::text::sanitize_utf8(call.arguments);
            const std::string shown = console::pretty_json(args).value_or(args);
            const Painter args_painter{p.color, p.width, p.indent + 4};
            for (const auto& line : body_text(shown, 1000, args_painter))
                body.push_back(p.paint("    " + line, sgr::dim));
        }
    }
    const std::string title = "AssistantMessage │ " + console::visible(detail::text::sanitize_utf8(scope.agent_name)) +
                              " │ Turn " + std::to_string(turn) + "/" + std::to_string(max_turns);
    impl_->print(p.panel(title, sgr::bold, sgr::yellow, body));
}

void ConsoleLogger::user_message(const LogScope& scope, const UserMessage& message)
{
    if (!impl_->panels_enabled())
        return;
    const Painter p = impl_->painter(scope);
    const std::string title = "UserMessage │ " + console::visible(detail::text::sanitize_utf8(scope.agent_name));
    impl_->print(p.panel(title, sgr::bold, sgr::blue, body_text(console::content_display(message.content), 500, p)));
}

void ConsoleLogger::tool_result(const LogScope& scope, const ToolMessage& message)
{
    if (!impl_->panels_enabled())
        return;
    const Painter p = impl_->painter(scope);
    const bool ok = message.args_was_valid && message.success;
    const std::string title = std::string(ok ? "✓" : "✗") + " ToolResult │ " +
                              console::visible(detail::text::sanitize_utf8(scope.agent_name)) + " │ " +
                              console::visible(detail::text::sanitize_utf8(message.name.value_or("unknown")));
    const std::string result =
        detail::text::truncate_msg(console::html_unescape(console::content_display(message.content)), 1000);
    const auto body = console::wrap(console::visible(result), p.body_width());
    impl_->print(p.panel(title, ok ? "1;32" : "1;31", ok ? sgr::green : sgr::red, body));
}

void ConsoleLogger::step(const LogScope& scope, const StepProgress& progress)
{
    const std::lock_guard lock(impl_->mutex);
    auto& state = impl_->sessions[scope.session_id];
    state.scope = scope;
    state.progress = progress;
    if (scope.depth != 0)
        return;
    if (impl_->live) {
        impl_->shown_root = scope.session_id;
        impl_->erase_live();
        impl_->draw_live();
    } else {
        impl_->write(impl_->progress_line(state, impl_->active_roots() - 1) + "\n");
    }
    impl_->flush();
}

void ConsoleLogger::summarization_start(const LogScope& scope, double pct_used, double cutoff)
{
    const Painter p = impl_->painter(scope);
    const std::vector<std::string> body{
        p.paint("Context window limit reached", sgr::bold),
        "",
        p.paint("Used: ", sgr::dim) + p.paint(console::percent(pct_used), "1;38;5;214") + p.paint("  │  ", sgr::dim) +
            p.paint("Threshold: ", sgr::dim) + p.paint(console::percent(cutoff), sgr::bold),
        "",
        p.paint("Summarizing conversation history...", "3"),
    };
    impl_->print(p.panel("📝 Context Summarization", "1;38;5;214", sgr::orange, body));
}

void ConsoleLogger::summarization_end(const LogScope& scope, std::string_view summary, std::string_view bridge)
{
    const Painter p = impl_->painter(scope);
    std::vector<std::string> body{p.paint("Summary:", sgr::bold)};
    for (auto& line : body_text(summary, 800, p))
        body.push_back(std::move(line));
    // Stirrup shows the bridge only above INFO, which reads inverted; here
    // it is debug output.
    if (impl_->options.level == LogLevel::debug) {
        body.emplace_back();
        body.push_back(p.paint("Bridge Message:", "1;2"));
        for (const auto& line : body_text(bridge, 200, p))
            body.push_back(p.paint(line, "2;3"));
    }
    impl_->print(p.panel("✓ Summary Generated", "1;32", sgr::green, body));
}

void ConsoleLogger::message(const LogScope& scope, LogLevel level, std::string_view text)
{
    if (level < impl_->options.level)
        return;
    const Painter p = impl_->painter(scope);
    std::string prefix;
    std::string_view code;
    switch (level) {
    case LogLevel::debug:
        code = sgr::dim;
        break;
    case LogLevel::info:
        break;
    case LogLevel::warning:
        prefix = "⚠ ";
        code = sgr::yellow;
        break;
    case LogLevel::error:
        prefix = "✗ ";
        code = sgr::red;
        break;
    }
    std::string out;
    for (const auto& line :
         console::wrap(console::visible(prefix + detail::text::sanitize_utf8(text)), p.usable_width()))
        out += p.line(p.paint(line, code));
    impl_->print(out);
}

void ConsoleLogger::pause_live()
{
    const std::lock_guard lock(impl_->mutex);
    ++impl_->paused;
    impl_->erase_live();
    impl_->flush();
}

void ConsoleLogger::resume_live()
{
    const std::lock_guard lock(impl_->mutex);
    if (impl_->paused > 0)
        --impl_->paused;
    impl_->draw_live();
    impl_->flush();
}

} // namespace stirrup
