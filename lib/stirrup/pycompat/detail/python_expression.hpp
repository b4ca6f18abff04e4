#pragma once
// The calculator tool's evaluator. Stirrup runs the model's text through
// Python's `eval(expr, {"__builtins__": {}}, {})`; this is a self-contained
// reimplementation of the part of Python that such an eval can reach, so the
// port answers with the same text without embedding an interpreter (and
// without eval's sandbox escapes). What it deliberately does differently is
// listed in python_expression.cpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stirrup/core/error.hpp"

namespace stirrup::detail {

/// A Python exception raised while compiling or evaluating an expression.
/// what() is `str(e)` as CPython 3.11 would print it, so
/// "Error evaluating expression: {what()}" reads as Stirrup's text.
class PythonExpressionError : public Error {
public:
    PythonExpressionError(std::string python_type, const std::string& message)
        : Error(message), python_type_(std::move(python_type))
    {
    }
    /// The Python exception class, e.g. "ZeroDivisionError", "SyntaxError".
    const std::string& python_type() const noexcept { return python_type_; }

private:
    std::string python_type_;
};

/// The evaluation spent its whole work budget (py_limits.hpp): Python's
/// MemoryError as far as the model is told.
class WorkLimitError : public PythonExpressionError {
public:
    WorkLimitError();
};

/// `str(eval(expr, {"__builtins__": {}}, {}))`, spending at most
/// `work_budget` units (py_limits.hpp). Throws PythonExpressionError.
std::string evaluate_python_expression(std::string_view expr);
std::string evaluate_python_expression(std::string_view expr, std::uint64_t work_budget);

struct CalculatorResult {
    std::string text; ///< "Result: ..." or "Error evaluating expression: ..."
    bool success = false;
};

/// The calculator tool's full answer for `expr`, as Stirrup words it.
CalculatorResult calculator_result(std::string_view expr);

/// calculator_result(), when it is cheap: nullopt, having changed nothing,
/// when `expr` is longer than `max_chars` or evaluating it needs more than
/// `work_budget` units. Lets a caller on an event loop answer the common
/// short expression in place and send only the rest to a thread.
std::optional<CalculatorResult> quick_calculator_result(std::string_view expr, std::size_t max_chars,
                                                        std::uint64_t work_budget);

/// Just the text of calculator_result().
std::string calculator_result_text(std::string_view expr);

} // namespace stirrup::detail
