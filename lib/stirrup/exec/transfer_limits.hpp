#pragma once
// How much may leave an execution environment. The code in it is hostile:
// `truncate -s 100G f` costs it nothing, and saving f must not fill the host's
// disk or memory. Sizes are apparent sizes (st_size): a sparse file counts in
// full, and is copied sparsely when it fits.

#include <cstdint>
#include <mutex>

namespace stirrup {

struct TransferLimits {
    /// The largest file that may be saved, transferred to another
    /// environment, or read into memory (read_file, view_image).
    std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
    /// All files saved or transferred out of one environment over its life.
    std::uint64_t max_session_bytes = std::uint64_t{4} << 30;
};

namespace detail {

/// The running total of one environment, safe to use from several threads.
class TransferBudget {
public:
    explicit TransferBudget(TransferLimits limits = {}) : limits_(limits) {}

    const TransferLimits& limits() const noexcept { return limits_; }

    /// Claims `size` bytes for one file and returns the most its copy may
    /// reach (the file may grow while it is copied). Throws
    /// FileTooLargeError naming the limit it would pass.
    std::uint64_t claim(std::uint64_t size);
    /// Settles a claim: `copied` bytes were written (0 for a failed copy).
    void settle(std::uint64_t claimed, std::uint64_t copied);
    /// Throws FileTooLargeError when `size` is past the per-file limit.
    void check_file(std::uint64_t size) const;

    std::uint64_t used() const;
    void reset();

private:
    mutable std::mutex mutex_;
    TransferLimits limits_;
    std::uint64_t used_ = 0;
};

} // namespace detail
} // namespace stirrup
