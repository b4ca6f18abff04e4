// libFuzzer target for the glob component matcher. Input: one byte giving
// the pattern's length, the pattern, then the name.
// Invariants: no crash and no exception but ConfigError; a pattern without
// `*?[` matches exactly itself; the name with its special characters escaped
// as glob.escape does matches exactly the name; `*` matches every name and a
// pattern followed by `*` matches whatever the pattern matched.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_harness.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/pycompat/detail/glob.hpp"

namespace {

using stirrup::fuzz::require;

// glob.escape for one component: each of `*?[` becomes a one-character set.
std::string escape(std::string_view name)
{
    std::string out;
    for (const char c : name) {
        if (c == '*' || c == '?' || c == '[') {
            out += '[';
            out += c;
            out += ']';
        } else {
            out += c;
        }
    }
    return out;
}

bool match(std::string_view pattern, std::string_view name)
{
    try {
        return stirrup::detail::glob_match_component(pattern, name);
    } catch (const stirrup::ConfigError&) {
        return false;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::string_view in = stirrup::fuzz::as_text(data + 1, size - 1);
    const std::size_t cut = data[0] % (in.size() + 1);
    const std::string_view pattern = in.substr(0, cut);
    const std::string_view name = in.substr(cut);

    const bool matched = match(pattern, name);
    if (!stirrup::detail::is_glob_pattern(pattern)) {
        require(matched == (pattern == name));
        require(match(pattern, pattern));
    }
    require(match(escape(name), name));
    require(match(escape(pattern), name) == (pattern == name));
    require(match("*", name));
    if (matched)
        require(match(std::string(pattern) + "*", name));
    return 0;
}
