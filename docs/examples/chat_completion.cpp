// Ask an OpenAI-compatible model one question (see docs/chat-client.md).
// Reads OPENAI_BASE_URL / OPENROUTER_API_KEY / OPENAI_API_KEY and STIRRUP_MODEL.
//
//   OPENAI_API_KEY=sk-... STIRRUP_MODEL=gpt-5-mini build/docs/examples/example_chat_completion "What is 6*7?"

#include <cstdlib>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "stirrup/llm/chat_completions_client.hpp"
#include "stirrup/llm/errors.hpp"

boost::asio::awaitable<void> ask(std::string question)
{
    stirrup::ChatCompletionsOptions options;
    const char* model = std::getenv("STIRRUP_MODEL");
    options.model = model ? model : "gpt-5-mini";
    options.context_window_tokens = 128'000;
    options.max_tokens = 4'000;
    stirrup::ChatCompletionsClient client(co_await boost::asio::this_coro::executor, options);

    std::vector<stirrup::ChatMessage> messages{stirrup::SystemMessage{std::string("Answer in one sentence.")},
                                               stirrup::UserMessage{std::move(question)}};
    std::vector<stirrup::ToolDefinition> tools;
    stirrup::AssistantMessage reply = co_await client.generate(messages, tools);
    std::cout << stirrup::joined_text(reply.blocks).value_or("(no text)") << '\n'
              << "tokens: " << reply.token_usage.input << " in, " << reply.token_usage.output() << " out\n";
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " QUESTION\n";
        return 1;
    }
    boost::asio::io_context io;
    int status = 0;
    boost::asio::co_spawn(io, ask(argv[1]), [&](std::exception_ptr e) {
        if (!e)
            return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::cerr << "error: " << ex.what() << '\n';
            status = 1;
        }
    });
    io.run();
    return status;
}
