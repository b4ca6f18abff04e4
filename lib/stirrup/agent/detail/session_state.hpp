#pragma once
// Internal: the state behind an Agent and behind one Session. Not installed.

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stirrup/agent/agent.hpp"
#include "stirrup/agent/skills.hpp"

namespace stirrup::detail {

struct AgentConfig {
    std::shared_ptr<LlmClient> client;
    std::string name;
    AgentOptions options;
    std::vector<Tool> static_tools;
    std::vector<std::shared_ptr<ToolProvider>> providers; ///< code-exec provider first
    std::vector<Tool> finish_tools;
    std::set<std::string> finish_names;
};

struct SessionState final : ToolContext {
    std::shared_ptr<const AgentConfig> config;
    AgentLogger* logger = nullptr;
    LogScope scope;
    ParentLink parent; ///< session null for a root session
    std::optional<std::filesystem::path> output_dir;

    /// Started providers, in start order (stopped in reverse).
    std::vector<std::unique_ptr<StartedTools>> started;
    CodeExecProvider* env = nullptr;
    bool env_owned = true;
    /// Tools in Stirrup's dict order: static, finish, then provider tools;
    /// a later tool of the same name replaces an earlier one in place.
    std::vector<Tool> active_tools;
    std::vector<std::string> uploaded_files;
    std::vector<SkillInfo> skills;

    // The last run, reset when a run starts.
    bool run_started = false;
    std::optional<FinishCall> finish;
    std::optional<RunMetadata> run_metadata;
    std::optional<SaveOutputFilesResult> output_files;

    const Tool* find_tool(const std::string& name) const;
    void add_tool(Tool tool);
    bool is_finish(const std::string& name) const { return config->finish_names.count(name) != 0; }
    std::vector<ToolDefinition> tool_definitions() const;
    std::string build_prompt() const;

    CodeExecProvider* exec_env() const override { return env; }
    int depth() const override { return scope.depth; }
    void pause_live() override { logger->pause_live(); }
    void resume_live() override { logger->resume_live(); }
    void log(LogLevel level, std::string_view text) override { logger->message(scope, level, text); }
};

/// The logger that logs nothing (AgentOptions::logger unset).
AgentLogger& null_logger();

/// A fresh process-wide session id.
std::uint64_t next_session_id();

} // namespace stirrup::detail
