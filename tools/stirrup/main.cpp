// The stirrup command-line tool.

#include <iostream>
#include <string>
#include <vector>

#include "backends/backend.hpp"
#include "exec_command.hpp"
#include "run_command.hpp"

namespace {

constexpr const char* usage = R"(usage: stirrup <command> [options]

commands:
  run     run an agent on a task: the model writes and runs code until it calls finish
          stirrup run [options] TASK      (stirrup run --help lists the options;
                                           --demo: an offline scripted model, no API key)
  exec    run shell commands in an execution environment, as the code_exec tool does
          stirrup exec [--backend local|docker (--image NAME | --dockerfile PATH)] [--allow REGEX]...
                       [--input PATH]... [--output DIR] [--save PATH]... [--json] -- CMD [CMD...]
                                          (stirrup exec --help lists the options)
)";

/// The usage text, with each backend's commands (`stirrup docker reap`, ...).
std::string full_usage()
{
    std::string text = usage;
    for (const stirrup::cli::Backend* b : stirrup::cli::backends())
        text += b->command_usage;
    return text;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        std::cout << full_usage();
        return args.empty() ? 1 : 0;
    }
    const std::string command = args.front();
    args.erase(args.begin());
    if (command == "run")
        return stirrup::cli::run_command(args);
    if (command == "exec")
        return stirrup::cli::exec_command(args);
    for (const stirrup::cli::Backend* b : stirrup::cli::backends())
        if (b->command && b->name == command)
            return b->command(args);
    std::cerr << "stirrup: unknown command '" << command << "'\n" << full_usage();
    return 1;
}
