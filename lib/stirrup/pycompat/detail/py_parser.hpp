#pragma once
// Parses one expression as CPython 3.11's eval() would, into a tree the
// evaluator walks. Syntax errors carry CPython's message and line, including
// its precedence rules: a tokenizer error later in the text beats a parser
// error, and an unclosed bracket is reported only when the parser ran into it.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/pycompat/detail/py_value.hpp"

namespace stirrup::detail::pyexpr {

struct Node {
    enum class Kind {
        Constant,
        Name,
        Unsupported, // valid Python the calculator does not evaluate; kids run first
        Tuple,
        List,
        Unary,
        BinaryChain, // kids[0] ops[0] kids[1] ops[1] ... left to right
        And,
        Or,
        Compare, // kids[0] cmps[0] kids[1] ... chained
        IfExp,   // kids: body, condition, orelse
        Call,    // kids: callee, arguments
        Subscript,
    };
    Kind kind = Kind::Constant;
    Value value;      // Constant
    std::string text; // Name: identifier; Unsupported: message
    UnaryOp unary = UnaryOp::Plus;
    std::vector<BinOp> ops;
    std::vector<CmpOp> cmps;
    std::vector<std::unique_ptr<Node>> kids;
    int depth = 1;
};

using NodePtr = std::unique_ptr<Node>;

/// `source` is eval()'s input after its own preprocessing (leading blanks
/// stripped, newlines normalised). Throws PythonExpressionError.
NodePtr parse_expression(std::string_view source);

} // namespace stirrup::detail::pyexpr
