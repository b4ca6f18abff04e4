// --backend docker, and `stirrup docker reap`.

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "../backend_args.hpp"
#include "../cli_args.hpp"
#include "stirrup/exec/docker/docker.hpp"

namespace stirrup::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr const char* docker_options_usage =
    R"(docker (the engine from DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; else the local socket):
  --image NAME          run this image (pulled when missing)
  --dockerfile PATH     or build this Dockerfile when the environment starts
  --context DIR         its build context (the Dockerfile's directory)
  --build-arg K=V       a build argument (repeatable)
  --env NAME            forward this variable from the environment or ./.env (repeatable)
  --network MODE        none (the default), bridge, host or a network name
  --memory SIZE         memory limit, e.g. 512m or 2g
  --cpus N              CPU limit, e.g. 1.5
  --pids N              most processes at once
  --user USER           uid[:gid] or a user of the image
  --file-mode MODE      bind (a host dir mounted at /workspace) or archive (files
                        through the engine, for remote engines); default: bind
                        for a local engine
)";

constexpr const char* docker_command_usage =
    "  docker  stirrup docker reap: remove containers (and their host directories) left by processes that died\n";

constexpr const char* docker_usage = R"(usage: stirrup docker reap [--json]

Removes the containers stirrup created for processes on this host that no
longer run (killed, crashed, or exited without stopping their sessions), and
their host directories (the docker_exec_env_* workspace a local engine
bind-mounts). Containers of live processes, and of other hosts, are left
alone. Prints the IDs removed (--json: {"removed": [...], "directories":
[...], "errors": [...]}). The engine is the one of DOCKER_HOST,
DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, else the local socket.
)";

class DockerOptions final : public BackendOptions {
public:
    bool parse_flag(const std::vector<std::string>& args, std::size_t& i) override
    {
        const std::string& arg = args[i];
        if (arg == "--image")
            image_ = flag_value(args, i);
        else if (arg == "--dockerfile")
            dockerfile_ = flag_value(args, i);
        else if (arg == "--context")
            context_ = flag_value(args, i);
        else if (arg == "--build-arg") {
            const std::string& kv = flag_value(args, i);
            const auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0)
                throw UsageError("--build-arg needs KEY=VALUE, got '" + kv + "'");
            build_args_[kv.substr(0, eq)] = kv.substr(eq + 1);
        } else if (arg == "--network")
            network_ = flag_value(args, i);
        else if (arg == "--memory")
            memory_bytes_ = parse_bytes(arg, flag_value(args, i));
        else if (arg == "--cpus")
            cpus_ = parse_positive_number(arg, flag_value(args, i));
        else if (arg == "--pids")
            pids_limit_ = parse_positive(arg, flag_value(args, i));
        else if (arg == "--user")
            user_ = flag_value(args, i);
        else if (arg == "--file-mode") {
            file_mode_ = flag_value(args, i);
            if (*file_mode_ != "bind" && *file_mode_ != "archive")
                throw UsageError("--file-mode is bind or archive, got '" + *file_mode_ + "'");
        } else
            return false;
        return true;
    }

    bool any() const override
    {
        return image_ || dockerfile_ || context_ || !build_args_.empty() || network_ || memory_bytes_ || cpus_ ||
               pids_limit_ || user_ || file_mode_;
    }

    void check(const BackendArgs&) const override
    {
        if (image_.has_value() == dockerfile_.has_value())
            throw UsageError("--backend docker needs exactly one of --image NAME and --dockerfile PATH");
        if (context_ && !dockerfile_)
            throw UsageError("--context goes with --dockerfile");
        if (!build_args_.empty() && !dockerfile_)
            throw UsageError("--build-arg goes with --dockerfile");
    }

    std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a) const override
    {
        if (dockerfile_)
            return DockerCodeExec::from_dockerfile(*dockerfile_, context(), build_args_, options(a));
        return DockerCodeExec::from_image(*image_, options(a));
    }

    std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a) const override
    {
        if (dockerfile_)
            return docker_code_exec_from_dockerfile(*dockerfile_, context(), build_args_, options(a));
        return docker_code_exec(*image_, options(a));
    }

private:
    std::optional<std::filesystem::path> context() const
    {
        std::optional<std::filesystem::path> context;
        if (context_)
            context = *context_;
        return context;
    }

    DockerCodeExecOptions options(const BackendArgs& a) const
    {
        DockerCodeExecOptions o;
        apply_common(a, o);
        if (a.temp_base_dir)
            o.temp_base_dir = *a.temp_base_dir;
        o.env_vars = a.env_vars;
        if (network_)
            o.network_mode = *network_;
        o.memory_bytes = memory_bytes_;
        o.cpus = cpus_;
        o.pids_limit = pids_limit_;
        if (user_)
            o.user = *user_;
        if (file_mode_)
            o.file_mode = *file_mode_ == "bind" ? DockerFileMode::bind_mount : DockerFileMode::archive;
        return o;
    }

    std::optional<std::string> image_;
    std::optional<std::string> dockerfile_;
    std::optional<std::string> context_;
    std::map<std::string, std::string> build_args_;
    std::optional<std::string> network_;
    std::optional<std::int64_t> memory_bytes_;
    std::optional<double> cpus_;
    std::optional<std::int64_t> pids_limit_;
    std::optional<std::string> user_;
    std::optional<std::string> file_mode_;
};

awaitable<DockerReapResult> reap(asio::any_io_executor ex)
{
    auto client = docker::client_from_env(ex);
    co_return co_await reap_orphans_with_directories(*client);
}

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
            std::cout << json::serialize(json::object{{"removed", std::move(ids)},
                                                      {"directories", std::move(dirs)},
                                                      {"errors", std::move(errors)}})
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

} // namespace

extern const Backend docker_backend{
    .name = "docker",
    .summary = "docker",
    .usage = docker_options_usage,
    .misplaced_error = "--image, --dockerfile and the other docker options need --backend docker",
    .options = []() -> std::unique_ptr<BackendOptions> { return std::make_unique<DockerOptions>(); },
    .command = docker_command,
    .command_usage = docker_command_usage,
};

} // namespace stirrup::cli
