#include "stirrup/tools/web/detail/ssrf_rules.hpp"

#include <algorithm>
#include <cstddef>

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

namespace stirrup::detail::web {
namespace {

// ---------------------------------------------------------------------------
// The table. One row per network that is not public, the effective union of
// Stirrup's conditions (web.py _ensure_public_ip) over CPython's ipaddress
// tables: "private" = _private_networks (not is_global), "reserved" =
// _reserved_network(s), "multicast", "site-local", "shared" = the
// _public_network that is_global also excludes, "Stirrup" = its
// _EXPLICITLY_NON_PUBLIC_NETWORKS. Where CPython releases differ (3.11 has
// 192.0.0.0/29 and 192.0.0.170/31 where 3.13 has 192.0.0.0/24 minus .9 and
// .10; 3.13 carves global exceptions out of 2001::/23; 3.11 lacks
// 64:ff9b:1::/48, 2002::/16 and 3fff::/20), Stirrup's own list covers the
// whole network, so the result is the same on every release. Specific rows
// come first so that non_public_network names the most telling one.
// ---------------------------------------------------------------------------

constexpr std::string_view v4_table[] = {
    "0.0.0.0/8",       // private: "this network"; 0.0.0.0 is unspecified
    "10.0.0.0/8",      // private (RFC 1918)
    "100.64.0.0/10",   // shared address space (CGNAT): not is_global, though not is_private
    "127.0.0.0/8",     // private: loopback
    "169.254.0.0/16",  // private: link-local (cloud metadata at 169.254.169.254)
    "172.16.0.0/12",   // private (RFC 1918)
    "192.0.0.0/24",    // Stirrup: IETF protocol assignments, whole (holds 192.0.0.170/31 too)
    "192.0.2.0/24",    // private: TEST-NET-1
    "192.88.99.0/24",  // Stirrup: deprecated 6to4 relay anycast (global to CPython)
    "192.168.0.0/16",  // private (RFC 1918)
    "198.18.0.0/15",   // private: benchmarking
    "198.51.100.0/24", // private: TEST-NET-2
    "203.0.113.0/24",  // private: TEST-NET-3
    "224.0.0.0/4",     // multicast (global to CPython)
    "240.0.0.0/4",     // private and reserved; holds the broadcast 255.255.255.255
};

constexpr std::string_view v6_table[] = {
    "::1/128",        // private: loopback
    "::/128",         // private: unspecified
    "64:ff9b:1::/48", // Stirrup (private since CPython 3.12.4): local-use IPv4/IPv6 translation
    "100::/64",       // private: discard-only
    "2001:db8::/32",  // private: documentation
    "2001::/23",      // Stirrup: IETF protocol assignments, whole (Teredo, ORCHID, ...)
    "2002::/16",      // Stirrup (private since CPython 3.12.4): 6to4
    "3fff::/20",      // Stirrup (private since CPython gh-124217, 2024): documentation (RFC 9637)
    "fc00::/7",       // private: unique local
    "fe80::/10",      // private: link-local
    "fec0::/10",      // site-local (deprecated; global to CPython)
    "ff00::/8",       // multicast
    // Reserved (CPython's _reserved_networks, from RFC 4291's unassigned
    // space): everything outside 2000::/3 that no row above names, e.g. the
    // IPv4-compatible ::/96, NAT64's 64:ff9b::/96 and SIIT's ::ffff:0:0:0/96.
    // (::ffff:0:0/96 itself never gets here: it is judged by its IPv4 address.)
    "::/8",
    "100::/8",
    "200::/7",
    "400::/6",
    "800::/5",
    "1000::/4",
    "4000::/3",
    "6000::/3",
    "8000::/3",
    "a000::/3",
    "c000::/3",
    "e000::/4",
    "f000::/5",
    "f800::/6",
    "fe00::/9",
};

struct Network {
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;
    std::string_view text;
};

std::vector<Network> compile(std::span<const std::string_view> rows)
{
    std::vector<Network> out;
    for (const auto row : rows) {
        const auto slash = row.find('/');
        const auto address = parse_ip_literal(row.substr(0, slash));
        Network n;
        n.bytes = address->bytes;
        for (char c : row.substr(slash + 1))
            n.prefix = n.prefix * 10 + (c - '0');
        n.text = row;
        out.push_back(n);
    }
    return out;
}

bool contains(const Network& net, const IpAddress& a) noexcept
{
    int bits = net.prefix;
    for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
        const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
        if ((a.bytes[i] & mask) != net.bytes[i])
            return false;
    }
    return true;
}

// ---------------------------------------------------------------------------
// Literals.
// ---------------------------------------------------------------------------

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// RFC 3986 unreserved: the only characters a zone may hold here, so that a
// zone can neither end the host nor smuggle a delimiter into a Host header.
bool is_unreserved(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

// One part of a WHATWG IPv4 host: 0x-prefixed hex (possibly no digits),
// 0-prefixed octal, or decimal. Values past 2^32 saturate: they fail the
// range checks anyway.
std::optional<std::uint64_t> parse_ipv4_number(std::string_view part) noexcept
{
    if (part.empty())
        return std::nullopt;
    unsigned base = 10;
    if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
        base = 16;
        part.remove_prefix(2);
    } else if (part.size() >= 2 && part[0] == '0') {
        base = 8;
        part.remove_prefix(1);
    }
    constexpr std::uint64_t cap = std::uint64_t{1} << 33;
    std::uint64_t value = 0;
    for (char c : part) {
        const int d = hex_value(c);
        if (d < 0 || static_cast<unsigned>(d) >= base)
            return std::nullopt;
        value = std::min(cap, value * base + static_cast<unsigned>(d));
    }
    return value;
}

// Browsers' and curl's numeric IPv4 hosts: glibc's inet_aton forms (what
// getaddrinfo takes as numeric), plus "0x" alone and one trailing dot.
// Hand-written: Boost.URL takes only RFC 3986's strict dotted decimal.
std::optional<std::uint32_t> parse_ipv4_any(std::string_view s) noexcept
{
    if (!s.empty() && s.back() == '.')
        s.remove_suffix(1);
    if (s.empty())
        return std::nullopt;
    std::uint64_t parts[4];
    std::size_t n = 0;
    std::size_t start = 0;
    while (true) {
        const auto dot = s.find('.', start);
        if (n == 4)
            return std::nullopt;
        const auto value = parse_ipv4_number(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (!value)
            return std::nullopt;
        parts[n++] = *value;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    std::uint64_t result = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (parts[i] > 255)
            return std::nullopt;
        result |= parts[i] << (8 * (3 - i));
    }
    const std::uint64_t last_limit = std::uint64_t{1} << (8 * (5 - n));
    if (parts[n - 1] >= last_limit)
        return std::nullopt;
    return static_cast<std::uint32_t>(result | parts[n - 1]);
}

std::optional<std::string> decode_zone(std::string_view encoded)
{
    std::string out;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] != '%') {
            out += encoded[i];
            continue;
        }
        if (i + 2 >= encoded.size() || hex_value(encoded[i + 1]) < 0 || hex_value(encoded[i + 2]) < 0)
            return std::nullopt;
        out += static_cast<char>(hex_value(encoded[i + 1]) * 16 + hex_value(encoded[i + 2]));
        i += 2;
    }
    return out;
}

std::optional<IpAddress> parse_ipv6_any(std::string_view s, bool bracketed)
{
    std::string zone;
    const auto percent = s.find('%');
    if (percent != std::string_view::npos) {
        const auto text = s.substr(percent + 1);
        s = s.substr(0, percent);
        // RFC 6874 writes the zone in a URL as "%25" + percent-encoded zone;
        // a bare "%" (what httpx and curl also take) keeps it raw.
        if (bracketed && text.size() > 2 && text.substr(0, 2) == "25") {
            auto decoded = decode_zone(text.substr(2));
            if (!decoded)
                return std::nullopt;
            zone = std::move(*decoded);
        } else {
            zone = std::string(text);
        }
        if (zone.empty() || !std::all_of(zone.begin(), zone.end(), is_unreserved))
            return std::nullopt;
    }
    const auto parsed = boost::urls::parse_ipv6_address(s);
    if (!parsed)
        return std::nullopt;
    return IpAddress::v6(parsed->to_bytes(), std::move(zone));
}

// ---------------------------------------------------------------------------
// httpx 0.28's URL handling (httpx/_urlparse.py; Stirrup's lock file pins
// 0.28.1), on the bytes of UTF-8 text.
// ---------------------------------------------------------------------------

// Bytes 0x80-0xBF continue a UTF-8 character: Python counts characters.
bool is_continuation(char c) noexcept
{
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t count_characters(std::string_view s) noexcept
{
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return !is_continuation(c); }));
}

bool is_control(char c) noexcept
{
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// Python's repr() of a str, for httpx's messages. Control characters are
// refused before any message quotes a part of the URL; other characters
// outside ASCII are written as they are (Python escapes the few it deems
// unprintable).
std::string python_repr(std::string_view s)
{
    const bool has_single = s.find('\'') != std::string_view::npos;
    const char quote_char = has_single && s.find('"') == std::string_view::npos ? '"' : '\'';
    std::string out(1, quote_char);
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : s) {
        if (c == '\\' || c == quote_char) {
            out += '\\';
            out += c;
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (is_control(c)) {
            out += "\\x";
            out += hex[static_cast<unsigned char>(c) >> 4];
            out += hex[c & 15];
        } else {
            out += c;
        }
    }
    out += quote_char;
    return out;
}

// The percent-encode sets httpx takes from WHATWG: printable ASCII except
// the listed characters (on top of RFC 3986's unreserved ones, always kept).
constexpr std::string_view query_unsafe = " \"#<>";
constexpr std::string_view path_unsafe = " \"#<>?`{}";
constexpr std::string_view userinfo_unsafe = " \"#<>?`{}/;=@[\\]^|";

// httpx's quote(): each byte that is not printable ASCII, or is in
// `unsafe`, becomes %XX (upper case, UTF-8 bytes for other characters).
// '%' is in none of the sets, so existing %XX escapes stay as they are.
std::string quote(std::string_view s, std::string_view unsafe)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b > 0x20 && b < 0x7f && unsafe.find(c) == std::string_view::npos) {
            out += c;
        } else {
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 15];
        }
    }
    return out;
}

// A name's safe set is an allow-list: unreserved, sub-delims and WHATWG's
// '"`{}%|\'.
std::string quote_host(std::string_view s)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    constexpr std::string_view safe = "!$&'()*+,;=\"`{}%|\\";
    std::string out;
    for (char c : s) {
        if (is_unreserved(c) || safe.find(c) != std::string_view::npos) {
            out += c;
        } else {
            const auto b = static_cast<unsigned char>(c);
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 15];
        }
    }
    return out;
}

// Removes "." and ".." segments the way httpx's normalize_path does (which,
// unlike RFC 3986, drops the slash a final "." or ".." leaves).
std::string normalize_path(std::string_view path)
{
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        const auto segment = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (segment == "..") {
            if (!out.empty() && !(out.size() == 1 && out.front().empty()))
                out.pop_back();
        } else if (segment != ".") {
            out.push_back(segment);
        }
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    std::string joined;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (i > 0)
            joined += '/';
        joined += out[i];
    }
    return joined;
}

// httpx's IPv4_STYLE_HOSTNAME, ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$: such a host
// must then be strict dotted decimal (Python's IPv4Address).
bool looks_like_ipv4(std::string_view host) noexcept
{
    int parts = 0;
    std::size_t start = 0;
    while (true) {
        const auto dot = host.find('.', start);
        const auto part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (part.empty() || !std::all_of(part.begin(), part.end(), is_digit) || ++parts > 4)
            return false;
        if (dot == std::string_view::npos)
            return parts == 4;
        start = dot + 1;
    }
}

// Python's int() on a port: surrounding spaces, a sign, digits with single
// underscores between them. nullopt when it is not a number; a value past
// 65535 or below 0 comes back as -1, which the range check refuses.
std::optional<long> python_int(std::string_view s) noexcept
{
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || !is_digit(s.front()) || !is_digit(s.back()))
        return std::nullopt;
    long value = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            if (!is_digit(s[i + 1])) // never past the end: the last byte is a digit
                return std::nullopt;
            continue;
        }
        if (!is_digit(s[i]))
            return std::nullopt;
        value = std::min(100000L, value * 10 + (s[i] - '0'));
    }
    if (negative && value != 0)
        return -1;
    return value > 65535 ? -1 : value;
}

std::optional<std::uint16_t> default_port(std::string_view scheme) noexcept
{
    if (scheme == "http" || scheme == "ws")
        return 80;
    if (scheme == "https" || scheme == "wss")
        return 443;
    if (scheme == "ftp")
        return 21;
    return std::nullopt;
}

bool is_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// [a-zA-Z0-9+.-]: the characters after a scheme's first letter.
bool is_scheme_char(char c) noexcept
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '.' || c == '-';
}

std::string lower_ascii(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

} // namespace

// ---------------------------------------------------------------------------
// IpAddress.
// ---------------------------------------------------------------------------

IpAddress IpAddress::v4(std::uint32_t value) noexcept
{
    IpAddress a;
    a.family = Family::v4;
    for (int i = 0; i < 4; ++i)
        a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
    return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes, std::string zone)
{
    IpAddress a;
    a.family = Family::v6;
    a.bytes = bytes;
    a.zone = std::move(zone);
    return a;
}

std::uint32_t IpAddress::v4_value() const noexcept
{
    return static_cast<std::uint32_t>(bytes[0]) << 24 | static_cast<std::uint32_t>(bytes[1]) << 16 |
           static_cast<std::uint32_t>(bytes[2]) << 8 | bytes[3];
}

std::optional<IpAddress> IpAddress::ipv4_mapped() const
{
    if (is_v4())
        return std::nullopt;
    for (std::size_t i = 0; i < 10; ++i)
        if (bytes[i] != 0)
            return std::nullopt;
    if (bytes[10] != 0xff || bytes[11] != 0xff)
        return std::nullopt;
    IpAddress a;
    std::copy(bytes.begin() + 12, bytes.end(), a.bytes.begin());
    return a;
}

std::string IpAddress::to_string() const
{
    if (is_v4()) {
        std::string out;
        for (std::size_t i = 0; i < 4; ++i) {
            if (i > 0)
                out += '.';
            out += std::to_string(bytes[i]);
        }
        return out;
    }
    std::string out;
    if (const auto mapped = ipv4_mapped()) {
        out = "::ffff:" + mapped->to_string();
    } else {
        unsigned groups[8];
        for (std::size_t i = 0; i < 8; ++i)
            groups[i] = static_cast<unsigned>(bytes[2 * i]) << 8 | bytes[2 * i + 1];
        int best = -1;
        int best_len = 1; // a single zero group is never compressed
        for (int i = 0; i < 8;) {
            int j = i;
            while (j < 8 && groups[j] == 0)
                ++j;
            if (j - i > best_len) {
                best = i;
                best_len = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        static constexpr char hex[] = "0123456789abcdef";
        for (int i = 0; i < 8; ++i) {
            if (i == best) {
                out += "::";
                i += best_len - 1;
                continue;
            }
            if (!out.empty() && out.back() != ':')
                out += ':';
            const unsigned g = groups[i];
            bool started = false;
            for (int shift = 12; shift >= 0; shift -= 4) {
                const unsigned d = (g >> shift) & 15;
                if (d != 0 || started || shift == 0) {
                    out += hex[d];
                    started = true;
                }
            }
        }
    }
    if (!zone.empty())
        out += "%" + zone;
    return out;
}

std::optional<IpAddress> parse_ip_literal(std::string_view host)
{
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        return parse_ipv6_any(host.substr(1, host.size() - 2), true);
    if (host.find(':') != std::string_view::npos)
        return parse_ipv6_any(host, false);
    if (const auto v4 = parse_ipv4_any(host))
        return IpAddress::v4(*v4);
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Classification.
// ---------------------------------------------------------------------------

std::optional<std::string_view> non_public_network(const IpAddress& address)
{
    static const std::vector<Network> v4 = compile(v4_table);
    static const std::vector<Network> v6 = compile(v6_table);
    // Stirrup judges an IPv4-mapped address by its IPv4 address (the kernel
    // connects an AF_INET6 socket to ::ffff:127.0.0.1 over IPv4 loopback).
    const auto mapped = address.ipv4_mapped();
    const IpAddress& a = mapped ? *mapped : address;
    for (const auto& net : a.is_v4() ? v4 : v6)
        if (contains(net, a))
            return net.text;
    if (!a.is_v4()) {
        // What the table leaves public: 2000::/3 minus the rows above.
        // Spelled out so that a missing row cannot widen it silently.
        if ((a.bytes[0] & 0xe0) != 0x20)
            return "outside 2000::/3";
    }
    return std::nullopt;
}

bool is_public(const IpAddress& address)
{
    return !non_public_network(address).has_value();
}

std::string non_public_error(const IpAddress& address)
{
    const auto mapped = address.ipv4_mapped();
    return "Destination resolves to a non-public IP address: " + (mapped ? *mapped : address).to_string();
}

std::optional<IpAddress> first_non_public(std::span<const IpAddress> resolved)
{
    for (const auto& a : resolved)
        if (!is_public(a))
            return a;
    return std::nullopt;
}

std::variant<std::vector<IpAddress>, std::string> check_resolved(std::string_view host,
                                                                 std::span<const IpAddress> resolved)
{
    if (resolved.empty())
        return "Could not resolve destination host " + std::string(host) + ".";
    if (const auto bad = first_non_public(resolved))
        return non_public_error(*bad);
    std::vector<IpAddress> out;
    for (const auto& a : resolved)
        if (std::find(out.begin(), out.end(), a) == out.end())
            out.push_back(a);
    return out;
}

std::string resolve_failed_error(std::string_view host, int gai_code, std::string_view gai_message)
{
    return "Could not resolve destination host " + std::string(host) + ": [Errno " + std::to_string(gai_code) + "] " +
           std::string(gai_message);
}

// ---------------------------------------------------------------------------
// URLs.
// ---------------------------------------------------------------------------

std::uint16_t FetchUrl::effective_port() const noexcept
{
    if (port)
        return *port;
    return scheme == "https" ? 443 : 80;
}

std::string FetchUrl::netloc() const
{
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port)
        out += ":" + std::to_string(*port);
    return out;
}

std::string FetchUrl::to_string() const
{
    return scheme + "://" + (userinfo.empty() ? "" : userinfo + "@") + netloc() + target;
}

std::variant<FetchUrl, std::string> check_fetch_url(std::string_view url)
{
    // urlparse's first checks, on characters.
    if (count_characters(url) > 65536)
        return std::string("URL too long");
    if (const auto bad = std::find_if(url.begin(), url.end(), is_control); bad != url.end()) {
        const auto at = static_cast<std::size_t>(bad - url.begin());
        return "Invalid non-printable ASCII character in URL, " + python_repr(std::string_view(&*bad, 1)) +
               " at position " + std::to_string(count_characters(url.substr(0, at))) + ".";
    }

    // URL_REGEX: [scheme ":"] ["//" authority] path ["?" query] ["#" fragment],
    // where the scheme may be empty (a leading ':' is an empty scheme).
    std::string_view rest = url;
    std::string_view raw_scheme;
    {
        std::size_t i = 0;
        if (!rest.empty() && is_alpha(rest[0]))
            while (++i < rest.size() && is_scheme_char(rest[i])) {
            }
        if (i < rest.size() && rest[i] == ':') {
            raw_scheme = rest.substr(0, i);
            rest.remove_prefix(i + 1);
        }
    }
    std::string_view authority;
    if (rest.substr(0, 2) == "//") {
        rest.remove_prefix(2);
        const auto end = rest.find_first_of("/?#");
        authority = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    const auto path_end = rest.find_first_of("?#");
    const std::string_view raw_path = rest.substr(0, path_end);
    std::optional<std::string_view> raw_query;
    if (path_end != std::string_view::npos && rest[path_end] == '?') {
        const auto q = rest.substr(path_end + 1);
        raw_query = q.substr(0, q.find('#'));
    }

    // AUTHORITY_REGEX: [userinfo "@"] host [":"] port. The userinfo runs to
    // the last '@'; the host is "[...]" up to the last ']', or else runs to
    // the first ':'; the port is whatever follows.
    std::string_view raw_userinfo;
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        raw_userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
    }
    std::string_view raw_host;
    const auto close = authority.rfind(']');
    if (!authority.empty() && authority.front() == '[' && close != std::string_view::npos)
        raw_host = authority.substr(0, close + 1);
    else
        raw_host = authority.substr(0, authority.find(':'));
    std::string_view raw_port = authority.substr(raw_host.size());
    if (!raw_port.empty() && raw_port.front() == ':')
        raw_port.remove_prefix(1);

    FetchUrl out;
    out.scheme = lower_ascii(raw_scheme);
    out.userinfo = quote(raw_userinfo, userinfo_unsafe);

    // encode_host: literals are checked by Python's ipaddress (RFC 3986).
    const auto is_ascii = [](char c) { return static_cast<unsigned char>(c) < 0x80; };
    if (raw_host.empty()) {
        // No host: Stirrup's check below refuses it, after the port's.
    } else if (looks_like_ipv4(raw_host)) {
        if (!boost::urls::parse_ipv4_address(raw_host))
            return "Invalid IPv4 address: " + python_repr(raw_host);
        out.host = std::string(raw_host);
        out.literal = parse_ip_literal(raw_host);
    } else if (raw_host.size() >= 2 && raw_host.front() == '[' && raw_host.back() == ']') {
        out.literal = parse_ip_literal(raw_host);
        if (!out.literal)
            return "Invalid IPv6 address: " + python_repr(raw_host);
        out.host = std::string(raw_host.substr(1, raw_host.size() - 2));
    } else if (std::all_of(raw_host.begin(), raw_host.end(), is_ascii)) {
        // Lower-cased after quoting: Stirrup's copy_with() parses the URL
        // again, which lower-cases the %XX escapes too.
        out.host = lower_ascii(quote_host(raw_host));
        // A name the resolver (or a browser) would take as a number is one:
        // it is checked as the address it denotes and never sent to DNS.
        out.literal = parse_ip_literal(out.host);
    } else {
        // httpx IDNA-encodes other hosts; this port does not, and refuses
        // them with httpx's text for a name IDNA refuses.
        return "Invalid IDNA hostname: " + python_repr(raw_host);
    }

    std::optional<long> port_value;
    if (!raw_port.empty()) {
        port_value = python_int(raw_port);
        if (!port_value)
            return "Invalid port: " + python_repr(raw_port);
        if (const auto d = default_port(out.scheme); d && *port_value == *d)
            port_value.reset();
    }

    const bool has_scheme = !out.scheme.empty();
    const bool has_authority = !out.userinfo.empty() || !out.host.empty() || port_value.has_value();
    if (!has_scheme && !has_authority) {
        if (raw_path.substr(0, 2) == "//")
            return std::string("Relative URLs cannot have a path starting with '//'");
        if (raw_path.substr(0, 1) == ":")
            return std::string("Relative URLs cannot have a path starting with ':'");
    }
    out.target = quote(has_scheme || has_authority ? normalize_path(raw_path) : std::string(raw_path), path_unsafe);
    if (out.target.empty())
        out.target = "/";
    if (raw_query)
        out.target += "?" + quote(*raw_query, query_unsafe);

    // Stirrup's own checks.
    if ((out.scheme != "http" && out.scheme != "https") || out.host.empty())
        return std::string(not_http_url_error);
    if (port_value) {
        if (*port_value < 0)
            return std::string(port_range_error);
        out.port = static_cast<std::uint16_t>(*port_value);
    }
    return out;
}

} // namespace stirrup::detail::web
