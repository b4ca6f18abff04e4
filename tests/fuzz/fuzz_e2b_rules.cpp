// libFuzzer target for the E2B backend's rules on untrusted input: the
// control plane's answers, envd's file entries, version strings and realpath
// output. Only ResponseError escapes; what parses holds its invariants
// (a sandbox ID safe for URLs, relative paths without the root, one path from
// realpath), and Stirrup's re-quoting round-trips through shlex.split.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/e2b/detail/rules.hpp"
#include "stirrup/net/detail/url.hpp"
#include "stirrup/pycompat/detail/shlex.hpp"

#include "fuzz_harness.hpp"

using namespace stirrup::detail::e2b;
using stirrup::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in = stirrup::fuzz::as_text(data, size);

    try {
        const SandboxInfo s = parse_sandbox(in);
        require(valid_sandbox_id(s.sandbox_id));
        require(!s.envd_version.empty());
    } catch (const ResponseError&) {
    }
    const ApiErrorBody e = parse_api_error(500, in);
    require(!e.message.empty());
    try {
        (void)parse_stat_response(in);
    } catch (const ResponseError&) {
    }
    try {
        const auto entries = parse_list_dir_response(in);
        for (const auto& rel : relative_files(entries, "/home/user"))
            require(!rel.empty() && rel.front() != '/');
    } catch (const ResponseError&) {
    }

    // Split the input at its first NUL-free newline into two versions.
    const auto nl = in.find('\n');
    const std::string_view a = in.substr(0, nl);
    const std::string_view b = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (version_at_least(a, b) && version_at_least(b, a))
        require(version_at_least(a, a));

    if (auto p = parse_realpath_output(in)) {
        require(!p->empty());
        require(p->find('\0') == std::string::npos);
    }
    (void)inside_home(in);
    (void)sandbox_path(in);
    const std::string enc = stirrup::net::detail::percent_encode(in);
    require(enc.size() >= in.size());

    // Re-quoting: argv from NUL-separated words.
    std::vector<std::string> argv;
    std::size_t pos = 0;
    while (pos <= in.size() && argv.size() < 8) {
        const auto nul = in.find('\0', pos);
        argv.emplace_back(in.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos));
        if (nul == std::string_view::npos)
            break;
        pos = nul + 1;
    }
    const auto back = stirrup::detail::shell::split(quote_argv_for_shell(argv));
    require(back.has_value());
    require(*back == argv);
    return 0;
}
