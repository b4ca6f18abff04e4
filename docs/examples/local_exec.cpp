// Run commands in a local execution environment from a coroutine, save an
// output file, and always stop the provider (see docs/local-backend.md).

#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "stirrup/exec/code_exec_tool.hpp"
#include "stirrup/exec/local/local.hpp"

boost::asio::awaitable<void> analyse()
{
    stirrup::LocalCodeExecOptions options;
    options.shell_timeout = std::chrono::seconds(30);
    stirrup::LocalCodeExec env(options);
    co_await env.start();
    std::exception_ptr failure;
    try {
        co_await env.write_file("data.csv", "x,y\n1,2\n3,4\n");
        // The tool-result text the model would see (<shell_results> XML).
        std::string cmd =
            "mkdir -p out && awk -F, 'NR>1 {s+=$2} END {print s}' data.csv > out/sum.txt && cat out/sum.txt";
        std::cout << co_await stirrup::run_code_exec_tool(env, std::move(cmd)) << '\n';
        std::vector<std::string> outputs{"out/sum.txt"};
        auto saved = co_await env.save_output_files(outputs, "./example-output");
        for (const auto& f : saved.saved)
            std::cout << "saved " << f.source_path << " -> " << f.output_path << '\n';
    } catch (...) {
        failure = std::current_exception();
    }
    co_await env.stop(); // always: kills what the commands left running, removes the temp dir
    if (failure)
        std::rethrow_exception(failure);
}

int main()
{
    boost::asio::io_context io;
    boost::asio::co_spawn(io, analyse(), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
    io.run();
}
