#pragma once
// Stirrup's output-path rules (base.py _safe_output_relative_path and
// output_destination_identity): which relative path a declared output file
// keeps when it is saved. Pure functions: no I/O except the optional
// canonical comparison of host roots.

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace stirrup {

/// A directory inside the execution environment that output paths may name
/// absolutely (e.g. the temp dir, or /workspace), and where it lives on the
/// host when it does.
struct OutputSourceRoot {
    std::string path;                               ///< POSIX path as the environment sees it
    std::optional<std::filesystem::path> host_path; ///< same directory on the host, if any
};

/// PurePosixPath normalisation: "./a" -> "a", "a//b" -> "a/b", trailing "/"
/// dropped, "." parts removed, ".." kept. "" stays "" (Python gives "."),
/// "./" gives ".", "/" stays "/", and exactly two leading slashes stay "//"
/// (POSIX leaves "//" implementation-defined; three or more collapse to "/").
std::string posix_normalize(std::string_view path);

/// `dir` + "/" + `name` (no doubled slash; an empty `dir` gives `name`).
std::string posix_join(std::string_view dir, std::string_view name);

/// The relative path a declared output keeps. Throws PathError with Stirrup's
/// messages: "Output source path is empty or invalid", "... contains traversal: {src}",
/// "... does not identify a file: {src}", "... is outside known execution roots: {src}",
/// "... cannot be safely preserved: {src}".
std::string safe_output_relative_path(std::string_view src, std::span<const OutputSourceRoot> roots);

/// Lexical identity of a destination inside an output root (POSIX): the
/// normalised path; throws PathError "Output destination escapes output directory: {dest}"
/// when it has a ".." part or is not inside `root`.
std::string output_destination_identity(std::string_view dest, std::string_view root);

} // namespace stirrup
