// Run an agent with a local code-execution environment, then a timeout
// around the whole session (see docs/agent.md).
// Reads OPENAI_BASE_URL / OPENROUTER_API_KEY / OPENAI_API_KEY and STIRRUP_MODEL.
//
//   OPENAI_API_KEY=sk-... build/docs/examples/example_agent_run "Write primes.txt with the primes below 100"

#include <cstdlib>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/agent/console_logger.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/llm/chat_completions_client.hpp"

using namespace boost::asio::experimental::awaitable_operators;

boost::asio::awaitable<int> solve(std::string task)
{
    stirrup::ChatCompletionsOptions chat;
    const char* model = std::getenv("STIRRUP_MODEL");
    chat.model = model ? model : "gpt-5-mini";
    chat.context_window_tokens = 128'000;
    chat.max_tokens = 16'000;
    auto client = std::make_shared<stirrup::ChatCompletionsClient>(co_await boost::asio::this_coro::executor, chat);

    stirrup::AgentOptions options;
    options.tools = std::vector<stirrup::ToolSource>{stirrup::local_code_exec()};
    options.max_turns = 15;
    options.logger = std::make_shared<stirrup::ConsoleLogger>();
    stirrup::Agent agent(client, "example", options);

    stirrup::SessionOptions session;
    session.output_dir = "output";

    // The session is cancelled if it takes longer than ten minutes: the
    // running command is killed and the environment removed either way.
    boost::asio::steady_timer deadline(co_await boost::asio::this_coro::executor, std::chrono::minutes(10));
    auto outcome = co_await (agent.run(std::move(task), session) || deadline.async_wait(boost::asio::use_awaitable));
    if (outcome.index() == 1) {
        std::cerr << "timed out\n";
        co_return 1;
    }
    const auto& result = std::get<0>(outcome);
    if (result.output_files)
        for (const auto& f : result.output_files->saved)
            std::cout << "saved " << f.output_path << " (" << f.size << " bytes)\n";
    co_return result.value.finished() ? 0 : 2;
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " TASK\n";
        return 1;
    }
    boost::asio::io_context io;
    int status = 1;
    boost::asio::co_spawn(io, solve(argv[1]), [&](std::exception_ptr e, int code) {
        if (!e) {
            status = code;
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::cerr << "error: " << ex.what() << '\n';
        }
    });
    io.run();
    return status;
}
