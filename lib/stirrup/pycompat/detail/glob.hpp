#pragma once
// A session's input_files entries, expanded before upload. An entry with any
// of `*?[` is a glob, expanded as Stirrup's glob.glob(p, recursive=True) does
// (CPython 3.13's glob module, which fixed 3.12's `missing/**` quirk); other
// entries pass through. Every result is normalised as Stirrup's Path(p) does,
// so `src/**` gives `src`, never `src/`.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stirrup::detail {

/// Stirrup's test for a glob: the entry contains `*`, `?` or `[`.
bool is_glob_pattern(std::string_view entry) noexcept;

/// Python's fnmatch of one path component (case-sensitive, as on POSIX):
/// `*` any run, `?` one character, `[...]` a set with ranges and `[!...]`
/// negation, an unclosed `[` literal; characters are UTF-8 code points.
/// Knows nothing of hidden names: the walk applies that rule.
bool glob_match_component(std::string_view pattern, std::string_view name);

/// pathlib.PurePosixPath(p) as a string: repeated slashes and `.` components
/// dropped, no trailing slash, a leading `//` kept, "" becomes ".".
std::string normalize_path_like_pathlib(std::string_view path);

/// Expands `entries` in order. A glob's matches (files or directories) are
/// sorted; `**` as a whole component matches zero or more directories,
/// wildcards never match a name starting with '.' unless the pattern
/// component starts with '.' too, and symlinked directories are followed
/// except into a directory already being walked (Python would loop until
/// ELOOP). Relative patterns are resolved against `cwd` and give relative
/// results, absolute ones absolute results. Entries that are not globs are
/// normalised but not checked: the upload reports missing files. Exact
/// duplicates are dropped, the first kept.
/// Throws ConfigError("Glob pattern '{p}' matched no files"), or a
/// ConfigError for a pattern holding a NUL byte.
/// Blocking directory walk: run it off the event loop for large trees.
std::vector<std::string> expand_input_files(const std::vector<std::string>& entries,
                                            const std::filesystem::path& cwd = std::filesystem::current_path());

} // namespace stirrup::detail
