#pragma once
// Proxy selection from the environment, as curl and the Python HTTP stacks
// do: https_proxy / HTTPS_PROXY for https URLs, http_proxy / HTTP_PROXY for
// http URLs, and no_proxy / NO_PROXY exclusions. Pure given the lookup.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "stirrup/net/detail/url.hpp"

namespace stirrup::net::detail {

/// Returns an environment variable's value, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (std::getenv).
EnvLookup process_env();

struct ProxyEndpoint {
    std::string host;
    std::uint16_t port = 0;
    /// "Basic ..." for a proxy URL with user:password, else empty.
    std::string authorization;

    friend bool operator==(const ProxyEndpoint&, const ProxyEndpoint&) = default;
};

/// The proxy settings read once from the environment.
struct ProxySettings {
    std::optional<ProxyEndpoint> https;
    std::optional<ProxyEndpoint> http;
    std::string no_proxy;

    /// Throws ConfigError for a malformed proxy URL or an https:// proxy
    /// (TLS to the proxy itself is not supported).
    static ProxySettings from_env(const EnvLookup& env);

    /// The proxy for `target`, or nullopt for a direct connection (unix
    /// sockets always connect directly).
    std::optional<ProxyEndpoint> select(const Url& target) const;
};

/// Whether a NO_PROXY list excludes host:port. Entries are separated by
/// commas (and spaces); `*` matches everything; `example.com` and
/// `.example.com` match the domain and its subdomains; `host:port` matches
/// that port only; IPv6 literals may be bracketed. Case-insensitive.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::uint16_t port);

/// Parses "host:port", "http://user:pass@host:port" or "host" (port 80, as
/// Python's urllib assumes). Throws ConfigError.
ProxyEndpoint parse_proxy_url(std::string_view text);

} // namespace stirrup::net::detail
