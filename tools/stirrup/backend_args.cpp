#include "backend_args.hpp"

#include "cli_args.hpp"

namespace stirrup::cli {

namespace {

constexpr const char* common_usage =
    R"(  --allow REGEX         allow only matching commands (repeatable; run without a shell)
  --shell-timeout S     per-command timeout in seconds (300)
  --temp-base-dir DIR   where the environment's host temp dir is made (system temp dir)
  --max-file-size SIZE  largest file saved or read out of the environment (1g)
  --max-output-size SIZE  all files saved out of one environment (4g)
)";

/// The default backend first, then the others in list order: "a, b or c".
std::string backend_names(bool with_summary)
{
    std::vector<std::string> names;
    for (const Backend* b : backends())
        if (b->name == default_backend)
            names.insert(names.begin(), std::string(with_summary ? b->summary : b->name));
        else
            names.emplace_back(with_summary ? b->summary : b->name);
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i)
        text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return text;
}

const BackendOptions& chosen(const BackendArgs& a)
{
    for (std::size_t i = 0; i < backends().size(); ++i)
        if (backends()[i]->name == a.backend)
            return *a.own[i];
    throw UsageError("unknown backend '" + a.backend + "' (" + backend_names(false) + ")");
}

} // namespace

BackendArgs::BackendArgs()
{
    for (const Backend* b : backends())
        own.push_back(b->options());
}

std::string backend_usage()
{
    std::string text = "execution environment:\n  --backend NAME        " + backend_names(true) + "\n" + common_usage;
    for (const Backend* b : backends())
        text += b->usage;
    return text;
}

const std::string& flag_value(const std::vector<std::string>& args, std::size_t& i)
{
    if (i + 1 >= args.size())
        throw UsageError(args[i] + " needs a value");
    return args[++i];
}

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

bool parse_backend_flag(const std::vector<std::string>& args, std::size_t& i, BackendArgs& a)
{
    const std::string& arg = args[i];
    if (arg == "--backend")
        a.backend = flag_value(args, i);
    else if (arg == "--allow")
        a.allow.push_back(flag_value(args, i));
    else if (arg == "--shell-timeout")
        a.shell_timeout = parse_seconds(arg, flag_value(args, i));
    else if (arg == "--temp-base-dir")
        a.temp_base_dir = flag_value(args, i);
    else if (arg == "--max-file-size")
        a.max_file_bytes = static_cast<std::uint64_t>(parse_bytes(arg, flag_value(args, i)));
    else if (arg == "--max-output-size")
        a.max_output_bytes = static_cast<std::uint64_t>(parse_bytes(arg, flag_value(args, i)));
    else if (arg == "--env")
        a.env_vars.push_back(flag_value(args, i));
    else {
        for (auto& own : a.own)
            if (own->parse_flag(args, i))
                return true;
        return false;
    }
    return true;
}

void check_backend_args(const BackendArgs& a)
{
    for (std::size_t i = 0; i < backends().size(); ++i)
        if (backends()[i]->name != a.backend && a.own[i]->any())
            throw UsageError(std::string(backends()[i]->misplaced_error));
    chosen(a).check(a);
}

std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a)
{
    return chosen(a).make_provider(a);
}

std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a)
{
    return chosen(a).make_tool_provider(a);
}

} // namespace stirrup::cli
