#pragma once
// The execution-environment options `stirrup exec` and `stirrup run` share:
// parsed once, turned into a provider (exec) or a tool provider (run). The
// options of one backend are in its file under backends/.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup::cli {

struct BackendArgs {
    BackendArgs();

    std::string backend{default_backend};
    std::vector<std::string> allow;
    std::optional<Milliseconds> shell_timeout;
    std::optional<std::string> temp_base_dir;
    std::optional<std::uint64_t> max_file_bytes;
    std::optional<std::uint64_t> max_output_bytes;
    /// --env: variables to give the environment (backends that take them).
    std::vector<std::string> env_vars;
    /// Each backend's own options, in the order of backends().
    std::vector<std::unique_ptr<BackendOptions>> own;
};

/// Help lines for the options below, indented as the commands' usage texts.
std::string backend_usage();

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
