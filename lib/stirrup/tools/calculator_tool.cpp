#include "stirrup/tools/calculator_tool.hpp"

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/pycompat/detail/py_limits.hpp"
#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup {
namespace {

// What may run on the event loop: a short expression (its parse nests at
// most this deep, so it needs little stack on whatever thread runs the
// loop) and about a millisecond of work. Handing every call to a thread cost
// more CPU than the common "2 + 2" itself (a wake-up and two context switches).
constexpr std::size_t kInlineMaxChars = 128;
constexpr std::uint64_t kInlineWorkBudget = detail::pyexpr::kWorkBudget / 200;

boost::asio::awaitable<ToolResult> calculate(CalculatorParams params, ToolContext&)
{
    std::optional<detail::CalculatorResult> result =
        detail::quick_calculator_result(params.expression, kInlineMaxChars, kInlineWorkBudget);
    // The rest may spend up to the full work budget (a fraction of a second
    // of CPU): too long to hold the event loop.
    if (!result)
        co_await detail::offload([&] { result = detail::calculator_result(params.expression); });
    co_return ToolResult{std::move(result->text), result->success, ToolMetadata::use_count(1)};
}

} // namespace

Tool calculator_tool()
{
    return make_tool<CalculatorParams>(kCalculatorToolName, kCalculatorToolDescription, calculate);
}

} // namespace stirrup
