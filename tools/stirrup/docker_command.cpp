#include "docker_command.hpp"

#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/docker/detail/client.hpp"

namespace stirrup::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr const char* docker_usage = R"(usage: stirrup docker reap [--json]

Removes the containers stirrup created for processes on this host that no
longer run (killed, crashed, or exited without stopping their sessions), and
their host directories (the docker_exec_env_* workspace a local engine
bind-mounts). Containers of live processes, and of other hosts, are left
alone. Prints the IDs removed (--json: {"removed": [...], "directories":
[...], "errors": [...]}). The engine is the one of DOCKER_HOST,
DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, else the local socket.
)";

awaitable<DockerReapResult> reap(asio::any_io_executor ex)
{
    auto client = docker::Client::from_env(ex);
    co_return co_await reap_orphans_with_directories(*client);
}

} // namespace

int docker_command(const std::vector<std::string>& args)
{
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << docker_usage;
        return 0;
    }
    bool as_json = false;
    if (args.empty() || args[0] != "reap") {
        std::cerr << "stirrup docker: expected the subcommand 'reap'\n" << docker_usage;
        return 1;
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--json") {
            as_json = true;
            continue;
        }
        std::cerr << "stirrup docker reap: unknown option '" << args[i] << "'\n";
        return 1;
    }

    asio::io_context io;
    int status = 1;
    asio::co_spawn(io, reap(io.get_executor()), [&](std::exception_ptr e, DockerReapResult result) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << "stirrup docker reap: " << ex.what() << '\n';
            }
            return;
        }
        // Something left behind is a failure a cron job should see.
        status = result.errors.empty() ? 0 : 1;
        const auto& removed = result.removed;
        if (as_json) {
            json::array ids(removed.begin(), removed.end());
            json::array dirs;
            for (const auto& d : result.directories)
                dirs.emplace_back(d.string());
            json::array errors(result.errors.begin(), result.errors.end());
            std::cout << json::serialize(json::object{
                             {"removed", std::move(ids)}, {"directories", std::move(dirs)}, {"errors", std::move(errors)}})
                      << '\n';
            return;
        }
        for (const auto& id : removed)
            std::cout << id << '\n';
        for (const auto& error : result.errors)
            std::cerr << "stirrup docker reap: could not remove " << error << '\n';
        std::cerr << "stirrup docker reap: removed " << removed.size() << " container"
                  << (removed.size() == 1 ? "" : "s") << " and " << result.directories.size() << " host director"
                  << (result.directories.size() == 1 ? "y" : "ies") << '\n';
    });
    io.run();
    return status;
}

} // namespace stirrup::cli
