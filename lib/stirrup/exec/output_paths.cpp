#include "stirrup/exec/output_paths.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

#include "stirrup/core/error.hpp"

namespace stirrup {
namespace {

namespace fs = std::filesystem;

// A path parsed the way Python's PurePosixPath parses it. The views point into
// the caller's string, so a PosixPath never outlives its source.
struct PosixPath {
    std::string_view root;               // "", "/" or "//"
    std::vector<std::string_view> parts; // no "" and no "." entries

    [[nodiscard]] bool absolute() const { return !root.empty(); }
    [[nodiscard]] std::string_view name() const { return parts.empty() ? std::string_view{} : parts.back(); }
    [[nodiscard]] bool has_traversal() const { return std::find(parts.begin(), parts.end(), "..") != parts.end(); }
};

PosixPath parse(std::string_view text)
{
    PosixPath path;
    // POSIX lets an implementation give "//" a meaning of its own, so Python
    // keeps exactly two leading slashes; three or more mean plain "/".
    if (text.starts_with("//") && !text.starts_with("///"))
        path.root = text.substr(0, 2);
    else if (text.starts_with('/'))
        path.root = text.substr(0, 1);

    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto end = std::min(text.find('/', pos), text.size());
        const auto part = text.substr(pos, end - pos);
        if (!part.empty() && part != ".")
            path.parts.push_back(part);
        pos = end + 1;
    }
    return path;
}

std::string to_string(std::string_view root, std::span<const std::string_view> parts)
{
    if (root.empty() && parts.empty())
        return ".";
    std::string out{root};
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0)
            out += '/';
        out += parts[i];
    }
    return out;
}

std::string to_string(const PosixPath& path)
{
    return to_string(path.root, path.parts);
}

// PurePosixPath.relative_to without walk_up: `base` must be a component-wise
// prefix of `path` with the same root.
std::optional<PosixPath> relative_to(const PosixPath& path, const PosixPath& base)
{
    if (path.root != base.root || base.parts.size() > path.parts.size())
        return std::nullopt;
    if (!std::equal(base.parts.begin(), base.parts.end(), path.parts.begin()))
        return std::nullopt;
    PosixPath rel;
    rel.parts.assign(path.parts.begin() + static_cast<std::ptrdiff_t>(base.parts.size()), path.parts.end());
    return rel;
}

// Path.resolve(strict=False): symlinks followed as far as the path exists.
// std::nullopt where Python would have kept going lexically (loops, EACCES):
// such a spelling then simply does not match a host root.
std::optional<fs::path> resolve_weakly(const fs::path& path)
{
    std::error_code ec;
    auto absolute = fs::absolute(path, ec);
    if (ec)
        return std::nullopt;
    auto resolved = fs::weakly_canonical(absolute, ec);
    if (ec)
        return std::nullopt;
    if (!resolved.has_filename() && resolved.has_relative_path())
        resolved = resolved.parent_path();
    return resolved;
}

// An absolute source spelled through a symlink of a host root (macOS /tmp vs
// /private/tmp) keeps its lexical suffix below the ancestor that resolves to
// the root.
std::optional<std::string> relative_to_canonical_host_root(const PosixPath& source,
                                                           std::span<const OutputSourceRoot> roots)
{
    if (!source.absolute())
        return std::nullopt;
    for (const auto& root : roots) {
        if (!root.host_path)
            continue;
        const auto canonical_root = resolve_weakly(*root.host_path);
        if (!canonical_root)
            continue;
        // The source itself first, then each parent up to the root directory.
        for (std::size_t depth = source.parts.size() + 1; depth-- > 0;) {
            const std::span<const std::string_view> ancestor_parts{source.parts.data(), depth};
            const auto resolved = resolve_weakly(to_string(source.root, ancestor_parts));
            if (resolved && *resolved == *canonical_root) {
                const std::span<const std::string_view> rest{source.parts.data() + depth, source.parts.size() - depth};
                return to_string("", rest);
            }
        }
    }
    return std::nullopt;
}

} // namespace

std::string posix_normalize(std::string_view path)
{
    if (path.empty())
        return {};
    return to_string(parse(path));
}

std::string safe_output_relative_path(std::string_view src, std::span<const OutputSourceRoot> roots)
{
    const std::string src_text{src};
    if (src.empty() || src.find('\0') != std::string_view::npos)
        throw PathError("Output source path is empty or invalid");

    const auto source = parse(src);
    if (source.has_traversal())
        throw PathError("Output source path contains traversal: " + src_text);
    if (source.name().empty())
        throw PathError("Output source path does not identify a file: " + src_text);

    std::string relative;
    if (auto canonical = relative_to_canonical_host_root(source, roots)) {
        relative = std::move(*canonical);
    } else if (!source.absolute()) {
        relative = to_string(source);
    } else {
        // First matching root wins, as in Stirrup.
        std::optional<PosixPath> match;
        for (const auto& root : roots) {
            if ((match = relative_to(source, parse(root.path))))
                break;
        }
        if (!match)
            throw PathError("Output source path is outside known execution roots: " + src_text);
        relative = to_string(*match);
    }

    // Re-check the result: "/root" itself gives ".", and a canonical match is
    // built from text that never went through the checks above.
    const auto result = parse(relative);
    if (result.name().empty() || result.absolute() || result.has_traversal())
        throw PathError("Output source path cannot be safely preserved: " + src_text);
    return relative;
}

std::string output_destination_identity(std::string_view dest, std::string_view root)
{
    const auto destination = parse(dest);
    if (destination.has_traversal() || !relative_to(destination, parse(root)))
        throw PathError("Output destination escapes output directory: " + std::string{dest});
    return to_string(destination);
}

std::string posix_join(std::string_view dir, std::string_view name)
{
    if (dir.empty())
        return std::string(name);
    std::string out(dir);
    if (out.back() != '/')
        out += '/';
    out += name;
    return out;
}

} // namespace stirrup
