#include "backend_args.hpp"

#include "cli_args.hpp"
#include <cstdlib>

#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/exec/local/local.hpp"

namespace stirrup::cli {

const char* const backend_usage = R"(execution environment:
  --backend NAME        local (a temp dir on this host, the default), docker or e2b
  --allow REGEX         allow only matching commands (repeatable; run without a shell)
  --shell-timeout S     per-command timeout in seconds (300)
  --temp-base-dir DIR   where the environment's host temp dir is made (system temp dir)
  --max-file-size SIZE  largest file saved or read out of the environment (1g)
  --max-output-size SIZE  all files saved out of one environment (4g)
docker (the engine from DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; else the local socket):
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
e2b (E2B_API_KEY; E2B_API_URL or E2B_DOMAIN; E2B_SANDBOX_URL; SSL_CERT_FILE for a private CA):
  --template NAME       the sandbox template (base)
  --lifetime S          seconds the sandbox may live (600)
  --env NAME            (also for e2b) set this variable in the sandbox from the environment
)";

namespace {

const std::string& value_of(const std::vector<std::string>& args, std::size_t& i)
{
    if (i + 1 >= args.size())
        throw UsageError(args[i] + " needs a value");
    return args[++i];
}

bool is_docker_flag(const BackendArgs& a)
{
    return a.image || a.dockerfile || a.context || !a.build_args.empty() || a.network || a.memory_bytes || a.cpus ||
           a.pids_limit || a.user || a.file_mode;
}

bool is_e2b_flag(const BackendArgs& a) { return a.template_id || a.lifetime; }

void apply_common(const BackendArgs& a, CodeExecOptions& o)
{
    o.allowed_commands = a.allow;
    if (a.shell_timeout)
        o.shell_timeout = *a.shell_timeout;
    if (a.max_file_bytes)
        o.transfer_limits.max_file_bytes = *a.max_file_bytes;
    if (a.max_output_bytes)
        o.transfer_limits.max_session_bytes = *a.max_output_bytes;
}

LocalCodeExecOptions local_options(const BackendArgs& a)
{
    LocalCodeExecOptions o;
    apply_common(a, o);
    if (a.temp_base_dir)
        o.temp_base_dir = *a.temp_base_dir;
    return o;
}

DockerCodeExecOptions docker_options(const BackendArgs& a)
{
    DockerCodeExecOptions o;
    apply_common(a, o);
    if (a.temp_base_dir)
        o.temp_base_dir = *a.temp_base_dir;
    o.env_vars = a.env_vars;
    if (a.network)
        o.network_mode = *a.network;
    o.memory_bytes = a.memory_bytes;
    o.cpus = a.cpus;
    o.pids_limit = a.pids_limit;
    if (a.user)
        o.user = *a.user;
    if (a.file_mode)
        o.file_mode = *a.file_mode == "bind" ? DockerFileMode::bind_mount : DockerFileMode::archive;
    return o;
}

E2BCodeExecOptions e2b_options(const BackendArgs& a)
{
    E2BCodeExecOptions o;
    apply_common(a, o);
    if (a.template_id)
        o.template_id = *a.template_id;
    if (a.lifetime)
        o.lifetime = *a.lifetime;
    // Values are read here, by name, like Docker's forwarding; E2B takes them
    // in the create request.
    for (const auto& name : a.env_vars)
        if (const char* v = std::getenv(name.c_str()))
            o.env_vars[name] = v;
    return o;
}

} // namespace

bool parse_backend_flag(const std::vector<std::string>& args, std::size_t& i, BackendArgs& a)
{
    const std::string& arg = args[i];
    if (arg == "--backend")
        a.backend = value_of(args, i);
    else if (arg == "--allow")
        a.allow.push_back(value_of(args, i));
    else if (arg == "--shell-timeout")
        a.shell_timeout = parse_seconds(arg, value_of(args, i));
    else if (arg == "--temp-base-dir")
        a.temp_base_dir = value_of(args, i);
    else if (arg == "--max-file-size")
        a.max_file_bytes = static_cast<std::uint64_t>(parse_bytes(arg, value_of(args, i)));
    else if (arg == "--max-output-size")
        a.max_output_bytes = static_cast<std::uint64_t>(parse_bytes(arg, value_of(args, i)));
    else if (arg == "--image")
        a.image = value_of(args, i);
    else if (arg == "--dockerfile")
        a.dockerfile = value_of(args, i);
    else if (arg == "--context")
        a.context = value_of(args, i);
    else if (arg == "--build-arg") {
        const std::string& kv = value_of(args, i);
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--build-arg needs KEY=VALUE, got '" + kv + "'");
        a.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (arg == "--env")
        a.env_vars.push_back(value_of(args, i));
    else if (arg == "--network")
        a.network = value_of(args, i);
    else if (arg == "--memory")
        a.memory_bytes = parse_bytes(arg, value_of(args, i));
    else if (arg == "--cpus")
        a.cpus = parse_positive_number(arg, value_of(args, i));
    else if (arg == "--pids")
        a.pids_limit = parse_positive(arg, value_of(args, i));
    else if (arg == "--user")
        a.user = value_of(args, i);
    else if (arg == "--template")
        a.template_id = value_of(args, i);
    else if (arg == "--lifetime")
        a.lifetime = parse_seconds(arg, value_of(args, i));
    else if (arg == "--file-mode") {
        a.file_mode = value_of(args, i);
        if (*a.file_mode != "bind" && *a.file_mode != "archive")
            throw UsageError("--file-mode is bind or archive, got '" + *a.file_mode + "'");
    } else
        return false;
    return true;
}

void check_backend_args(const BackendArgs& a)
{
    if (a.backend != "docker" && is_docker_flag(a))
        throw UsageError("--image, --dockerfile and the other docker options need --backend docker");
    if (a.backend != "e2b" && is_e2b_flag(a))
        throw UsageError("--template and --lifetime need --backend e2b");
    if (a.backend == "local") {
        if (!a.env_vars.empty())
            throw UsageError("--env needs --backend docker or e2b (local commands see this environment)");
        return;
    }
    if (a.backend == "docker") {
        if (a.image.has_value() == a.dockerfile.has_value())
            throw UsageError("--backend docker needs exactly one of --image NAME and --dockerfile PATH");
        if (a.context && !a.dockerfile)
            throw UsageError("--context goes with --dockerfile");
        if (!a.build_args.empty() && !a.dockerfile)
            throw UsageError("--build-arg goes with --dockerfile");
        return;
    }
    if (a.backend == "e2b") {
        if (a.temp_base_dir)
            throw UsageError("--temp-base-dir has no effect with --backend e2b (files live in the sandbox)");
        return;
    }
    throw UsageError("unknown backend '" + a.backend + "' (local, docker or e2b)");
}

std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a)
{
    if (a.backend == "docker") {
        if (a.dockerfile) {
            std::optional<std::filesystem::path> context;
            if (a.context)
                context = *a.context;
            return DockerCodeExec::from_dockerfile(*a.dockerfile, context, a.build_args, docker_options(a));
        }
        return DockerCodeExec::from_image(*a.image, docker_options(a));
    }
    if (a.backend == "e2b")
        return E2BCodeExec::make(e2b_options(a));
    return LocalCodeExec::make(local_options(a));
}

std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a)
{
    if (a.backend == "docker") {
        if (a.dockerfile) {
            std::optional<std::filesystem::path> context;
            if (a.context)
                context = *a.context;
            return docker_code_exec_from_dockerfile(*a.dockerfile, context, a.build_args, docker_options(a));
        }
        return docker_code_exec(*a.image, docker_options(a));
    }
    if (a.backend == "e2b")
        return e2b_code_exec(e2b_options(a));
    return local_code_exec(local_options(a));
}

} // namespace stirrup::cli
