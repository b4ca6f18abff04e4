#include "stirrup/agent/session.hpp"

#include <exception>
#include <filesystem>
#include <system_error>

#include <boost/asio/this_coro.hpp>

#include "stirrup/agent/detail/run_loop.hpp"
#include "stirrup/agent/detail/session_state.hpp"
#include "stirrup/agent/system_prompt.hpp"
#include "stirrup/core/detail/offload.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/provider.hpp"
#include "stirrup/pycompat/detail/glob.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"

namespace stirrup {

// ---- SessionState ---------------------------------------------------------

namespace detail {

const Tool* SessionState::find_tool(const std::string& name) const
{
    for (const auto& t : active_tools)
        if (t.name == name)
            return &t;
    return nullptr;
}

void SessionState::add_tool(Tool tool)
{
    for (auto& t : active_tools)
        if (t.name == tool.name) {
            t = std::move(tool);
            return;
        }
    active_tools.push_back(std::move(tool));
}

std::vector<ToolDefinition> SessionState::tool_definitions() const
{
    std::vector<ToolDefinition> out;
    out.reserve(active_tools.size());
    for (const auto& t : active_tools)
        out.push_back(t.definition());
    return out;
}

std::string SessionState::build_prompt() const
{
    SystemPromptInputs in;
    in.max_turns = config->options.max_turns;
    in.has_user_input_tool = find_tool("user_input") != nullptr;
    in.uploaded_files = uploaded_files;
    in.skills = skills;
    in.user_instructions = config->options.system_prompt;
    return build_system_prompt(in);
}

} // namespace detail

// ---- Session --------------------------------------------------------------

Session::Session(std::unique_ptr<detail::SessionState> state) : state_(std::move(state)) {}
Session::~Session() = default;

boost::asio::awaitable<RunResult> Session::run(std::string task)
{
    std::vector<ChatMessage> init;
    init.emplace_back(UserMessage{std::move(task)});
    co_return co_await detail::run_loop(*state_, std::move(init));
}

boost::asio::awaitable<RunResult> Session::run(std::vector<ChatMessage> initial_messages)
{
    co_return co_await detail::run_loop(*state_, std::move(initial_messages));
}

CodeExecProvider* Session::exec_env() const
{
    return state_->env;
}
const std::vector<std::string>& Session::uploaded_files() const
{
    return state_->uploaded_files;
}
std::string Session::system_prompt() const
{
    return state_->build_prompt();
}
std::vector<ToolDefinition> Session::tool_definitions() const
{
    return state_->tool_definitions();
}
int Session::depth() const
{
    return state_->scope.depth;
}

// ---- session start and teardown ------------------------------------------

namespace {

using detail::SessionState;

std::string upload_failure_message(const std::map<std::string, std::string>& failed)
{
    return "Failed to upload files: " + detail::py_repr_dict(failed);
}

const SessionState* parent_state(const SessionState& s)
{
    return s.parent.state;
}

awaitable<void> start_tools(SessionState& s)
{
    const auto& cfg = *s.config;
    const SessionState* parent = parent_state(s);
    std::vector<Tool> provider_tools;

    const bool share = cfg.options.share_parent_exec_env && s.scope.depth > 0 && parent && parent->env;
    if (share) {
        s.env = parent->env;
        s.env_owned = false;
        provider_tools.push_back(make_code_exec_tool(*s.env));
    }
    for (const auto& provider : cfg.providers) {
        if (provider->provides_code_exec() && share)
            continue;
        // Kept before start returns so a failure later in the session start
        // still stops what was started.
        s.started.push_back(co_await provider->start(provider->provides_code_exec() ? nullptr : s.env));
        auto& started = *s.started.back();
        if (provider->provides_code_exec())
            s.env = started.exec_env();
        for (auto& t : started.tools)
            provider_tools.push_back(t);
    }

    std::vector<std::string> collisions;
    for (const auto& t : provider_tools)
        if (s.is_finish(t.name))
            collisions.push_back(t.name);
    if (!collisions.empty()) {
        std::sort(collisions.begin(), collisions.end());
        std::vector<std::string> finish(cfg.finish_names.begin(), cfg.finish_names.end());
        throw ConfigError("Session-resolved tool name(s) " + detail::py_repr_list(collisions) +
                          " collide with finish tool name(s). Tool names must be unique across `tools` and "
                          "`finish_tool`.");
    }
    for (const auto& t : cfg.static_tools)
        s.add_tool(t);
    for (const auto& t : cfg.finish_tools)
        s.add_tool(t);
    for (auto& t : provider_tools)
        s.add_tool(std::move(t));
}

// What an uploaded directory held that was left out (a symlink out of it, a
// FIFO...): not a failure, but the user should know.
void warn_skipped(SessionState& s, const UploadFilesResult& result)
{
    for (const auto& [path, why] : result.skipped)
        s.logger->message(s.scope, LogLevel::warning, "Input " + path + " skipped: " + why);
}

awaitable<void> upload_inputs(SessionState& s, const std::vector<std::string>& entries)
{
    if (entries.empty())
        co_return;
    if (!s.env)
        throw ConfigError("input_files specified but no CodeExecToolProvider configured");
    const SessionState* parent = parent_state(s);
    if (s.scope.depth > 0 && parent && parent->env) {
        if (!s.env_owned) {
            s.uploaded_files = entries;
            co_return;
        }
        auto result = co_await s.env->upload_files_from(*parent->env, entries);
        if (!result.failed.empty())
            throw Error(upload_failure_message(result.failed));
        for (const auto& f : result.uploaded)
            s.uploaded_files.push_back(f.dest_path);
        co_return;
    }
    std::vector<std::string> paths;
    co_await detail::offload([&] { paths = detail::expand_input_files(entries); });
    auto result = co_await s.env->upload_files(paths);
    warn_skipped(s, result);
    if (!result.failed.empty())
        throw Error(upload_failure_message(result.failed));
    for (const auto& f : result.uploaded)
        s.uploaded_files.push_back(f.dest_path);
}

awaitable<void> load_skills(SessionState& s, const std::optional<std::filesystem::path>& skills_dir)
{
    const SessionState* parent = parent_state(s);
    if (!skills_dir) {
        if (parent && !parent->skills.empty()) {
            s.skills = parent->skills;
            if (s.env_owned && s.env && parent->env) {
                std::vector<std::string> dirs{"skills"};
                co_await s.env->upload_files_from(*parent->env, dirs);
            }
        }
        co_return;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(*skills_dir, ec))
        throw ConfigError("skills_dir is not a directory: " + skills_dir->string());
    if (s.env) {
        std::vector<std::string> dirs{skills_dir->string()};
        auto result = co_await s.env->upload_files(dirs, std::string("skills"));
        warn_skipped(s, result);
        if (!result.failed.empty())
            throw Error(upload_failure_message(result.failed));
    }
    auto logger = s.logger;
    auto scope = s.scope;
    co_await detail::offload([&] {
        s.skills = load_skills_metadata(*skills_dir,
                                        [&](std::string_view w) { logger->message(scope, LogLevel::warning, w); });
    });
}

/// Stirrup's output step of __aexit__: the last run's finish paths.
awaitable<void> save_outputs(SessionState& s)
{
    if (!s.output_dir || !s.finish || !s.env)
        co_return;
    auto paths = s.finish->paths();
    if (paths.empty())
        co_return;
    const SessionState* parent = parent_state(s);
    if (s.scope.depth == 0) {
        s.output_files = co_await s.env->save_output_files(paths, *s.output_dir);
    } else if (!s.env_owned) {
        s.output_files = co_await s.env->validate_output_files(paths);
    } else if (parent && parent->env) {
        s.output_files = co_await s.env->save_output_files_to(*parent->env, paths, s.output_dir->string());
    } else {
        SaveOutputFilesResult r;
        for (const auto& p : paths)
            r.failed[p] = "No parent execution environment is available for transfer";
        s.output_files = std::move(r);
    }
    for (const auto& [src, reason] : s.output_files->failed)
        s.logger->message(s.scope, LogLevel::warning, "Failed to save output file " + src + ": " + reason);
}

awaitable<void> stop_tools(SessionState& s)
{
    for (auto it = s.started.rbegin(); it != s.started.rend(); ++it) {
        try {
            co_await (*it)->stop();
        } catch (const std::exception& e) {
            s.logger->message(s.scope, LogLevel::warning, std::string("Stopping a tool provider failed: ") + e.what());
        }
    }
    s.started.clear();
    s.env = nullptr;
}

} // namespace

boost::asio::awaitable<std::optional<SaveOutputFilesResult>>
Agent::run_session_erased(SessionOptions options, std::function<boost::asio::awaitable<void>(Session&)> body,
                          const ParentLink* parent) const
{
    auto owned = std::make_unique<detail::SessionState>();
    auto& s = *owned;
    s.config = config_;
    s.logger = config_->options.logger ? config_->options.logger.get() : &detail::null_logger();
    s.scope = LogScope{config_->name, config_->client->model_slug(), config_->options.max_turns,
                       parent ? parent->depth + 1 : 0, detail::next_session_id()};
    if (parent)
        s.parent = *parent;
    s.output_dir = options.output_dir;
    Session session(std::move(owned));

    std::exception_ptr failure;
    bool logged_start = false;
    try {
        co_await start_tools(s);
        co_await upload_inputs(s, options.input_files);
        co_await load_skills(s, options.skills_dir);
        s.logger->session_start(s.scope);
        logged_start = true;
        co_await body(session);
        co_await save_outputs(s);
    } catch (...) {
        failure = std::current_exception();
    }

    // Teardown must run to completion even when the session was cancelled:
    // clear the cancellation so stopping the providers is not aborted too.
    co_await boost::asio::this_coro::reset_cancellation_state();
    if (logged_start) {
        SessionReport report;
        report.finish = &s.finish;
        report.metadata = s.run_metadata ? &*s.run_metadata : nullptr;
        report.output_dir = s.output_dir;
        report.output_files = &s.output_files;
        report.error = failure;
        s.logger->session_end(s.scope, report);
    }
    co_await stop_tools(s);
    if (failure)
        std::rethrow_exception(failure);
    co_return std::move(s.output_files);
}

} // namespace stirrup
