#include "stirrup/pycompat/detail/py_limits.hpp"

#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup::detail::pyexpr {

namespace {
// Thread-local so concurrent tool calls each get their own budget.
thread_local std::uint64_t t_remaining = 0;
thread_local bool t_active = false;
} // namespace

void charge_work(std::uint64_t units)
{
    if (!t_active)
        return;
    if (units > t_remaining) {
        t_remaining = 0;
        throw detail::WorkLimitError();
    }
    t_remaining -= units;
}

WorkBudgetScope::WorkBudgetScope(std::uint64_t units) : saved_(t_remaining), saved_active_(t_active)
{
    t_remaining = units;
    t_active = true;
}

WorkBudgetScope::~WorkBudgetScope()
{
    t_remaining = saved_;
    t_active = saved_active_;
}

} // namespace stirrup::detail::pyexpr
