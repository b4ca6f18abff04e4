#include "stirrup/exec/code_exec_tool_provider.hpp"

#include <boost/asio/this_coro.hpp>

#include "stirrup/core/tool_params.hpp"
#include "stirrup/exec/code_exec_tool.hpp"

namespace stirrup {

namespace {

struct StartedEnvironment final : StartedTools {
    std::unique_ptr<CodeExecProvider> env;

    CodeExecProvider* exec_env() override { return env.get(); }
    awaitable<void> stop() override { co_await env->stop(); }
};

// A named callable rather than a capturing coroutine lambda (GCC 12 destroys
// the captures of those twice).
struct RunCommand {
    CodeExecProvider* env;

    awaitable<ToolResult> operator()(boost::json::object arguments, ToolContext&) const
    {
        std::string cmd(arguments.at("cmd").as_string());
        // Stirrup reports every command outcome as a successful tool call:
        // the exit code and error kind are in the text.
        std::string text = co_await run_code_exec_tool(*env, std::move(cmd));
        co_return ToolResult{std::move(text), true, ToolMetadata::use_count(1)};
    }
};

} // namespace

CodeExecToolProvider::CodeExecToolProvider(std::string name, Factory factory, CodeExecToolOptions options)
    : name_(std::move(name)), factory_(std::move(factory)), options_(std::move(options))
{
}

awaitable<std::unique_ptr<StartedTools>> CodeExecToolProvider::start(CodeExecProvider*) const
{
    auto started = std::make_unique<StartedEnvironment>();
    started->env = factory_();
    // A failed start leaves nothing behind: the provider cleans up its own
    // partial state, and stop() on an unstarted provider is a no-op.
    co_await started->env->start();
    started->tools.push_back(make_code_exec_tool(*started->env, options_));
    co_return started;
}

Tool make_code_exec_tool(CodeExecProvider& env, CodeExecToolOptions options)
{
    Tool tool;
    tool.name = std::move(options.tool_name);
    tool.description = options.description ? std::move(*options.description) : env.code_exec_description();
    tool.parameters_schema = std::string(code_exec_parameters_schema());
    tool.parse_arguments = [](const boost::json::value& arguments) {
        if (!arguments.is_object())
            throw InvalidToolArguments("Input should be an object");
        auto it = arguments.get_object().find("cmd");
        if (it == arguments.get_object().end())
            throw InvalidToolArguments("Field required: cmd");
        return boost::json::object{{"cmd", detail::lax_string(it->value())}};
    };
    tool.execute = RunCommand{&env};
    return tool;
}

} // namespace stirrup
