#pragma once
// A tool as the agent runs it: what the model sees (name, description, JSON
// schema of the parameters), how its arguments are checked, and the async
// function that executes it. Mirrors Stirrup's Tool / ToolResult / ToolProvider.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/awaitable.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/core/log_level.hpp"
#include "stirrup/core/messages.hpp"

namespace stirrup {

class Agent;
class CodeExecProvider;
struct SubAgentMetadata;

/// Arguments that are not valid JSON or do not match the tool's parameters.
/// The agent turns it into Stirrup's "Tool arguments are not valid" result.
class InvalidToolArguments : public Error {
public:
    using Error::Error;
    /// `shown`: the model reads why, after that sentence (a schema it did not
    /// meet, e.g. an MCP tool's). Stirrup's own tools show the bare sentence.
    InvalidToolArguments(const std::string& why, bool shown) : Error(why), shown_(shown) {}
    bool shown_to_model() const noexcept { return shown_; }

private:
    bool shown_ = false;
};

/// What a tool reports besides its content, aggregated per tool over a run.
/// `values` are folded across calls the way Stirrup adds its metadata models:
/// numbers are summed, arrays concatenated, objects merged, anything else
/// keeps the last value.
struct ToolMetadata {
    boost::json::object values;
    /// Set by sub-agent tools: the child's history and run metadata.
    std::shared_ptr<const SubAgentMetadata> sub_agent;

    /// Stirrup's ToolUseCountMetadata: {"num_uses": n}.
    static ToolMetadata use_count(std::int64_t n = 1);
};

struct ToolResult {
    Content content;
    /// For a finish tool: whether the run ends. Otherwise shown in logs.
    bool success = true;
    std::optional<ToolMetadata> metadata;
};

/// What a running tool can reach of the session that called it. The agent
/// layer implements it; tools only see this interface.
class ToolContext {
public:
    virtual ~ToolContext() = default;
    /// The session's execution environment; null when the agent has none.
    virtual CodeExecProvider* exec_env() const = 0;
    /// Nesting depth of the calling agent: 0 for the root, 1 for its sub-agents...
    virtual int depth() const = 0;
    /// Interactive tools stop the console logger's live line while they ask.
    virtual void pause_live() {}
    virtual void resume_live() {}
    /// A line for the session's logger (a tool's progress, a server's log).
    virtual void log(LogLevel, std::string_view) {}
};

struct Tool {
    std::string name;
    std::string description;
    /// JSON Schema (text) of the parameters object. nullopt: the tool takes no
    /// parameters and the "parameters" key is left out of the request.
    std::optional<std::string> parameters_schema;
    /// Checks the arguments and returns them normalised (defaults filled in).
    /// Throws InvalidToolArguments. Unset: any JSON object is accepted.
    std::function<boost::json::object(const boost::json::value& arguments)> parse_arguments;
    /// Runs the tool on parsed arguments. A thrown exception becomes a failed
    /// result (the run goes on); cancellation propagates.
    std::function<boost::asio::awaitable<ToolResult>(boost::json::object arguments, ToolContext& context)> execute;
    /// Set on the tool made by Agent::to_tool: the agent it runs, so the
    /// parent can check code-execution requirements across the tree.
    std::shared_ptr<const Agent> sub_agent;

    ToolDefinition definition() const { return {name, description, parameters_schema}; }
};

/// Resources behind a set of tools for one session (an execution environment,
/// a connection), started when the session starts and stopped when it ends.
class StartedTools {
public:
    virtual ~StartedTools() = default;
    /// The tools this provider contributes to the session.
    std::vector<Tool> tools;
    /// The execution environment, for a code-execution provider.
    virtual CodeExecProvider* exec_env() { return nullptr; }
    /// Releases the resources. Never throws; runs even when the session was
    /// cancelled.
    virtual boost::asio::awaitable<void> stop() { co_return; }
};

/// Makes the tools of one session. A provider is shared by every session of
/// the agents that list it, so it keeps no per-session state itself: each
/// start() returns a fresh StartedTools.
class ToolProvider {
public:
    virtual ~ToolProvider() = default;
    /// Shown in errors and warnings (e.g. "LocalCodeExecToolProvider").
    virtual std::string name() const = 0;
    /// True for the provider of the session's execution environment; it is
    /// started first and there may be at most one per agent.
    virtual bool provides_code_exec() const { return false; }
    /// `exec_env` is the session's execution environment, already started
    /// (null when the agent has none, and for the code-exec provider itself).
    virtual boost::asio::awaitable<std::unique_ptr<StartedTools>> start(CodeExecProvider* exec_env) const = 0;
};

} // namespace stirrup
