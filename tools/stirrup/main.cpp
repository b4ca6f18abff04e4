// The stirrup command-line tool.

#include <iostream>
#include <string>
#include <vector>

#include "docker_command.hpp"
#include "exec_command.hpp"
#include "local_command.hpp"
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
  docker  stirrup docker reap: remove containers (and their host directories) left by processes that died
  local   stirrup local reap [--temp-dir DIR]: remove local environments (processes, cgroups, temp dirs)
          left by processes that died
)";

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        std::cout << usage;
        return args.empty() ? 1 : 0;
    }
    const std::string command = args.front();
    args.erase(args.begin());
    if (command == "run")
        return stirrup::cli::run_command(args);
    if (command == "exec")
        return stirrup::cli::exec_command(args);
    if (command == "docker")
        return stirrup::cli::docker_command(args);
    if (command == "local")
        return stirrup::cli::local_command(args);
    std::cerr << "stirrup: unknown command '" << command << "'\n" << usage;
    return 1;
}
