#pragma once
// The E2B backend: one cloud sandbox (a Firecracker microVM) per session,
// created through E2B's control plane and driven through its daemon, envd:
// commands run as `bash -l -c` over the Connect streaming protocol, files
// move through envd's /files, and metadata (Stat, ListDir) through its
// filesystem service. Every sandbox carries metadata naming its owner, is
// killed on stop (and by the destructor when stop was not awaited), and
// commands that time out or are cancelled are SIGKILLed, since dropping the
// stream leaves them running.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/code_exec_tool_provider.hpp"
#include "stirrup/exec/creation_gate.hpp"
#include "stirrup/exec/provider.hpp"
#include "stirrup/net/http_options.hpp"

namespace stirrup::net {
class HttpClient;
}

namespace stirrup::detail::e2b {
class Envd;
}

namespace stirrup::e2b {

enum class ErrorCategory {
    authentication, ///< 401: missing or invalid API key / envd access token
    not_found,      ///< 404 from the control plane (template, sandbox)
    rate_limited,   ///< 429 that retries did not get past
    bad_request,    ///< 400/403/409/...: E2B refused what was asked
    server,         ///< 5xx from the control plane
    sandbox_gone,   ///< envd's proxy answered 502 / Connect unavailable: killed or past its lifetime
    timeout,        ///< a request took longer than the request timeout
    protocol,       ///< an answer that is not what the protocol allows
    transport,      ///< the connection failed or dropped
};

std::string_view to_string(ErrorCategory c) noexcept;

/// Every failure of E2B itself. what() says which call failed and quotes E2B.
class E2BError : public Error {
public:
    E2BError(ErrorCategory category, int status, const std::string& message)
        : Error(message), category_(category), status_(status)
    {
    }
    ErrorCategory category() const noexcept { return category_; }
    /// The HTTP status, 0 when there was none.
    int status() const noexcept { return status_; }

private:
    ErrorCategory category_;
    int status_;
};

} // namespace stirrup::e2b

namespace stirrup {

struct E2BCodeExecOptions : CodeExecOptions {
    /// Template name, alias or ID. Stirrup's SDK default.
    std::string template_id = "base";
    /// The sandbox's lifetime (E2B kills it then, whatever happens here).
    Milliseconds lifetime{std::chrono::seconds(600)};
    /// Each control-plane and envd request, and a command's start until its
    /// first answer (Stirrup's SANDBOX_REQUEST_TIMEOUT).
    Milliseconds request_timeout{std::chrono::seconds(180)};
    /// The sandbox's metadata (the stirrup.* owner keys are always added)
    /// and environment of every command.
    std::map<std::string, std::string> metadata;
    std::map<std::string, std::string> env_vars;
    /// Create fields sent only when set (E2B's defaults otherwise).
    std::optional<bool> allow_internet_access;
    /// Secure sandboxes require envd's access token, which the create returns.
    std::optional<bool> secure = true;
    /// Shared between providers to bound creations per period and sandboxes
    /// alive at once; nullopt: no gate.
    std::shared_ptr<CreationGate> creation_gate;
    /// Override E2B_API_KEY, E2B_API_URL, E2B_DOMAIN, E2B_SANDBOX_URL.
    std::optional<std::string> api_key;
    std::optional<std::string> api_url;
    std::optional<std::string> domain;
    std::optional<std::string> sandbox_url;
    /// Retries of a create answered 429 (after its Retry-After) or 502-504.
    int max_create_retries = 3;
    /// A longer Retry-After fails the create instead of waiting.
    Milliseconds max_retry_after{std::chrono::seconds(30)};
    /// How long after a command's timeout the client stops waiting for envd
    /// to report it, kills the process itself and returns the timeout.
    Milliseconds command_grace{std::chrono::seconds(5)};
    /// The HTTP client to share (one keep-alive pool, one TLS session per
    /// host); default: one per provider, made with `http_options`.
    std::shared_ptr<net::HttpClient> http;
    net::HttpClientOptions http_options;
    /// The code_exec tool's description; default: Stirrup's text.
    std::optional<std::string> description;
    /// The file API (read/write/exists/is_directory/list) accepts only paths
    /// that resolve (symlinks followed, in the sandbox) inside /home/user,
    /// throwing PathError otherwise, as the other backends do. Costs one
    /// helper command per call. false: Stirrup's E2B behaviour (any path in
    /// the sandbox).
    bool confine_files_to_home = true;
};

class E2BCodeExec final : public CodeExecProvider {
public:
    static std::unique_ptr<E2BCodeExec> make(E2BCodeExecOptions options = {});

    /// A provider destroyed while started kills its sandbox in the
    /// background and warns that stop() was not awaited.
    ~E2BCodeExec() override;

    /// The sandbox's ID while started.
    const std::optional<std::string>& sandbox_id() const noexcept { return sandbox_id_; }
    /// envd's version as the create reported it.
    const std::string& envd_version() const noexcept;
    /// The stirrup.session metadata value of this provider's sandbox.
    const std::string& session_id() const noexcept { return session_id_; }
    const E2BCodeExecOptions& e2b_options() const noexcept { return e2b_options_; }
    /// The HTTP client in use (after start), e.g. for its statistics.
    const std::shared_ptr<net::HttpClient>& http_client() const noexcept { return http_; }

    /// The sandbox now lives `lifetime` from now (POST /sandboxes/{id}/timeout).
    awaitable<void> extend_lifetime(Milliseconds lifetime);

    awaitable<std::string> read_file(std::string path) override;
    awaitable<void> write_file(std::string path, std::string data) override;
    awaitable<bool> file_exists(std::string path) override;
    awaitable<bool> is_directory(std::string path) override;
    awaitable<std::vector<std::string>> list_files(std::string dir) override;

    std::vector<OutputSourceRoot> output_source_roots() const override;
    std::string code_exec_description() const override;

protected:
    awaitable<void> do_start() override;
    awaitable<void> do_stop() override;
    awaitable<CommandResult> execute(PreparedCommand cmd, Milliseconds timeout) override;
    awaitable<std::string> resolve_output_source(std::string path) override;
    awaitable<std::uint64_t> read_file_to(std::string path, FileSink& sink) override;
    std::string uploaded_dest_path(const std::string& dest) const override;

private:
    explicit E2BCodeExec(E2BCodeExecOptions options);

    detail::e2b::Envd& envd();
    /// Runs a shell command in the sandbox, as execute() does, bypassing the
    /// allowlist: for the backend's own helpers (realpath).
    awaitable<CommandResult> run_shell(std::string command, Milliseconds timeout);
    /// The sandbox path a file-API call works on: absolute, and with
    /// confine_files_to_home, resolved in the sandbox and inside /home/user
    /// (else PathError "Path is outside execution environment: {path}").
    awaitable<std::string> file_path(std::string path);
    /// SIGKILLs a command's process: by pid once known, else by its tag.
    awaitable<void> kill_process(std::optional<std::uint32_t> pid, std::string tag);

    E2BCodeExecOptions e2b_options_;
    std::string session_id_;
    std::shared_ptr<net::HttpClient> http_;
    /// The control plane, envd and the create's answer (detail types).
    struct Remote;
    std::unique_ptr<Remote> remote_;
    std::optional<std::string> sandbox_id_;
    CreationPermit permit_;
};

/// A provider of E2B cloud sandboxes (Stirrup's E2BCodeExecToolProvider):
/// one sandbox per session; give the options a shared creation_gate to keep
/// many sessions inside an account's limits.
std::shared_ptr<CodeExecToolProvider> e2b_code_exec(E2BCodeExecOptions options = {});

} // namespace stirrup
