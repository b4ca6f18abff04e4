#include "stirrup/net/detail/url.hpp"

#include <optional>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup::net::detail {
using stirrup::detail::ascii::parse_port;
namespace {

[[noreturn]] void bad(std::string_view text, std::string_view why)
{
    throw ConfigError("invalid URL '" + std::string(text) + "': " + std::string(why));
}

bool starts_with_icase(std::string_view s, std::string_view prefix)
{
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

Url parse_unix(std::string_view text)
{
    // unix:///run/docker.sock:/v1.43/info: the socket path is absolute and
    // ends at the first ':'; a path containing ':' cannot be expressed.
    std::string_view rest = text.substr(std::string_view("unix://").size());
    if (rest.empty() || rest.front() != '/')
        bad(text, "the socket path must be absolute");
    Url u;
    u.scheme = Scheme::unix_socket;
    u.host = "localhost";
    const auto colon = rest.find(':');
    u.socket_path = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
        const auto target = rest.substr(colon + 1);
        if (!target.empty()) {
            if (target.front() != '/')
                bad(text, "the request target must start with '/'");
            u.target = std::string(target);
        }
    }
    if (u.socket_path.size() < 2)
        bad(text, "empty socket path");
    for (char c : u.target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            bad(text, "control character or space in the request target");
    return u;
}

} // namespace

std::string_view to_string(Scheme s) noexcept
{
    switch (s) {
    case Scheme::http:
        return "http";
    case Scheme::https:
        return "https";
    case Scheme::unix_socket:
        return "unix";
    }
    return "?";
}

std::string Url::authority() const
{
    const bool v6 = host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + host + "]" : host;
    if (scheme != Scheme::unix_socket)
        out += ":" + std::to_string(port);
    return out;
}

std::string Url::absolute_target() const
{
    return std::string(to_string(scheme)) + "://" + authority() + target;
}

Url parse_url(std::string_view text)
{
    if (starts_with_icase(text, "unix://"))
        return parse_unix(text);
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed)
        bad(text, parsed.error().message());
    const boost::urls::url_view v = *parsed;
    Url u;
    const std::string scheme = v.scheme();
    if (v.scheme_id() == boost::urls::scheme::http)
        u.scheme = Scheme::http;
    else if (v.scheme_id() == boost::urls::scheme::https)
        u.scheme = Scheme::https;
    else
        bad(text, "unsupported scheme '" + scheme + "'");
    if (!v.has_authority() || v.host().empty())
        bad(text, "no host");
    if (v.has_userinfo())
        bad(text, "credentials in the URL are not supported; use a header");
    switch (v.host_type()) {
    case boost::urls::host_type::ipv6:
        u.host = v.host_address();
        break;
    case boost::urls::host_type::ipvfuture:
        bad(text, "unsupported IP literal");
    default:
        u.host = v.host();
    }
    for (auto& c : u.host)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    if (v.has_port()) {
        const auto port = parse_port(v.port());
        if (!port)
            bad(text, "invalid port");
        u.port = *port;
    } else {
        u.port = u.scheme == Scheme::https ? 443 : 80;
    }
    std::string target(v.encoded_path());
    if (target.empty())
        target = "/";
    if (v.has_query())
        target += "?" + std::string(v.encoded_query());
    u.target = std::move(target);
    return u;
}

std::string percent_encode(std::string_view value)
{
    // Upper-case hex, no '+' for spaces: Boost.URL's defaults.
    return boost::urls::encode(value, boost::urls::unreserved_chars);
}

} // namespace stirrup::net::detail
