#include "stirrup/tools/calculator_tool.hpp"

#include "stirrup/core/offload.hpp"
#include "stirrup/tools/python_expression.hpp"

namespace stirrup {
namespace {

boost::asio::awaitable<ToolResult> calculate(CalculatorParams params, ToolContext&)
{
    // An evaluation may spend up to its work budget (a fraction of a second
    // of CPU, see py_limits.hpp): too long to hold the event loop.
    CalculatorResult result;
    co_await offload([&] { result = calculator_result(params.expression); });
    co_return ToolResult{std::move(result.text), result.success, ToolMetadata::use_count(1)};
}

} // namespace

Tool calculator_tool()
{
    return make_tool<CalculatorParams>(kCalculatorToolName, kCalculatorToolDescription, calculate);
}

} // namespace stirrup
