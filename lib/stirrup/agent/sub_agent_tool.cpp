// Agent::to_tool: an agent as a tool of a parent agent (Stirrup's sub-agents).

#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/agent/detail/session_state.hpp"
#include "stirrup/core/detail/cancellation.hpp"
#include "stirrup/core/tool_params.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"
#include "stirrup/pycompat/detail/py_repr_json.hpp"

namespace stirrup {

namespace {

struct SubAgentParams {
    std::string task;
    std::vector<std::string> input_files;

    static auto stirrup_params()
    {
        return params<SubAgentParams>(
            "SubAgentParams", "Parameters for sub-agent tool invocation.",
            field(&SubAgentParams::task, "task", "The task/prompt for the sub-agent to complete"),
            field(&SubAgentParams::input_files, "input_files",
                  "List of file paths to upload to the sub-agent's execution environment. Use paths from output_dir "
                  "(e.g., files saved by previous sub-agents).")
                .with_default_factory({}));
    }
};

std::string sub_agent_result_text(const RunResult& run, const std::optional<SaveOutputFilesResult>& files)
{
    std::vector<std::string> parts;
    // The last assistant message that has text, across every history group.
    for (auto g = run.history.rbegin(); g != run.history.rend() && parts.empty(); ++g)
        for (auto m = g->rbegin(); m != g->rend(); ++m)
            if (const auto* a = std::get_if<AssistantMessage>(&*m)) {
                auto text = joined_text(a->blocks);
                if (text && !text->empty()) {
                    parts.push_back(*text);
                    break;
                }
            }
    if (run.finish && !run.finish->params.empty())
        parts.push_back("Finish params: " + detail::py_repr_json(run.finish->params));
    if (files && !files->saved.empty()) {
        std::vector<std::string> available;
        for (const auto& f : files->saved)
            available.push_back(f.output_path);
        parts.push_back("Files available in your environment: " + detail::py_repr_list(available));
    }
    if (files && !files->failed.empty())
        parts.push_back("Files that FAILED to transfer to your environment (referencing them will yield missing or "
                        "wrong data): " +
                        detail::py_repr_dict(files->failed));
    if (parts.empty())
        return "<sub_agent_result>\n<error>No assistant message or finish params found</error>\n</sub_agent_result>";
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i)
        joined += (i ? "\n" : "") + parts[i];
    return "<sub_agent_result>\n<response>" + joined + "</response>\n<finished>" + (run.finished() ? "True" : "False") +
           "</finished>\n</sub_agent_result>";
}

struct SubAgentCall {
    std::shared_ptr<const Agent> agent;
    std::optional<std::string> system_prompt;

    awaitable<ToolResult> operator()(SubAgentParams params, ToolContext& context) const
    {
        const auto* parent = dynamic_cast<const detail::SessionState*>(&context);
        ParentLink link{parent, context.depth()};
        std::vector<ChatMessage> init;
        if (system_prompt)
            init.emplace_back(SystemMessage{*system_prompt});
        init.emplace_back(UserMessage{params.task});

        SessionOptions options;
        options.output_dir = ".";
        options.input_files = params.input_files;
        std::optional<RunResult> run;
        std::optional<SaveOutputFilesResult> files;
        std::exception_ptr failure;
        try {
            files = co_await agent->run_session_erased(
                std::move(options),
                [&run, &init](Session& s) -> awaitable<void> { run = co_await s.run(std::move(init)); }, &link);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            auto cs = co_await boost::asio::this_coro::cancellation_state;
            const std::string what = detail::tool_failure_text(failure, cs.cancelled());
            ToolMetadata md;
            md.sub_agent = std::make_shared<SubAgentMetadata>();
            co_return ToolResult{"<sub_agent_result>\n<error>" + what + "</error>\n</sub_agent_result>", false,
                                 std::move(md)};
        }
        ToolMetadata md;
        std::string text = sub_agent_result_text(*run, files);
        md.sub_agent = std::make_shared<SubAgentMetadata>(SubAgentMetadata{run->history, run->metadata});
        co_return ToolResult{std::move(text), true, std::move(md)};
    }
};

} // namespace

Tool Agent::to_tool(SubAgentToolOptions options) const
{
    auto self = std::make_shared<const Agent>(*this);
    Tool tool = make_tool<SubAgentParams>(name(), std::move(options.description),
                                          SubAgentCall{self, std::move(options.system_prompt)});
    tool.sub_agent = std::move(self);
    return tool;
}

} // namespace stirrup
