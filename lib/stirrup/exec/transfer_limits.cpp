#include "stirrup/exec/transfer_limits.hpp"

#include <algorithm>
#include <string>

#include "stirrup/core/error.hpp"

namespace stirrup::detail {

void TransferBudget::check_file(std::uint64_t size) const
{
    if (size > limits_.max_file_bytes)
        throw FileTooLargeError("File is too large: " + std::to_string(size) + " bytes (the limit is " +
                                std::to_string(limits_.max_file_bytes) + " bytes per file)");
}

std::uint64_t TransferBudget::claim(std::uint64_t size)
{
    check_file(size);
    std::lock_guard lock(mutex_);
    const std::uint64_t left = limits_.max_session_bytes - std::min(used_, limits_.max_session_bytes);
    if (size > left)
        throw FileTooLargeError("Session output limit reached: " + std::to_string(used_) + " of " +
                                std::to_string(limits_.max_session_bytes) + " bytes already saved, and this file has " +
                                std::to_string(size));
    used_ += size;
    return std::min(limits_.max_file_bytes, left);
}

void TransferBudget::settle(std::uint64_t claimed, std::uint64_t copied)
{
    std::lock_guard lock(mutex_);
    used_ = used_ - std::min(used_, claimed) + copied;
}

std::uint64_t TransferBudget::used() const
{
    std::lock_guard lock(mutex_);
    return used_;
}

void TransferBudget::reset()
{
    std::lock_guard lock(mutex_);
    used_ = 0;
}

} // namespace stirrup::detail
