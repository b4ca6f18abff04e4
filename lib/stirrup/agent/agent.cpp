#include "stirrup/agent/agent.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <regex>

#include "stirrup/agent/detail/session_state.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"
#include "stirrup/tools/finish_tool.hpp"

namespace stirrup {

namespace {

bool valid_agent_name(const std::string& name)
{
    if (name.empty() || name.size() > 128)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::shared_ptr<const detail::AgentConfig> make_config(std::shared_ptr<LlmClient> client, std::string name,
                                                       AgentOptions options)
{
    auto cfg = std::make_shared<detail::AgentConfig>();
    if (!valid_agent_name(name))
        throw ConfigError("Invalid agent name '" + name +
                          "'. Agent names must match pattern '^[a-zA-Z0-9_-]{1,128}$' (alphanumeric, underscores, "
                          "hyphens only, 1-128 characters).");
    if (!client)
        throw ConfigError("Agent '" + name + "' needs an LLM client");
    if (client->context_window_tokens() == 0)
        throw ConfigError("client.context_window_tokens must be a positive int, got 0 (int)");
    if (options.max_turns <= 0)
        throw ConfigError("max_turns must be positive, got " + std::to_string(options.max_turns));
    if (!(options.context_summarization_cutoff > 0))
        throw ConfigError("context_summarization_cutoff must be positive");

    if (!options.tools)
        options.tools = std::vector<ToolSource>{local_code_exec()};
    if (!options.finish_tools)
        options.finish_tools = std::vector<Tool>{default_finish_tool()};
    if (options.finish_tools->empty())
        throw ConfigError("finish_tool list cannot be empty");

    std::map<std::string, int> counts;
    for (const auto& t : *options.finish_tools) {
        ++counts[t.name];
        cfg->finish_names.insert(t.name);
    }
    std::vector<std::string> dups;
    for (const auto& [n, c] : counts)
        if (c > 1)
            dups.push_back(n);
    if (!dups.empty())
        throw ConfigError("Finish tools must have unique names, found duplicates: " + detail::py_repr_list(dups));

    std::vector<std::string> code_exec_names;
    for (const auto& source : *options.tools) {
        if (const auto* tool = std::get_if<Tool>(&source)) {
            if (cfg->finish_names.count(tool->name))
                throw ConfigError("Tool name '" + tool->name +
                                  "' in `tools` collides with a finish tool. Tool names must be unique across "
                                  "`tools` and `finish_tool`.");
            cfg->static_tools.push_back(*tool);
        } else {
            const auto& provider = std::get<std::shared_ptr<ToolProvider>>(source);
            if (!provider)
                throw ConfigError("Agent '" + name + "' has a null tool provider");
            if (provider->provides_code_exec())
                code_exec_names.push_back(provider->name());
            cfg->providers.push_back(provider);
        }
    }
    if (code_exec_names.size() > 1)
        throw ConfigError("Agent can only have one CodeExecToolProvider, found " +
                          std::to_string(code_exec_names.size()) + ": " + detail::py_repr_list(code_exec_names));
    // The code-exec provider starts first so the others can use its environment.
    std::stable_partition(cfg->providers.begin(), cfg->providers.end(),
                          [](const auto& p) { return p->provides_code_exec(); });

    const bool has_code_exec = !code_exec_names.empty();
    for (const auto& tool : cfg->static_tools)
        if (tool.sub_agent && tool.sub_agent->has_code_exec() && !has_code_exec)
            throw ConfigError("Subagent '" + tool.sub_agent->name() +
                              "' has a code execution tool, but parent agent '" + name +
                              "' does not. Parent must have a code execution tool to receive files from subagent.");

    cfg->finish_tools = *options.finish_tools;
    cfg->client = std::move(client);
    cfg->name = std::move(name);
    cfg->options = std::move(options);
    return cfg;
}

} // namespace

Agent::Agent(std::shared_ptr<LlmClient> client, std::string name, AgentOptions options)
    : config_(make_config(std::move(client), std::move(name), std::move(options)))
{
}

const std::string& Agent::name() const
{
    return config_->name;
}
const std::shared_ptr<LlmClient>& Agent::client() const
{
    return config_->client;
}
const AgentOptions& Agent::options() const
{
    return config_->options;
}
const std::vector<Tool>& Agent::finish_tools() const
{
    return config_->finish_tools;
}

bool Agent::has_code_exec() const
{
    return std::any_of(config_->providers.begin(), config_->providers.end(),
                       [](const auto& p) { return p->provides_code_exec(); });
}

boost::asio::awaitable<SessionResult<RunResult>> Agent::run(std::string task, SessionOptions options) const
{
    std::optional<RunResult> result;
    auto files = co_await run_session_erased(
        std::move(options), [&task, &result](Session& s) -> awaitable<void> { result = co_await s.run(task); });
    co_return SessionResult<RunResult>{std::move(*result), std::move(files)};
}

namespace detail {

AgentLogger& null_logger()
{
    static AgentLogger logger;
    return logger;
}

std::uint64_t next_session_id()
{
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

} // namespace detail
} // namespace stirrup
