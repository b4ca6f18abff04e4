#pragma once
// Agent tests against the fake OpenAI server: a client for it, a scratch
// directory, and a logger that records what the agent reported.

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/net/http_client.hpp"
#include "support/fake_openai.hpp"

namespace stirrup::test {

/// A ChatCompletionsClient for `fake`, trusting the test CA.
std::shared_ptr<LlmClient> fake_client(const FakeOpenAi& fake, boost::asio::any_io_executor ex,
                                       std::int64_t context_window = 128000, std::int64_t max_tokens = 1000);

/// A fresh empty directory under the system temp dir, removed on destruction.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    const std::filesystem::path& path() const { return path_; }
    /// Entries directly inside, names only, sorted.
    std::vector<std::string> entries() const;

private:
    std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& p);
void write_text(const std::filesystem::path& p, const std::string& text);

/// One completion step of a fake scenario calling tools: {name, arguments JSON object}.
boost::json::object tool_calls_step(std::vector<std::pair<std::string, boost::json::value>> calls,
                                    std::int64_t prompt_tokens = 10, std::int64_t completion_tokens = 5);
/// The step finishing with `paths`.
boost::json::object finish_step(std::vector<std::string> paths, std::string reason = "done");
/// The step running one shell command.
boost::json::object exec_step(const std::string& cmd);

/// Records every callback, thread-safe.
class RecordingLogger : public AgentLogger {
public:
    struct Event {
        std::string kind;
        std::string agent;
        int depth = 0;
        std::uint64_t session = 0;
        std::string text;
    };
    std::vector<Event> events() const;
    std::vector<Event> events(const std::string& kind) const;

    void session_start(const LogScope&) override;
    void session_end(const LogScope&, const SessionReport&) override;
    void task(const LogScope&, std::string_view) override;
    void assistant_message(const LogScope&, int, int, const AssistantMessage&) override;
    void user_message(const LogScope&, const UserMessage&) override;
    void tool_result(const LogScope&, const ToolMessage&) override;
    void step(const LogScope&, const StepProgress&) override;
    void message(const LogScope&, LogLevel, std::string_view) override;

private:
    void add(const LogScope&, std::string kind, std::string text);
    mutable std::mutex mutex_;
    std::vector<Event> events_;
};

} // namespace stirrup::test
