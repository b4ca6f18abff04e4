// libFuzzer target for fetch_web_page's SSRF rules. Input: a host or a URL.
// Invariants: a literal prints (to_string) as text that parses back to the
// same address, and its verdict is its canonical form's, its zone-less
// form's and (IPv4) its IPv4-mapped form's; a URL that passes the checks has
// a scheme, a host and an origin-form target without spaces or control
// characters (they would end up in the request line and the Host header),
// its literal is what its host parses to, and printing and checking it again
// gives the same URL.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_harness.hpp"
#include "stirrup/tools/web/detail/ssrf_rules.hpp"

namespace {

using namespace stirrup::detail::web;
using stirrup::fuzz::require;

bool clean_header_text(std::string_view s)
{
    for (char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            return false;
    return true;
}

void check_literal(const IpAddress& a)
{
    const std::string text = a.to_string();
    const auto back = parse_ip_literal(text);
    require(back.has_value());
    require(*back == a);
    require(back->to_string() == text);
    const auto verdict = non_public_network(a);
    require(non_public_network(*back) == verdict);
    require(is_public(a) == !verdict.has_value());
    if (!a.is_v4()) {
        require(parse_ip_literal("[" + text + "]").has_value());
        IpAddress bare = a;
        bare.zone.clear();
        require(is_public(bare) == is_public(a));
        if (const auto v4 = a.ipv4_mapped())
            require(is_public(*v4) == is_public(a));
    } else {
        require(a.zone.empty());
        const auto mapped = parse_ip_literal("::ffff:" + text);
        require(mapped.has_value());
        require(is_public(*mapped) == is_public(a));
        require(non_public_error(*mapped) == non_public_error(a));
    }
    const std::vector<IpAddress> one = {a};
    const auto checked = check_resolved("h", one);
    require(std::holds_alternative<std::string>(checked) == !is_public(a));
}

void check_url(std::string_view in)
{
    auto r = check_fetch_url(in);
    if (auto* e = std::get_if<std::string>(&r)) {
        require(!e->empty());
        return;
    }
    const FetchUrl& u = std::get<FetchUrl>(r);
    require(u.scheme == "http" || u.scheme == "https");
    require(!u.host.empty());
    require(!u.target.empty() && u.target.front() == '/');
    require(clean_header_text(u.target));
    require(clean_header_text(u.netloc()));
    require(clean_header_text(u.userinfo));
    if (u.literal) {
        check_literal(*u.literal);
        const bool v6 = u.host.find(':') != std::string::npos;
        const auto again = parse_ip_literal(v6 ? "[" + u.host + "]" : u.host);
        require(again == u.literal);
    }
    const std::string printed = u.to_string();
    if (printed.size() > 65536)
        return;
    auto r2 = check_fetch_url(printed);
    require(std::holds_alternative<FetchUrl>(r2));
    const FetchUrl& u2 = std::get<FetchUrl>(r2);
    require(u2.scheme == u.scheme && u2.userinfo == u.userinfo && u2.host == u.host && u2.port == u.port &&
            u2.target == u.target && u2.literal == u.literal);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in = stirrup::fuzz::as_text(data, size);
    if (const auto a = parse_ip_literal(in))
        check_literal(*a);
    check_url(in);

    // The input as lines of resolved addresses: one non-public refuses all.
    std::vector<IpAddress> resolved;
    std::size_t pos = 0;
    while (pos <= in.size() && resolved.size() < 16) {
        const auto nl = in.find('\n', pos);
        if (const auto a = parse_ip_literal(in.substr(pos, nl == std::string_view::npos ? nl : nl - pos)))
            resolved.push_back(*a);
        if (nl == std::string_view::npos)
            break;
        pos = nl + 1;
    }
    const auto checked = check_resolved("h", resolved);
    const auto bad = first_non_public(resolved);
    if (const auto* list = std::get_if<std::vector<IpAddress>>(&checked)) {
        require(!bad && !resolved.empty());
        for (const auto& a : *list)
            require(is_public(a));
    } else {
        require(bad.has_value() || resolved.empty());
    }
    return 0;
}
