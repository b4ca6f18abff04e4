// libFuzzer target for the calculator's Python evaluator. Any input must end
// in a result or a detail::PythonExpressionError: no crash, no UB, no other exception,
// and bounded time and memory (the size and work limits in py_limits.hpp).
// The tool text must agree with the evaluator's outcome.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "stirrup/pycompat/detail/python_expression.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::fuzz::require;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view expr = stirrup::fuzz::as_text(data, size);
    std::string result;
    bool ok = false;
    try {
        result = stirrup::detail::evaluate_python_expression(expr);
        ok = true;
    } catch (const stirrup::detail::PythonExpressionError& e) {
        require(!e.python_type().empty());
        result = e.what();
    }
    const auto tool = stirrup::detail::calculator_result(expr);
    require(tool.success == ok);
    require(tool.text == (ok ? "Result: " : "Error evaluating expression: ") + result);
    return 0;
}
