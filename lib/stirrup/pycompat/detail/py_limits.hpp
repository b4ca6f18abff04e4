#pragma once
// Bounds on what one calculator call may cost. Python itself would happily
// spend minutes or gigabytes on `2**10**9` or `[0]*10**10`; a tool call from a
// model must not, so the evaluator refuses such work with a clear error
// instead of matching Python there.

#include <cstddef>
#include <cstdint>

namespace stirrup::detail::pyexpr {

/// Largest integer kept, in bits (about 100,000 decimal digits). Python's
/// str() already refuses to print more than 4300 digits, so larger values
/// only matter as intermediates such as `2**400000 % 7`.
inline constexpr std::size_t kMaxIntBits = 332'200;

/// Longest tuple or list built by `*`.
inline constexpr std::size_t kMaxSequenceLength = 100'000;

/// Deepest nesting of expressions (CPython gives up at roughly 3000). The
/// recursive-descent parser then needs at most about 640 KiB of stack in an
/// optimised build (1.5 MiB at -O0), well inside a default 8 MiB thread.
inline constexpr int kMaxNesting = 400;
/// Deepest expression tree; one level of source nesting (e.g. `[1 if 1 else -x]`)
/// can add several tree levels, each costing the evaluator one small frame.
inline constexpr int kMaxTreeDepth = 3 * kMaxNesting;

/// Units of work (limb products, element visits) one evaluation may spend;
/// a fraction of a second of CPU in an optimised build.
inline constexpr std::uint64_t kWorkBudget = 200'000'000;

/// Spends `units` of the current evaluation's budget; throws
/// WorkLimitError (a PythonExpressionError) once it is exhausted. A no-op
/// outside an evaluation.
void charge_work(std::uint64_t units);

/// Installs a fresh budget for the current thread for its lifetime.
class WorkBudgetScope {
public:
    explicit WorkBudgetScope(std::uint64_t units);
    ~WorkBudgetScope();
    WorkBudgetScope(const WorkBudgetScope&) = delete;
    WorkBudgetScope& operator=(const WorkBudgetScope&) = delete;

private:
    std::uint64_t saved_;
    bool saved_active_;
};

} // namespace stirrup::detail::pyexpr
