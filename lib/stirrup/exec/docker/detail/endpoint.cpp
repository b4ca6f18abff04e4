#include "stirrup/exec/docker/detail/endpoint.hpp"

#include <charconv>
#include <cstdint>
#include <utility>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/net/detail/url.hpp"

namespace stirrup::detail::docker {
namespace {

constexpr std::string_view default_host = "unix:///var/run/docker.sock";

[[noreturn]] void bad_host(std::string_view host, std::string_view why)
{
    throw ConfigError("invalid DOCKER_HOST '" + std::string(host) + "': " + std::string(why));
}

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

std::string_view trim_line(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool flag_set(const std::optional<std::string>& v)
{
    return v && !v->empty() && *v != "0";
}

std::string unix_url(std::string_view host)
{
    const std::string_view path = host.substr(std::string_view("unix://").size());
    if (path.empty() || path.front() != '/')
        bad_host(host, "the socket path must be absolute (unix:///path/to/docker.sock)");
    for (char c : path)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ':')
            bad_host(host, "control character or ':' in the socket path");
    // net::parse_url reads "unix://PATH:TARGET"; check that it takes ours.
    (void)net::detail::parse_url(std::string(host) + ":/_ping");
    return std::string(host);
}

std::string tcp_url(std::string_view host, bool tls)
{
    std::string_view rest = host.substr(std::string_view("tcp://").size());
    std::string_view base;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        base = rest.substr(slash);
        rest = rest.substr(0, slash);
    }
    while (!base.empty() && base.back() == '/')
        base.remove_suffix(1);
    if (rest.find('@') != std::string_view::npos)
        bad_host(host, "user information is not supported");
    if (base.find_first_of("?#") != std::string_view::npos)
        bad_host(host, "a query or fragment is not allowed");

    std::string_view name = rest;
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos)
            bad_host(host, "unterminated IPv6 address");
        name = rest.substr(0, close + 1);
        const std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                bad_host(host, "unexpected text after the IPv6 address");
            port = after.substr(1);
        }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        name = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (name.find(':') != std::string_view::npos)
            bad_host(host, "an IPv6 address must be in brackets");
    }
    if (port.empty() && rest.find(':') != std::string_view::npos && rest.back() == ':')
        bad_host(host, "empty port");
    if (!port.empty() && !detail::ascii::parse_port(port))
        bad_host(host, "bad port '" + std::string(port) + "'");
    // tcp://:2375 means the local host, as in the docker CLI.
    const std::string host_name = name.empty() ? "localhost" : std::string(name);
    const std::string port_text = port.empty() ? (tls ? "2376" : "2375") : std::string(port);
    std::string url = (tls ? "https://" : "http://") + host_name + ":" + port_text + std::string(base);
    try {
        (void)net::detail::parse_url(url);
    } catch (const ConfigError& e) {
        bad_host(host, e.what());
    }
    return url;
}

struct Version {
    std::uint32_t major = 0, minor = 0;
    friend auto operator<=>(const Version&, const Version&) = default;
};

std::optional<Version> parse_version(std::string_view s)
{
    const auto dot = s.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size())
        return std::nullopt;
    Version v;
    const auto number = [](std::string_view part, std::uint32_t& out) {
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
        return ec == std::errc{} && end == part.data() + part.size();
    };
    if (!number(s.substr(0, dot), v.major) || !number(s.substr(dot + 1), v.minor))
        return std::nullopt;
    return v;
}

Version checked_version(std::string_view s, std::string_view what)
{
    const auto v = parse_version(s);
    if (!v)
        throw ConfigError(std::string(what) + " '" + std::string(s) + "' is not a MAJOR.MINOR version");
    return *v;
}

} // namespace

Endpoint endpoint_from_env(const std::function<std::optional<std::string>(std::string_view)>& getenv)
{
    std::optional<std::string> host = getenv("DOCKER_HOST");
    if (!host || host->empty())
        host = std::string(default_host);
    const std::string_view h = *host;

    Endpoint ep;
    if (starts_with(h, "unix://")) {
        ep.url = unix_url(h);
        return ep;
    }
    if (starts_with(h, "ssh://"))
        throw ConfigError(
            "DOCKER_HOST '" + *host +
            "': ssh:// engines are not supported; forward the engine's socket (ssh -L "
            "/tmp/docker.sock:/var/run/docker.sock HOST) and use unix:///tmp/docker.sock, or use tcp:// with TLS");
    if (starts_with(h, "npipe://"))
        throw ConfigError("DOCKER_HOST '" + *host + "': Windows named pipes (npipe://) are not supported");
    if (!starts_with(h, "tcp://"))
        bad_host(h, "expected unix:///path or tcp://host:port");

    const bool verify = flag_set(getenv("DOCKER_TLS_VERIFY"));
    const auto tls_env = getenv("DOCKER_TLS");
    ep.tls = verify || (tls_env && !tls_env->empty());
    ep.tls_verify = verify;
    ep.url = tcp_url(h, ep.tls);
    if (ep.tls) {
        std::string dir;
        if (auto cert_path = getenv("DOCKER_CERT_PATH"); cert_path && !cert_path->empty()) {
            dir = std::move(*cert_path);
        } else {
            const auto home = getenv("HOME");
            if (!home || home->empty())
                throw ConfigError("DOCKER_TLS_VERIFY or DOCKER_TLS is set but neither DOCKER_CERT_PATH nor HOME is, "
                                  "so the TLS certificates cannot be found");
            dir = *home + "/.docker";
        }
        while (dir.size() > 1 && dir.back() == '/')
            dir.pop_back();
        if (verify)
            ep.ca_file = dir + "/ca.pem";
        ep.cert_file = dir + "/cert.pem";
        ep.key_file = dir + "/key.pem";
    }
    return ep;
}

std::string api_version_for(std::string_view server_api_version, std::string_view client_max,
                            std::string_view client_min)
{
    const std::string_view server_text = server_api_version.empty() ? "1.24" : trim_line(server_api_version);
    const Version server = checked_version(server_text, "the engine's API version");
    const Version max = checked_version(client_max, "the client's maximum API version");
    const Version min = checked_version(client_min, "the client's minimum API version");
    if (server < min)
        throw ConfigError("the Docker engine speaks API " + std::string(server_text) +
                          ", older than the oldest this client supports (" + std::string(client_min) +
                          "); upgrade the engine");
    const Version chosen = server < max ? server : max;
    return std::to_string(chosen.major) + "." + std::to_string(chosen.minor);
}

std::string api_path(std::string_view version, std::string_view path)
{
    std::string out = "/v";
    out += version;
    if (path.empty() || path.front() != '/')
        out += '/';
    out += path;
    return out;
}

} // namespace stirrup::detail::docker
