#pragma once
// The calculator tool (Stirrup's CALCULATOR_TOOL, tools/calculator.py): the
// model writes a Python expression and gets str() of its value back.

#include <string>

#include "stirrup/core/tool.hpp"
#include "stirrup/core/tool_params.hpp"

namespace stirrup {

struct CalculatorParams {
    std::string expression;

    static auto stirrup_params()
    {
        return params<CalculatorParams>(
            "CalculatorParams", "Mathematical expression to be evaluated.",
            field(&CalculatorParams::expression, "expression",
                  "Mathematical expression to evaluate (Python syntax, e.g., '2 + 2 * 3')"));
    }
};

inline constexpr const char* kCalculatorToolName = "calculator";
inline constexpr const char* kCalculatorToolDescription =
    "Evaluate mathematical expressions. Supports basic arithmetic operations (+, -, *, /, **, %, //).";

/// "Result: {value}" on success; "Error evaluating expression: {error}" with
/// success == false otherwise (see python_expression.hpp for the evaluator).
Tool calculator_tool();

} // namespace stirrup
