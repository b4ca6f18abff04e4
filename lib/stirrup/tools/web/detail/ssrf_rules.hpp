#pragma once
// fetch_web_page's SSRF guard without I/O: which URLs it takes (Stirrup's
// check on what httpx parsed), which hosts are IP literals (every form the
// resolver or a browser would take as one, so that none reaches DNS), and
// which addresses are public (Python's is_global as Stirrup tightens it).
// The fetcher resolves a name, passes every address here, and connects only
// to the addresses these rules returned. Unit-tested and fuzzed.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stirrup::detail::web {

/// An IPv4 or IPv6 address. An IPv4-mapped IPv6 address stays IPv6 (it is
/// what the resolver returned); is_public looks through it.
struct IpAddress {
    enum class Family : std::uint8_t { v4, v6 };
    Family family = Family::v4;
    /// Network order; an IPv4 address uses the first 4 bytes, the rest are 0.
    std::array<std::uint8_t, 16> bytes{};
    /// IPv6 zone (scope) without the '%', empty when none; always empty for IPv4.
    std::string zone;

    static IpAddress v4(std::uint32_t value) noexcept;
    static IpAddress v6(const std::array<std::uint8_t, 16>& bytes, std::string zone = {});

    bool is_v4() const noexcept { return family == Family::v4; }
    /// The IPv4 address as a number (is_v4() only).
    std::uint32_t v4_value() const noexcept;
    /// The IPv4 address inside ::ffff:0:0/96, as Python's ipv4_mapped.
    std::optional<IpAddress> ipv4_mapped() const;
    /// Python 3.13's str(): dotted decimal; RFC 5952 lower-case hex with the
    /// longest run of zero groups (at least two) compressed, the first one on
    /// a tie; "::ffff:a.b.c.d" for IPv4-mapped; "%zone" appended.
    std::string to_string() const;

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

/// The host taken as an IP literal, or nullopt when it is a name (anything
/// else, including "256.0.0.1", "4294967296" and "08", which the resolver
/// sends to DNS; the addresses DNS returns are checked in their turn).
/// IPv4 in every form of the WHATWG URL host parser, which is glibc's
/// inet_aton plus "0x" alone and one trailing dot: 1 to 4 parts, each decimal,
/// 0-prefixed octal or 0x-prefixed hex, the last one filling the remaining
/// bytes ("2130706433", "0x7f.1", "0177.0.0.1", "127.1", "127.0.0.1.").
/// IPv6 bare or in brackets (RFC 3986 syntax, an embedded IPv4 in strict
/// dotted decimal), with an optional zone of unreserved characters: "%zone",
/// or in brackets RFC 6874's "%25zone" (percent-decoded).
std::optional<IpAddress> parse_ip_literal(std::string_view host);

/// Whether fetch_web_page may connect to the address: Stirrup's check, i.e.
/// an IPv4-mapped address is judged by its IPv4 address, and the address must
/// be is_global and not reserved, multicast, IPv6 site-local, nor in
/// 192.0.0.0/24, 192.88.99.0/24, 64:ff9b:1::/48, 2001::/23, 2002::/16,
/// 3fff::/20. The zone plays no part. The table is in ssrf_rules.cpp.
bool is_public(const IpAddress& address);

/// The network of the rule that refuses the address ("127.0.0.0/8",
/// "fe80::/10", ...; the IPv4 one for an IPv4-mapped address), nullopt when
/// it is public. For tests and logs: is_public is exactly !non_public_network.
std::optional<std::string_view> non_public_network(const IpAddress& address);

/// Stirrup's refusal: "Destination resolves to a non-public IP address: ADDR",
/// ADDR as Stirrup prints it (the IPv4 address for an IPv4-mapped one).
std::string non_public_error(const IpAddress& address);

/// The first of the addresses a name resolved to (in the resolver's order)
/// that is not public: one refuses the whole destination.
std::optional<IpAddress> first_non_public(std::span<const IpAddress> resolved);

/// Stirrup's check of a name's addresses: the error text when there are none
/// ("Could not resolve destination host HOST.") or one is not public
/// (non_public_error), else the addresses to try, without repeats, in order.
std::variant<std::vector<IpAddress>, std::string> check_resolved(std::string_view host,
                                                                 std::span<const IpAddress> resolved);

/// Stirrup's text for a failed lookup, from getaddrinfo's code and
/// gai_strerror: "Could not resolve destination host HOST: [Errno -2] Name or
/// service not known" (Python's str() of the socket.gaierror).
std::string resolve_failed_error(std::string_view host, int gai_code, std::string_view gai_message);

/// Stirrup's error texts for a URL it will not fetch.
inline constexpr std::string_view not_http_url_error =
    "fetch_web_page only supports absolute http:// or https:// URLs.";
inline constexpr std::string_view port_range_error = "Destination port must be between 0 and 65535.";

/// A URL fetch_web_page may try, as httpx normalizes it, fragment dropped.
struct FetchUrl {
    std::string scheme;   ///< "http" or "https"
    std::string userinfo; ///< percent-encoded as httpx keeps it; empty when none
    /// What is resolved or connected to: the IP literal's text as written
    /// (without brackets), or the name lower-cased and percent-encoded as
    /// httpx does; never empty.
    std::string host;
    std::optional<std::uint16_t> port; ///< nullopt when absent, empty or the scheme's default
    std::string target;                ///< origin-form: path (dot segments removed) and query; never empty
    /// The address when the host is an IP literal (parse_ip_literal): it is
    /// checked and connected to as is, with no lookup.
    std::optional<IpAddress> literal;

    std::uint16_t effective_port() const noexcept;
    /// httpx's netloc: the Host header (and the TLS name without the port):
    /// host, "[v6]" for IPv6, ":port" when not the default.
    std::string netloc() const;
    /// The URL without fragment, as httpx prints it (what redirects resolve against).
    std::string to_string() const;
};

/// Stirrup's checks before any lookup, on the URL as httpx 0.28 parses it:
/// httpx's own errors first ("URL too long", "Invalid non-printable ASCII
/// character in URL, '\\t' at position 10.", "Invalid IPv4 address: '0177.0.0.1'"
/// for a 4-part dotted host that is not strict dotted decimal, "Invalid IPv6
/// address: '[...]'", "Invalid port: 'x'", "Invalid IDNA hostname: '...'" for
/// every non-ASCII host, as IDNA is not done here), then not_http_url_error
/// (the scheme is not http or https, or there is no host) and
/// port_range_error. The error text, or the URL.
std::variant<FetchUrl, std::string> check_fetch_url(std::string_view url);

} // namespace stirrup::detail::web
