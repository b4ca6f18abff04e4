#include "support/agent_fixture.hpp"

#include <fstream>
#include <random>
#include <sstream>

#include "support/test_certs.hpp"

namespace stirrup::test {

namespace fs = std::filesystem;

std::shared_ptr<LlmClient> fake_client(const FakeOpenAi& fake, boost::asio::any_io_executor ex,
                                       std::int64_t context_window, std::int64_t max_tokens)
{
    net::HttpClientOptions http;
    http.tls.ca_file = test_certs().ca_cert.string();
    ChatCompletionsOptions o;
    o.model = "gpt-test";
    o.max_tokens = max_tokens;
    o.context_window_tokens = context_window;
    o.base_url = fake.base_url();
    o.api_key = "sk-test";
    // No retries: a scripted error must reach the agent exactly once.
    o.max_retries = 0;
    return std::make_shared<ChatCompletionsClient>(std::make_shared<net::HttpClient>(ex, http), o);
}

ScratchDir::ScratchDir()
{
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("stirrup-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
}

ScratchDir::~ScratchDir()
{
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::vector<std::string> ScratchDir::entries() const
{
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_text(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(const fs::path& p, const std::string& text)
{
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

boost::json::object tool_calls_step(std::vector<std::pair<std::string, boost::json::value>> calls,
                                    std::int64_t prompt_tokens, std::int64_t completion_tokens)
{
    boost::json::array tc;
    for (auto& [name, args] : calls)
        tc.push_back(boost::json::object{{"name", name}, {"arguments", args}});
    boost::json::object completion{
        {"tool_calls", std::move(tc)},
        {"usage", boost::json::object{{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}}}};
    return boost::json::object{{"completion", std::move(completion)}};
}

boost::json::object finish_step(std::vector<std::string> paths, std::string reason)
{
    boost::json::array p;
    for (auto& x : paths)
        p.emplace_back(x);
    std::vector<std::pair<std::string, boost::json::value>> calls;
    calls.emplace_back("finish", boost::json::object{{"reason", reason}, {"paths", std::move(p)}});
    return tool_calls_step(std::move(calls));
}

boost::json::object exec_step(const std::string& cmd)
{
    std::vector<std::pair<std::string, boost::json::value>> calls;
    calls.emplace_back("code_exec", boost::json::object{{"cmd", cmd}});
    return tool_calls_step(std::move(calls));
}

std::vector<RecordingLogger::Event> RecordingLogger::events() const
{
    std::lock_guard lock(mutex_);
    return events_;
}

std::vector<RecordingLogger::Event> RecordingLogger::events(const std::string& kind) const
{
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    for (const auto& e : events_)
        if (e.kind == kind)
            out.push_back(e);
    return out;
}

void RecordingLogger::add(const LogScope& scope, std::string kind, std::string text)
{
    std::lock_guard lock(mutex_);
    events_.push_back({std::move(kind), scope.agent_name, scope.depth, scope.session_id, std::move(text)});
}

void RecordingLogger::session_start(const LogScope& s)
{
    add(s, "session_start", "");
}
void RecordingLogger::session_end(const LogScope& s, const SessionReport& r)
{
    add(s, "session_end", r.error ? "error" : (r.finish && *r.finish ? "finished" : "not finished"));
}
void RecordingLogger::task(const LogScope& s, std::string_view t)
{
    add(s, "task", std::string(t));
}
void RecordingLogger::assistant_message(const LogScope& s, int turn, int max, const AssistantMessage&)
{
    add(s, "assistant", std::to_string(turn) + "/" + std::to_string(max));
}
void RecordingLogger::user_message(const LogScope& s, const UserMessage& m)
{
    add(s, "user", content_text(m.content));
}
void RecordingLogger::tool_result(const LogScope& s, const ToolMessage& m)
{
    add(s, "tool", m.name.value_or("") + (m.success ? " ok" : " failed"));
}
void RecordingLogger::step(const LogScope& s, const StepProgress& p)
{
    add(s, "step",
        std::to_string(p.step) + " " + std::to_string(p.tool_calls) + " " + std::to_string(p.input_tokens) + " " +
            std::to_string(p.output_tokens));
}
void RecordingLogger::message(const LogScope& s, LogLevel, std::string_view m)
{
    add(s, "message", std::string(m));
}

} // namespace stirrup::test
