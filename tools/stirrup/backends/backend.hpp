#pragma once
// One execution backend as the CLI sees it: its own options of `stirrup exec`
// and `stirrup run`, how they make a provider, and its `stirrup <name> ...`
// subcommands. Each backend is one file here (backends/<name>.cpp) and one
// line in list.cpp.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup::cli {

struct BackendArgs;

/// One backend's own options, as given on the command line.
class BackendOptions {
public:
    virtual ~BackendOptions() = default;
    /// If args[i] is one of this backend's options, consumes it (and its
    /// value, moving i) and returns true. Throws UsageError for a bad value.
    virtual bool parse_flag(const std::vector<std::string>& args, std::size_t& i) = 0;
    /// Whether any was given (an error when another backend is chosen).
    virtual bool any() const = 0;
    /// Checks the whole command line when this backend is the one chosen.
    /// Throws UsageError.
    virtual void check(const BackendArgs& a) const = 0;
    /// A provider for `stirrup exec` (not started).
    virtual std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a) const = 0;
    /// A code_exec tool provider for `stirrup run`: one environment per session.
    virtual std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a) const = 0;
};

struct Backend {
    /// What --backend takes, and the `stirrup <name>` command's name.
    std::string_view name;
    /// How --backend's help names it.
    std::string_view summary;
    /// Its section of the environment options' help ("" for none).
    std::string_view usage;
    /// The error when its own options are given with another backend.
    std::string_view misplaced_error;
    /// A fresh set of its options.
    std::unique_ptr<BackendOptions> (*options)();
    /// `stirrup <name> ARGS...` (returns the exit status); nullptr for none.
    int (*command)(const std::vector<std::string>& args);
    /// Its lines in `stirrup --help` ("" for none).
    std::string_view command_usage;
};

/// Every backend (list.cpp), and the one used when --backend is not given.
const std::vector<const Backend*>& backends();
extern const std::string_view default_backend;

// Shared by the backends' files.

/// args[i + 1], moving i; UsageError when missing.
const std::string& flag_value(const std::vector<std::string>& args, std::size_t& i);
/// The options every backend takes, copied into its provider options.
void apply_common(const BackendArgs& a, CodeExecOptions& o);

} // namespace stirrup::cli
