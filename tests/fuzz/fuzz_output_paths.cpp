// libFuzzer target for the output-path rules. Input: one flags byte, then a
// path; after a '\n', the rest is an output root for the identity check.
// Invariants: nothing but PathError is thrown; posix_normalize is idempotent;
// an accepted relative path is non-empty, relative, normalised, free of ".."
// and NUL, and stays inside any root it is joined under; an accepted identity
// is normalised and lies under its root.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/output_paths.hpp"

#include "fuzz_harness.hpp"

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

bool has_part(std::string_view path, std::string_view part)
{
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto end = std::min(path.find('/', pos), path.size());
        if (path.substr(pos, end - pos) == part)
            return true;
        pos = end + 1;
    }
    return false;
}

// `path` (normalised) names `root` (normalised) or something below it.
bool under(std::string_view path, std::string_view root)
{
    if (root == ".")
        return !path.starts_with('/');
    if (path == root)
        return true;
    const std::string prefix = root.ends_with('/') ? std::string{root} : std::string{root} + '/';
    return path.starts_with(prefix) && !(root == "/" && path.starts_with("//") && !path.starts_with("///"));
}

void check_relative(std::string_view src, const std::vector<stirrup::OutputSourceRoot>& roots)
{
    std::string rel;
    try {
        rel = stirrup::safe_output_relative_path(src, roots);
    } catch (const stirrup::PathError&) {
        return;
    }
    check(!rel.empty() && rel != ".");
    check(!rel.starts_with('/'));
    check(rel.find('\0') == std::string::npos);
    check(!has_part(rel, ".."));
    check(stirrup::posix_normalize(rel) == rel);

    for (const std::string root : {"/out", "out", "//out", "/"}) {
        const auto joined = root.ends_with('/') ? root + rel : root + "/" + rel;
        check(under(stirrup::posix_normalize(joined), stirrup::posix_normalize(root)));
        check(stirrup::output_destination_identity(joined, root) == stirrup::posix_normalize(joined));
    }
}

void check_identity(std::string_view dest, std::string_view root)
{
    std::string identity;
    try {
        identity = stirrup::output_destination_identity(dest, root);
    } catch (const stirrup::PathError&) {
        return;
    }
    check(!has_part(identity, ".."));
    check(stirrup::posix_normalize(identity) == identity);
    const auto normal_root = root.empty() ? std::string{"."} : stirrup::posix_normalize(root);
    check(under(identity, normal_root));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0)
        return 0;
    const auto flags = data[0];
    const std::string_view input = stirrup::fuzz::as_text(data + 1, size - 1);
    const auto newline = input.find('\n');
    const auto path = input.substr(0, newline);
    const auto root = newline == std::string_view::npos ? std::string_view{"/workspace"} : input.substr(newline + 1);

    const auto once = stirrup::posix_normalize(path);
    check(stirrup::posix_normalize(once) == once);
    check(path.empty() == once.empty());

    std::vector<stirrup::OutputSourceRoot> roots{{"/workspace", std::nullopt}, {std::string{root}, std::nullopt}};
    // A host-backed root makes the canonical branch stat every ancestor, so it
    // only runs on short inputs to keep the fuzzer fast.
    if ((flags & 1) != 0 && path.size() <= 256)
        roots.push_back({"/tmp", std::filesystem::path{"/tmp"}});
    check_relative(path, roots);
    check_identity(path, root);
    return 0;
}
