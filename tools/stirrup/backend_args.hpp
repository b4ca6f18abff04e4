#pragma once
// The execution-environment options `stirrup exec` and `stirrup run` share:
// parsed once, turned into a provider (exec) or a tool provider (run).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup::cli {

struct BackendArgs {
    std::string backend = "local";
    std::vector<std::string> allow;
    std::optional<Milliseconds> shell_timeout;
    std::optional<std::string> temp_base_dir;
    std::optional<std::uint64_t> max_file_bytes;
    std::optional<std::uint64_t> max_output_bytes;
    // docker
    std::optional<std::string> image;
    std::optional<std::string> dockerfile;
    std::optional<std::string> context;
    std::map<std::string, std::string> build_args;
    std::vector<std::string> env_vars;
    std::optional<std::string> network;
    std::optional<std::int64_t> memory_bytes;
    std::optional<double> cpus;
    std::optional<std::int64_t> pids_limit;
    std::optional<std::string> user;
    std::optional<std::string> file_mode;
    // e2b
    std::optional<std::string> template_id;
    std::optional<Milliseconds> lifetime;
};

/// Help lines for the options below, indented as the commands' usage texts.
extern const char* const backend_usage;

/// If args[i] is an environment option, consumes it (and its value, moving
/// i) into `a` and returns true. Throws UsageError for a bad value.
bool parse_backend_flag(const std::vector<std::string>& args, std::size_t& i, BackendArgs& a);

/// Checks the combination once every option is read (e.g. --image with
/// docker only, exactly one of --image and --dockerfile). Throws UsageError.
void check_backend_args(const BackendArgs& a);

/// A provider for `stirrup exec` (not started).
std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a);

/// A code_exec tool provider for `stirrup run`: one environment per session.
std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a);

} // namespace stirrup::cli
