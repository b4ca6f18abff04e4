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
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/exec/local/local.hpp"
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

/// A provider of local temp-dir environments (Stirrup's LocalCodeExecToolProvider).
std::shared_ptr<CodeExecToolProvider> local_code_exec(LocalCodeExecOptions options = {});

/// A provider of Docker containers from an image (Stirrup's
/// DockerCodeExecToolProvider.from_image): one container per session.
std::shared_ptr<CodeExecToolProvider> docker_code_exec(std::string image, DockerCodeExecOptions options = {});

/// Same, from a Dockerfile built when a session starts (Stirrup's from_dockerfile).
std::shared_ptr<CodeExecToolProvider> docker_code_exec_from_dockerfile(
    std::filesystem::path dockerfile, std::optional<std::filesystem::path> context = std::nullopt,
    std::map<std::string, std::string> build_args = {}, DockerCodeExecOptions options = {});

/// A provider of E2B cloud sandboxes (Stirrup's E2BCodeExecToolProvider):
/// one sandbox per session; give the options a shared creation_gate to keep
/// many sessions inside an account's limits.
std::shared_ptr<CodeExecToolProvider> e2b_code_exec(E2BCodeExecOptions options = {});

} // namespace stirrup
