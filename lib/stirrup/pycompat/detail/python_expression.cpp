// The calculator's evaluator: CPython 3.11 semantics for everything an
// `eval(expr, {"__builtins__": {}}, {})` of arithmetic can reach.
//
// Deliberate differences from Python, each because the tool must stay cheap
// and safe or because the construct is useless without builtins:
//   - Integers above ~100,000 digits, sequences above 100,000 items, results
//     above 4,000,000 characters and evaluations over a work budget raise an
//     error instead of being computed (Python would spend the memory/time).
//   - Expressions nested deeper than kMaxNesting (400) raise RecursionError
//     (CPython accepts about 3000 levels); flat chains such as a 10,000-term
//     sum are not nesting and work (CPython refuses those past ~3000 terms).
//   - String literals, complex numbers, lambdas, comprehensions, dict/set
//     displays, slicing, attribute access and `:=` are recognised but raise
//     NotImplementedError "... not supported by the calculator" once their
//     operands have been evaluated (so a NameError still comes first).
//   - `is` is approximated (equal immutable values are "identical", as
//     CPython's constant sharing makes them in practice; lists never are).
//   - Identifiers are not NFKC-normalised, and which non-ASCII characters
//     may form a name is approximated by Unicode block.

#include "stirrup/pycompat/detail/python_expression.hpp"

#include <new>
#include <string>

#include "stirrup/pycompat/detail/py_limits.hpp"
#include "stirrup/pycompat/detail/py_parser.hpp"
#include "stirrup/pycompat/detail/py_value.hpp"

namespace stirrup::detail {

namespace {

using namespace pyexpr;

Value eval(const Node& n);

Value eval_sequence(const Node& n, bool is_list)
{
    std::vector<Value> items;
    items.reserve(n.kids.size());
    for (const auto& k : n.kids)
        items.push_back(eval(*k));
    return make_sequence(is_list, std::move(items));
}

Value eval(const Node& n)
{
    switch (n.kind) {
    case Node::Kind::Constant:
        return n.value;
    case Node::Kind::Name:
        throw PythonExpressionError("NameError", "name '" + n.text + "' is not defined");
    case Node::Kind::Unsupported:
        for (const auto& k : n.kids)
            (void)eval(*k);
        throw PythonExpressionError("NotImplementedError", n.text);
    case Node::Kind::Tuple:
        return eval_sequence(n, false);
    case Node::Kind::List:
        return eval_sequence(n, true);
    case Node::Kind::Unary:
        return unary_op(n.unary, eval(*n.kids[0]));
    case Node::Kind::BinaryChain: {
        Value acc = eval(*n.kids[0]);
        for (std::size_t i = 0; i < n.ops.size(); ++i)
            acc = binary_op(n.ops[i], acc, eval(*n.kids[i + 1]));
        return acc;
    }
    case Node::Kind::And:
    case Node::Kind::Or: {
        // Short-circuits and yields the deciding operand itself, not a bool.
        const bool stop_when = n.kind == Node::Kind::Or;
        Value v = eval(*n.kids[0]);
        for (std::size_t i = 1; i < n.kids.size() && truthy(v) != stop_when; ++i)
            v = eval(*n.kids[i]);
        return v;
    }
    case Node::Kind::Compare: {
        Value left = eval(*n.kids[0]);
        for (std::size_t i = 0; i < n.cmps.size(); ++i) {
            Value right = eval(*n.kids[i + 1]);
            if (!compare_op(n.cmps[i], left, right))
                return make_bool(false);
            left = std::move(right);
        }
        return make_bool(true);
    }
    case Node::Kind::IfExp:
        return truthy(eval(*n.kids[1])) ? eval(*n.kids[0]) : eval(*n.kids[2]);
    case Node::Kind::Call: {
        // Nothing is callable without builtins; Python still evaluates the arguments first.
        const Value callee = eval(*n.kids[0]);
        for (std::size_t i = 1; i < n.kids.size(); ++i)
            (void)eval(*n.kids[i]);
        throw PythonExpressionError("TypeError", std::string("'") + type_name(callee) + "' object is not callable");
    }
    case Node::Kind::Subscript: {
        const Value target = eval(*n.kids[0]);
        return subscript(target, eval(*n.kids[1]));
    }
    }
    return make_none();
}

// What builtins.eval does to a str before compiling it.
std::string eval_source(std::string_view expr)
{
    if (expr.find('\0') != std::string_view::npos) {
        throw PythonExpressionError("SyntaxError", "source code string cannot contain null bytes");
    }
    while (!expr.empty() && (expr.front() == ' ' || expr.front() == '\t'))
        expr.remove_prefix(1);
    std::string src;
    src.reserve(expr.size());
    for (std::size_t i = 0; i < expr.size(); ++i) {
        if (expr[i] == '\r') {
            src += '\n';
            if (i + 1 < expr.size() && expr[i + 1] == '\n')
                ++i;
        } else {
            src += expr[i];
        }
    }
    return src;
}

} // namespace

WorkLimitError::WorkLimitError()
    : PythonExpressionError("MemoryError", "expression too expensive to evaluate (calculator work limit reached)")
{
}

std::string evaluate_python_expression(std::string_view expr)
{
    return evaluate_python_expression(expr, kWorkBudget);
}

std::string evaluate_python_expression(std::string_view expr, std::uint64_t work_budget)
{
    try {
        WorkBudgetScope budget(work_budget);
        const NodePtr tree = parse_expression(eval_source(expr));
        return repr(eval(*tree));
    } catch (const std::bad_alloc&) {
        throw PythonExpressionError("MemoryError", ""); // str(MemoryError()) is empty
    }
}

CalculatorResult calculator_result(std::string_view expr)
{
    try {
        return {"Result: " + evaluate_python_expression(expr), true};
    } catch (const PythonExpressionError& e) {
        return {std::string("Error evaluating expression: ") + e.what(), false};
    }
}

std::optional<CalculatorResult> quick_calculator_result(std::string_view expr, std::size_t max_chars,
                                                        std::uint64_t work_budget)
{
    if (expr.size() > max_chars)
        return std::nullopt;
    try {
        return CalculatorResult{"Result: " + evaluate_python_expression(expr, work_budget), true};
    } catch (const WorkLimitError&) {
        return std::nullopt;
    } catch (const PythonExpressionError& e) {
        return CalculatorResult{std::string("Error evaluating expression: ") + e.what(), false};
    }
}

std::string calculator_result_text(std::string_view expr)
{
    return calculator_result(expr).text;
}

} // namespace stirrup::detail
