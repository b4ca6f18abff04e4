#pragma once
// A session: one agent's started tools, execution environment and files,
// inside which runs happen. Made by Agent::run_session, alive only during
// the body; never shared between concurrent tasks.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/agent/run_result.hpp"
#include "stirrup/core/messages.hpp"
#include "stirrup/core/tool.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup {

struct SessionOptions {
    /// Root sessions: host directory the finish tool's paths are saved to.
    std::optional<std::filesystem::path> output_dir;
    /// Files, directories or glob patterns (`**` recurses) to upload before
    /// the run. A missing path or a pattern that matches nothing is an error.
    std::vector<std::string> input_files;
    /// A directory of skills (subdirectories with a SKILL.md): uploaded to
    /// `skills/` and listed in the system prompt.
    std::optional<std::filesystem::path> skills_dir;
};

class Session;
namespace detail {
struct SessionState;
}

/// How a sub-agent's session reaches its parent's (internal to the agent layer).
struct ParentLink {
    const detail::SessionState* state = nullptr; ///< null when called outside any session
    int depth = 0;                               ///< the parent's depth
};

class Session {
public:
    explicit Session(std::unique_ptr<detail::SessionState> state);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Runs the agent on a task until a finish tool succeeds or max_turns run
    /// out. Errors of the model or infrastructure throw; errors the model made
    /// go back to it as tool results.
    boost::asio::awaitable<RunResult> run(std::string task);
    /// Runs on initial messages (e.g. an extra system message, then the task).
    boost::asio::awaitable<RunResult> run(std::vector<ChatMessage> initial_messages);

    /// The session's execution environment, null when the agent has none.
    CodeExecProvider* exec_env() const;
    /// Paths of the uploaded input files inside the environment.
    const std::vector<std::string>& uploaded_files() const;
    /// The system prompt a fresh run starts with.
    std::string system_prompt() const;
    /// The tools the model sees, in Stirrup's order: static tools, finish tools, provider tools.
    std::vector<ToolDefinition> tool_definitions() const;
    int depth() const;

    detail::SessionState& state() { return *state_; }

private:
    std::unique_ptr<detail::SessionState> state_;
};

template <class Body>
struct detail_session_value {
    using type = typename std::invoke_result_t<Body&, Session&>::value_type;
};

} // namespace stirrup
