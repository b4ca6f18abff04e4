#include "stirrup/net/detail/proxy.hpp"

#include <cstdlib>
#include <optional>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup::net::detail {
using stirrup::detail::ascii::parse_port;
using stirrup::detail::ascii::trim;
namespace {

std::string base64(std::string_view in)
{
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

// Splits "host", "host:port", "[v6]" or "[v6]:port"; port 0 when absent.
bool split_host_port(std::string_view entry, std::string_view& host, std::optional<std::uint16_t>& port)
{
    port.reset();
    std::string_view rest;
    if (!entry.empty() && entry.front() == '[') {
        const auto close = entry.find(']');
        if (close == std::string_view::npos)
            return false;
        host = entry.substr(1, close - 1);
        rest = entry.substr(close + 1);
    } else {
        const auto colon = entry.find(':');
        // More than one ':' without brackets is a bare IPv6 address.
        if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
            host = entry.substr(0, colon);
            rest = entry.substr(colon);
        } else {
            host = entry;
        }
    }
    if (rest.empty())
        return true;
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
        return false;
    unsigned v = 0;
    for (char c : rest.substr(1)) {
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

std::optional<std::string> first_set(const EnvLookup& env, std::string_view a, std::string_view b)
{
    // The lowercase name wins, as in curl and Python's urllib.
    for (auto name : {a, b})
        if (auto v = env(name); v && !trim(*v).empty())
            return std::string(trim(*v));
    return std::nullopt;
}

} // namespace

EnvLookup process_env()
{
    return [](std::string_view name) -> std::optional<std::string> {
        const std::string n(name);
        if (const char* v = std::getenv(n.c_str()))
            return std::string(v);
        return std::nullopt;
    };
}

ProxyEndpoint parse_proxy_url(std::string_view text)
{
    std::string full(trim(text));
    if (full.find("://") == std::string::npos)
        full = "http://" + full;
    auto parsed = boost::urls::parse_uri(full);
    if (!parsed)
        throw ConfigError("invalid proxy URL '" + std::string(text) + "': " + parsed.error().message());
    const boost::urls::url_view v = *parsed;
    if (v.scheme_id() != boost::urls::scheme::http)
        throw ConfigError("unsupported proxy URL '" + std::string(text) + "': only http:// proxies are supported");
    if (v.host().empty())
        throw ConfigError("invalid proxy URL '" + std::string(text) + "': no host");
    ProxyEndpoint p;
    p.host = v.host_type() == boost::urls::host_type::ipv6 ? std::string(v.host_address())
                                                           : stirrup::detail::ascii::to_lower(v.host());
    if (v.has_port()) {
        const auto port = parse_port(v.port());
        if (!port)
            throw ConfigError("invalid proxy URL '" + std::string(text) + "': bad port");
        p.port = *port;
    } else {
        p.port = 80;
    }
    if (v.has_userinfo())
        p.authorization = "Basic " + base64(std::string(v.user()) + ":" + std::string(v.password()));
    return p;
}

ProxySettings ProxySettings::from_env(const EnvLookup& env)
{
    ProxySettings s;
    if (auto v = first_set(env, "https_proxy", "HTTPS_PROXY"))
        s.https = parse_proxy_url(*v);
    if (auto v = first_set(env, "http_proxy", "HTTP_PROXY"))
        s.http = parse_proxy_url(*v);
    if (auto v = first_set(env, "no_proxy", "NO_PROXY"))
        s.no_proxy = *v;
    return s;
}

std::optional<ProxyEndpoint> ProxySettings::select(const Url& target) const
{
    const auto& proxy = target.scheme == Scheme::https ? https : target.scheme == Scheme::http ? http : std::nullopt;
    if (!proxy || no_proxy_matches(no_proxy, target.host, target.port))
        return std::nullopt;
    return proxy;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host_in, std::uint16_t port)
{
    const std::string host = stirrup::detail::ascii::to_lower(host_in);
    std::size_t pos = 0;
    while (pos <= no_proxy.size()) {
        auto end = no_proxy.find_first_of(", ", pos);
        if (end == std::string_view::npos)
            end = no_proxy.size();
        std::string_view entry = trim(no_proxy.substr(pos, end - pos));
        pos = end + 1;
        if (entry.empty())
            continue;
        if (entry == "*")
            return true;
        std::string_view entry_host;
        std::optional<std::uint16_t> entry_port;
        if (!split_host_port(entry, entry_host, entry_port))
            continue;
        if (entry_port && *entry_port != port)
            continue;
        while (!entry_host.empty() && entry_host.front() == '.')
            entry_host.remove_prefix(1);
        while (!entry_host.empty() && entry_host.back() == '.')
            entry_host.remove_suffix(1);
        if (entry_host.empty())
            continue;
        const std::string e = stirrup::detail::ascii::to_lower(entry_host);
        if (host == e)
            return true;
        if (host.size() > e.size() && host.compare(host.size() - e.size(), e.size(), e) == 0 &&
            host[host.size() - e.size() - 1] == '.')
            return true;
    }
    return false;
}

} // namespace stirrup::net::detail
