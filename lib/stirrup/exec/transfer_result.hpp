#pragma once
// Results of moving files into and out of an execution environment. Per-file
// failures are collected with a reason; the batch continues.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace stirrup {

struct UploadedFile {
    std::string source_path; ///< as resolved on the source side
    std::string dest_path;   ///< path inside the destination environment
    std::uint64_t size = 0;
};

struct UploadFilesResult {
    std::vector<UploadedFile> uploaded;
    std::map<std::string, std::string> failed; ///< source path -> reason
    /// Entries of uploaded directories left out on purpose (a symlink out of
    /// the directory, a FIFO, a device...): source path -> reason. Not a
    /// failure; the caller should warn.
    std::map<std::string, std::string> skipped;
};

struct SavedFile {
    std::string source_path; ///< path as given, inside the environment
    std::string output_path; ///< where it was written (host path, or path in the destination provider)
    std::uint64_t size = 0;
};

struct SaveOutputFilesResult {
    std::vector<SavedFile> saved;
    std::map<std::string, std::string> failed; ///< source path -> reason
};

} // namespace stirrup
