// --backend local (the default), and `stirrup local reap`.

#include <filesystem>
#include <iostream>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "../backend_args.hpp"
#include "../cli_args.hpp"
#include "stirrup/exec/local/local.hpp"

namespace stirrup::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr const char* local_command_usage =
    R"(  local   stirrup local reap [--temp-dir DIR]: remove local environments (processes, cgroups, temp dirs)
          left by processes that died
)";

constexpr const char* local_usage = R"(usage: stirrup local reap [--temp-dir DIR] [--json]

Cleans up after local environments (stirrup exec and stirrup run with the
local backend, or any program using the library) whose owner process on
this host no longer runs: killed, crashed, or exited without stopping its
sessions. For each one it kills the processes left in the environment's
cgroup (or, without a cgroup, working in its directory) and removes the
cgroup and the directory. Environments of live processes are left alone.

  --temp-dir DIR   where the environments were made (--temp-base-dir of
                   stirrup exec and run; default: the system temp dir)
  --json           print {"removed": [...], "cgroups": [...], "killed": N,
                   "errors": [...]}

Prints the directories removed, one per line. Exits 1 when something could
not be removed.
)";

/// The local backend has no options of its own.
class LocalOptions final : public BackendOptions {
public:
    bool parse_flag(const std::vector<std::string>&, std::size_t&) override { return false; }
    bool any() const override { return false; }

    void check(const BackendArgs& a) const override
    {
        if (!a.env_vars.empty())
            throw UsageError("--env needs --backend docker or e2b (local commands see this environment)");
    }

    std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a) const override
    {
        return LocalCodeExec::make(options(a));
    }

    std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a) const override
    {
        return local_code_exec(options(a));
    }

private:
    static LocalCodeExecOptions options(const BackendArgs& a)
    {
        LocalCodeExecOptions o;
        apply_common(a, o);
        if (a.temp_base_dir)
            o.temp_base_dir = *a.temp_base_dir;
        return o;
    }
};

int local_command(const std::vector<std::string>& args)
{
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << local_usage;
        return 0;
    }
    if (args.empty() || args[0] != "reap") {
        std::cerr << "stirrup local: expected the subcommand 'reap'\n" << local_usage;
        return 1;
    }
    bool as_json = false;
    std::optional<std::filesystem::path> temp_dir;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--json") {
            as_json = true;
            continue;
        }
        if (args[i] == "--temp-dir" && i + 1 < args.size()) {
            temp_dir = args[++i];
            continue;
        }
        if (args[i] == "-h" || args[i] == "--help") {
            std::cout << local_usage;
            return 0;
        }
        std::cerr << "stirrup local reap: "
                  << (args[i] == "--temp-dir" ? "--temp-dir needs a directory" : "unknown option '" + args[i] + "'")
                  << '\n';
        return 1;
    }

    asio::io_context io;
    int status = 1;
    asio::co_spawn(io, reap_local_orphans(temp_dir), [&](std::exception_ptr e, LocalReapResult result) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << "stirrup local reap: " << ex.what() << '\n';
            }
            return;
        }
        status = result.errors.empty() ? 0 : 1;
        if (as_json) {
            json::array removed, cgroups;
            for (const auto& d : result.removed)
                removed.emplace_back(d.string());
            for (const auto& c : result.cgroups)
                cgroups.emplace_back(c.string());
            json::array errors(result.errors.begin(), result.errors.end());
            std::cout << json::serialize(json::object{{"removed", std::move(removed)},
                                                      {"cgroups", std::move(cgroups)},
                                                      {"killed", result.killed},
                                                      {"errors", std::move(errors)}})
                      << '\n';
            return;
        }
        for (const auto& d : result.removed)
            std::cout << d.string() << '\n';
        for (const auto& error : result.errors)
            std::cerr << "stirrup local reap: could not remove " << error << '\n';
        std::cerr << "stirrup local reap: removed " << result.removed.size() << " environment"
                  << (result.removed.size() == 1 ? "" : "s") << " and " << result.cgroups.size() << " cgroup"
                  << (result.cgroups.size() == 1 ? "" : "s") << "; killed " << result.killed << " process"
                  << (result.killed == 1 ? "" : "es") << '\n';
    });
    io.run();
    return status;
}

} // namespace

extern const Backend local_backend{
    .name = "local",
    .summary = "local (a temp dir on this host, the default)",
    .usage = "",
    .misplaced_error = "",
    .options = []() -> std::unique_ptr<BackendOptions> { return std::make_unique<LocalOptions>(); },
    .command = local_command,
    .command_usage = local_command_usage,
};

} // namespace stirrup::cli
