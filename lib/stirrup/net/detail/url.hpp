#pragma once
// Parsing of the URLs the HTTP client accepts: http://, https:// and
// unix:///path/to.sock:/request/target. Pure: no I/O.

#include <cstdint>
#include <string>
#include <string_view>

namespace stirrup::net::detail {

enum class Scheme { http, https, unix_socket };

struct Url {
    Scheme scheme = Scheme::http;
    /// Host name or IP literal without brackets; "localhost" for unix sockets.
    std::string host;
    std::uint16_t port = 0;
    /// The socket's file system path (unix sockets only).
    std::string socket_path;
    /// origin-form request target: path and query, never empty.
    std::string target = "/";

    bool is_tls() const noexcept { return scheme == Scheme::https; }
    /// "host:port", with brackets around an IPv6 literal: the Host header and
    /// the CONNECT authority.
    std::string authority() const;
    /// The absolute-form target a plain-HTTP proxy expects.
    std::string absolute_target() const;
};

/// Throws ConfigError (naming the URL) on anything else than the three forms.
Url parse_url(std::string_view text);

std::string_view to_string(Scheme s) noexcept;

/// Percent-encodes a query value or path segment: RFC 3986 unreserved
/// characters (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes %XX.
std::string percent_encode(std::string_view value);

} // namespace stirrup::net::detail
