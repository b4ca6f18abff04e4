#pragma once
// The agent: a model, tools, and Stirrup's run loop. An Agent is immutable
// configuration, cheap to copy and safe to share: every session keeps its own
// state, so one Agent serves any number of concurrent sessions.
//
//   stirrup::Agent agent{client, "coder", {.tools = {stirrup::local_code_exec()}}};
//   auto r = co_await agent.run_session({.output_dir = "out"},
//       [](stirrup::Session& s) { return s.run("Write hello.txt"); });

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/agent/logger.hpp"
#include "stirrup/agent/run_result.hpp"
#include "stirrup/agent/session.hpp"
#include "stirrup/core/tool.hpp"
#include "stirrup/llm/llm_client.hpp"

namespace stirrup {

/// A static tool, or a provider whose tools are made per session.
using ToolSource = std::variant<Tool, std::shared_ptr<ToolProvider>>;

inline constexpr int default_max_turns = 30;
inline constexpr double default_summarization_cutoff = 0.7;
inline constexpr int default_turns_warning_threshold = 20;

struct AgentOptions {
    /// nullopt: Stirrup's default tools (a local code-execution environment).
    std::optional<std::vector<ToolSource>> tools;
    /// nullopt: the default finish tool. Several are allowed; an empty list is an error.
    std::optional<std::vector<Tool>> finish_tools;
    /// Counts accepted assistant turns.
    int max_turns = default_max_turns;
    /// Appended to the built system prompt as instructions from the user.
    std::optional<std::string> system_prompt;
    /// Fraction of the context window at which the history is summarized.
    double context_summarization_cutoff = default_summarization_cutoff;
    /// Warn the model when this many turns or fewer remain.
    int turns_remaining_warning_threshold = default_turns_warning_threshold;
    /// Move images out of tool results into user messages.
    bool text_only_tool_responses = true;
    /// Add "Please continue the task" after a turn without tool calls.
    bool block_successive_assistant_messages = true;
    /// On context overflow, drop the latest completed turn and retry.
    bool recover_from_context_overflow = true;
    /// As a sub-agent: use the parent's execution environment instead of its own.
    bool share_parent_exec_env = false;
    /// Receives the run's events; null: nothing is logged.
    std::shared_ptr<AgentLogger> logger;
};

struct SubAgentToolOptions {
    std::string description = "A sub agent that can be used to handle a contained, specific task.";
    /// Given to the sub-agent as an extra system message before its task.
    std::optional<std::string> system_prompt;
};

/// What a session returns: the body's value and the files saved to output_dir.
template <class T>
struct SessionResult {
    T value;
    /// Set when the session had an output_dir and the last run finished with paths.
    std::optional<SaveOutputFilesResult> output_files;
};
template <>
struct SessionResult<void> {
    std::optional<SaveOutputFilesResult> output_files;
};

namespace detail {
struct AgentConfig;
}

class Agent {
public:
    /// Throws ConfigError for an invalid name, context window, finish tools,
    /// or tool names colliding with finish tools.
    Agent(std::shared_ptr<LlmClient> client, std::string name, AgentOptions options = {});

    const std::string& name() const;
    const std::shared_ptr<LlmClient>& client() const;
    const AgentOptions& options() const;
    /// The finish tools by name, in the order given.
    const std::vector<Tool>& finish_tools() const;
    /// True when one of the agent's tool providers is a code-execution provider.
    bool has_code_exec() const;

    /// Starts a session (providers, input files, skills), runs `body`, saves the
    /// last run's finish paths to output_dir, and stops the providers in
    /// reverse order -- on return, on exception and on cancellation.
    template <class Body>
    auto run_session(SessionOptions options, Body body) const
        -> boost::asio::awaitable<SessionResult<typename detail_session_value<Body>::type>>;

    /// run_session with a body that runs `task` once.
    boost::asio::awaitable<SessionResult<RunResult>> run(std::string task, SessionOptions options = {}) const;

    /// This agent as a tool for a parent agent (Stirrup's to_tool): parameters
    /// `task` and `input_files`; files move between the environments.
    Tool to_tool(SubAgentToolOptions options = {}) const;

    /// Type-erased session runner behind run_session.
    boost::asio::awaitable<std::optional<SaveOutputFilesResult>>
    run_session_erased(SessionOptions options, std::function<boost::asio::awaitable<void>(Session&)> body,
                       const ParentLink* parent = nullptr) const;

private:
    std::shared_ptr<const detail::AgentConfig> config_;
};

template <class Body>
auto Agent::run_session(SessionOptions options, Body body) const
    -> boost::asio::awaitable<SessionResult<typename detail_session_value<Body>::type>>
{
    using T = typename detail_session_value<Body>::type;
    if constexpr (std::is_void_v<T>) {
        auto files = co_await run_session_erased(
            std::move(options), [&body](Session& s) -> boost::asio::awaitable<void> { co_await body(s); });
        co_return SessionResult<void>{std::move(files)};
    } else {
        std::optional<T> value;
        auto files = co_await run_session_erased(
            std::move(options),
            [&body, &value](Session& s) -> boost::asio::awaitable<void> { value.emplace(co_await body(s)); });
        co_return SessionResult<T>{std::move(*value), std::move(files)};
    }
}

} // namespace stirrup
