#pragma once
// The E2B backend's rules without I/O: where the control plane and envd are
// (E2B_API_URL, E2B_DOMAIN, E2B_SANDBOX_URL and the SDKs' host rules), the
// headers envd wants, the control plane's JSON (create body, Sandbox
// answer, error bodies), envd's file entries, version gates, and Stirrup's
// shell quoting and realpath parsing. Unit-tested and fuzzed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::e2b {

using Milliseconds = std::chrono::milliseconds;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// envd's port inside the sandbox (the routing header and host prefix).
inline constexpr std::string_view envd_port = "49983";
/// The sandbox user's home: Stirrup's E2B_WORKING_DIR, the root of outputs.
inline constexpr std::string_view home_dir = "/home/user";
inline constexpr std::string_view default_domain = "e2b.app";

/// The invalid input the rules refuse (a malformed answer from E2B).
class ResponseError : public Error {
public:
    using Error::Error;
};

/// Where to talk to E2B, resolved from options and the environment.
struct Endpoints {
    std::string api_url;                    ///< no trailing '/'
    std::string domain;                     ///< e2b.app unless E2B_DOMAIN / the option says otherwise
    std::optional<std::string> sandbox_url; ///< E2B_SANDBOX_URL: envd of every sandbox, routed by header
    std::string api_key;
};

/// Explicit settings win over the environment: api_url > E2B_API_URL >
/// https://api.<domain>; domain > E2B_DOMAIN > e2b.app; sandbox_url >
/// E2B_SANDBOX_URL; api_key > E2B_API_KEY. `getenv` returns nullopt for an
/// unset (or empty) variable.
Endpoints resolve_endpoints(std::optional<std::string> api_url, std::optional<std::string> domain,
                            std::optional<std::string> sandbox_url, std::optional<std::string> api_key,
                            const std::function<std::optional<std::string>(const char*)>& getenv);

/// envd's base URL for a sandbox (no trailing '/'): the sandbox URL when set;
/// else https://sandbox.<domain> for E2B's own domains (e2b.app, e2b.dev,
/// e2b.pro, e2b-staging.dev), where the proxy routes by header; else
/// https://49983-<id>.<domain>. `sandbox_domain` is the create answer's
/// `domain` when it had one.
std::string envd_base_url(const Endpoints& endpoints, std::string_view sandbox_id,
                          const std::optional<std::string>& sandbox_domain);

/// The headers on every envd request: E2b-Sandbox-Id, E2b-Sandbox-Port, and
/// X-Access-Token when the sandbox has one.
HeaderList envd_headers(std::string_view sandbox_id, const std::optional<std::string>& access_token);

/// What POST /sandboxes is asked for.
struct CreateRequest {
    std::string template_id = "base";
    std::int64_t timeout_seconds = 600;
    std::map<std::string, std::string> metadata;
    std::map<std::string, std::string> env_vars;
    std::optional<bool> secure;
    std::optional<bool> allow_internet_access;
};

/// The NewSandbox JSON body (v1, as the Python SDK sends it: metadata and
/// envVars always present).
std::string create_request_json(const CreateRequest& request);

/// Seconds to ask for a lifetime of `t`: ceil, at least 1.
std::int64_t lifetime_seconds(Milliseconds t) noexcept;

/// The Sandbox answer of a create.
struct SandboxInfo {
    std::string sandbox_id;
    std::string template_id;
    std::string envd_version;
    std::optional<std::string> envd_access_token;
    std::optional<std::string> domain;
};

/// Throws ResponseError when the body is not a Sandbox (no sandboxID, no
/// envdVersion, or an ID that cannot go into a URL).
SandboxInfo parse_sandbox(std::string_view body);

/// An ID safe in a URL path and a host name label: 1 to 128 of [A-Za-z0-9_-].
bool valid_sandbox_id(std::string_view id) noexcept;

/// The control plane's error body {"code": int, "message": str, "error_code"?}:
/// the message (else the trimmed raw body, else "HTTP <status>").
struct ApiErrorBody {
    std::string message;
    std::optional<std::string> error_code;
};
ApiErrorBody parse_api_error(int status, std::string_view body);

/// Semantic versions as envd reports them ("0.6.13"); a missing part counts
/// as 0 and a non-numeric suffix is ignored. False for an unparseable version.
bool version_at_least(std::string_view version, std::string_view minimum) noexcept;

/// envd >= 0.5.7 takes file uploads as application/octet-stream.
bool supports_octet_stream_upload(std::string_view envd_version) noexcept;

/// The multipart/form-data body envd takes before 0.5.7: one part named
/// "file" whose filename is the destination path. Returns {content_type, body}.
std::pair<std::string, std::string> multipart_upload(std::string_view path, std::string_view data,
                                                     std::string_view boundary);

/// A path in the sandbox: absolute as given, relative ones under /home/user
/// (envd does the same; making it explicit keeps messages and checks exact).
std::string sandbox_path(std::string_view path);

/// Whether `path` (normalised, absolute) is /home/user or inside it.
bool inside_home(std::string_view path);

/// filesystem.EntryInfo, as far as the backend needs it.
struct EntryInfo {
    enum class Type { unspecified, file, directory, symlink };
    std::string name;
    Type type = Type::unspecified;
    std::string path;
    std::int64_t size = 0;
};
/// "file", "dir", "symlink" or "unknown" (the SDKs' names).
std::string_view type_name(EntryInfo::Type t) noexcept;

/// StatResponse {"entry": EntryInfo}. Throws ResponseError when malformed.
EntryInfo parse_stat_response(std::string_view body);
/// ListDirResponse {"entries": [EntryInfo...]}. Throws ResponseError when malformed.
std::vector<EntryInfo> parse_list_dir_response(std::string_view body);

/// The regular files of a ListDir answer, relative to `dir`, sorted.
std::vector<std::string> relative_files(const std::vector<EntryInfo>& entries, std::string_view dir);

/// Stirrup's _quote_argv_for_shell: the command word always single-quoted
/// ("'" + argv0 with ' -> '"'"' + "'"), then " " + shlex.join(rest) when
/// there is a rest. `echo allowed` -> `'echo' allowed`.
std::string quote_argv_for_shell(const std::vector<std::string>& argv);

/// Stirrup's output-source check: `realpath -ze -- <path>` must print exactly
/// one NUL-terminated path. Returns it, or nullopt when the output is not that.
std::optional<std::string> parse_realpath_output(std::string_view stdout_bytes);

/// The command resolve_output_source runs: realpath -ze -- '<path>'.
std::string realpath_command(std::string_view path);

} // namespace stirrup::detail::e2b
