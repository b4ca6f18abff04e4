// An agent with the tools of MCP servers (see docs/mcp.md): the servers of
// mcp.json start when the session starts and stop when it ends; their tools
// are offered to the model as SERVER__TOOL.
// Reads OPENAI_BASE_URL / OPENROUTER_API_KEY / OPENAI_API_KEY and STIRRUP_MODEL.
//
//   build/docs/examples/example_mcp_tools mcp.json "List the files in /tmp with the filesystem server"

#include <cstdlib>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/agent/console_logger.hpp"
#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/tools/mcp/mcp_tool_provider.hpp"

boost::asio::awaitable<int> solve(std::string config, std::string task)
{
    auto ex = co_await boost::asio::this_coro::executor;
    stirrup::ChatCompletionsOptions chat;
    const char* model = std::getenv("STIRRUP_MODEL");
    chat.model = model ? model : "gpt-5-mini";
    chat.context_window_tokens = 128'000;
    chat.max_tokens = 16'000;
    auto client = std::make_shared<stirrup::ChatCompletionsClient>(ex, chat);

    // Server-wide messages (a server's log, its stderr) go to this callback.
    stirrup::McpOptions mcp_options;
    mcp_options.log = [](stirrup::LogLevel level, std::string_view server, std::string_view text) {
        if (level >= stirrup::LogLevel::warning)
            std::cerr << "mcp " << server << ": " << text << '\n';
    };
    auto mcp = stirrup::McpToolProvider::from_config(ex, config, {}, mcp_options);

    stirrup::AgentOptions options;
    options.tools = std::vector<stirrup::ToolSource>{mcp};
    options.max_turns = 15;
    options.logger = std::make_shared<stirrup::ConsoleLogger>();
    stirrup::Agent agent(client, "mcp-example", options);

    auto result = co_await agent.run(std::move(task));
    co_return result.value.finished() ? 0 : 2;
}

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::cerr << "usage: " << argv[0] << " MCP_JSON TASK\n";
        return 1;
    }
    boost::asio::io_context io;
    int status = 1;
    boost::asio::co_spawn(io, solve(argv[1], argv[2]), [&](std::exception_ptr e, int s) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << "error: " << ex.what() << '\n';
            }
            return;
        }
        status = s;
    });
    io.run();
    return status;
}
