#pragma once
// Where the Docker engine is and which API version to speak: DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH as the docker CLI reads
// them, and the version negotiation of the official clients (min of the
// engine's version from /_ping and ours). Pure: the environment comes in
// through a function and no file is opened.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace stirrup::detail::docker {

struct Endpoint {
    /// "unix:///var/run/docker.sock", or "http://host:port" / "https://host:port"
    /// (with the base path of `tcp://host:port/base` appended, no trailing '/':
    /// API paths go after it).
    std::string url;
    bool tls = false;
    /// Verify the engine's certificate against ca_file (DOCKER_TLS_VERIFY).
    /// False with DOCKER_TLS alone: encrypted but unauthenticated.
    bool tls_verify = true;
    /// PEM files from DOCKER_CERT_PATH (default ~/.docker). ca_file is set
    /// only when verifying; cert_file and key_file (client authentication,
    /// what a TLS engine demands) whenever TLS is on. Their existence is not
    /// checked here.
    std::optional<std::string> ca_file, cert_file, key_file;
};

/// Throws ConfigError for ssh:// and npipe:// (not supported), any other
/// scheme, and a malformed unix:// or tcp:// address. An empty DOCKER_HOST
/// counts as unset. tcp:// without a port means 2375, or 2376 with TLS.
/// TLS is on when DOCKER_TLS_VERIFY is non-empty and not "0" (verifying), or
/// when DOCKER_TLS is (not verifying); it needs HOME when DOCKER_CERT_PATH
/// is unset.
Endpoint endpoint_from_env(const std::function<std::optional<std::string>(std::string_view)>& getenv);

/// The version to put in request paths: the lower of the engine's (the
/// Api-Version header of /_ping; empty means 1.24, as the Go client assumes)
/// and client_max, compared numerically ("1.9" < "1.41"). Throws ConfigError
/// when that is below client_min, or when a version is not "MAJOR.MINOR".
std::string api_version_for(std::string_view server_api_version, std::string_view client_max = "1.41",
                            std::string_view client_min = "1.24");

/// "/v1.41" + path: api_path("1.41", "/containers/create") is
/// "/v1.41/containers/create". A path without a leading '/' gets one.
std::string api_path(std::string_view version, std::string_view path);

} // namespace stirrup::detail::docker
