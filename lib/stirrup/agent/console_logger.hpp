#pragma once
// An AgentLogger for terminals, after Stirrup's rich AgentLogger: a rule per
// session, panels for messages and tool results, a live progress line for
// root sessions, and a closing report (reason, tool usage, paths, tokens,
// model speed). Safe for concurrent sessions: output goes through one mutex
// and the per-session state is keyed by session_id.

#include <cstdio>
#include <memory>
#include <optional>

#include "stirrup/agent/logger.hpp"

namespace stirrup {

struct ConsoleLoggerOptions {
    std::FILE* out = stderr;
    /// ANSI colours. nullopt: when `out` is a terminal, NO_COLOR is unset
    /// and TERM is not "dumb".
    std::optional<bool> color;
    /// Redraw the progress line in place at the bottom. nullopt: when `out`
    /// is a terminal. Otherwise each step prints it as an ordinary line.
    std::optional<bool> live;
    /// Panels (task, messages, tool results) are printed at info and below;
    /// message() prints levels at or above this one.
    LogLevel level = LogLevel::info;
    /// Line width. nullopt: the terminal's width, 80 when not a terminal.
    std::optional<int> width;
};

class ConsoleLogger final : public AgentLogger {
public:
    explicit ConsoleLogger(ConsoleLoggerOptions options = {});
    /// Erases the live line if one is still drawn.
    ~ConsoleLogger() override;
    ConsoleLogger(const ConsoleLogger&) = delete;
    ConsoleLogger& operator=(const ConsoleLogger&) = delete;

    void session_start(const LogScope& scope) override;
    void session_end(const LogScope& scope, const SessionReport& report) override;
    void task(const LogScope& scope, std::string_view text) override;
    void warnings(const LogScope& scope, const std::vector<std::string>& warnings) override;
    void assistant_message(const LogScope& scope, int turn, int max_turns, const AssistantMessage& message) override;
    void user_message(const LogScope& scope, const UserMessage& message) override;
    void tool_result(const LogScope& scope, const ToolMessage& message) override;
    void step(const LogScope& scope, const StepProgress& progress) override;
    void summarization_start(const LogScope& scope, double pct_used, double cutoff) override;
    void summarization_end(const LogScope& scope, std::string_view summary, std::string_view bridge) override;
    void message(const LogScope& scope, LogLevel level, std::string_view text) override;
    /// Nestable: the live line stays hidden until every pause is resumed.
    void pause_live() override;
    void resume_live() override;

    /// Whether colours and the live line are on (the options resolved).
    bool color() const noexcept;
    bool live() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace stirrup
