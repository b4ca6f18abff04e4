#pragma once
// The execution environment as an agent tool provider: each session gets its
// own environment (a fresh temp dir, container or sandbox), started before
// the session's other tools and stopped after them, and the `code_exec` tool
// that runs commands in it.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "stirrup/core/tool.hpp"
#include "stirrup/exec/provider.hpp"

namespace stirrup {

struct CodeExecToolOptions {
    /// The tool's name; default "code_exec".
    std::string tool_name = "code_exec";
    /// The tool's description; default: the backend's (Stirrup's texts).
    std::optional<std::string> description;
};

class CodeExecToolProvider final : public ToolProvider {
public:
    using Factory = std::function<std::unique_ptr<CodeExecProvider>()>;

    /// `name`: shown in errors (e.g. "LocalCodeExecToolProvider");
    /// `factory`: makes one unstarted environment per session.
    CodeExecToolProvider(std::string name, Factory factory, CodeExecToolOptions options = {});

    std::string name() const override { return name_; }
    bool provides_code_exec() const override { return true; }
    awaitable<std::unique_ptr<StartedTools>> start(CodeExecProvider* exec_env) const override;

private:
    std::string name_;
    Factory factory_;
    CodeExecToolOptions options_;
};

/// The `code_exec` tool running in `env` (which must outlive the tool).
Tool make_code_exec_tool(CodeExecProvider& env, CodeExecToolOptions options = {});

// The factories of per-session environments (local_code_exec,
// docker_code_exec, e2b_code_exec) are in each backend's header.

} // namespace stirrup
