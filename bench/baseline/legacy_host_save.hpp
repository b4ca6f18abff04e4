#pragma once
// The benchmark's baseline: the host save as it was before the security
// issue (see legacy_host_save.cpp). Not part of the library.

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/output_paths.hpp"
#include "stirrup/exec/transfer_result.hpp"

namespace stirrup::legacy {

using HostSourceResolver = std::function<std::filesystem::path(const std::string& path)>;
using CaseSensitivityProbe = std::function<bool(const std::filesystem::path& dir)>;

bool is_case_sensitive_directory(const std::filesystem::path& dir);

SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths,
                                             const std::filesystem::path& output_dir,
                                             std::span<const OutputSourceRoot> roots,
                                             const HostSourceResolver& resolve);

SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths,
                                             const std::filesystem::path& output_dir,
                                             std::span<const OutputSourceRoot> roots, const HostSourceResolver& resolve,
                                             const CaseSensitivityProbe& is_case_sensitive);

void atomic_write_file(const std::filesystem::path& path, std::string_view data);

} // namespace stirrup::legacy
