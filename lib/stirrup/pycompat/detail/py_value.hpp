#pragma once
// The values an expression can produce (None, bool, int, float, Ellipsis,
// tuple, list) and Python's operators on them, including the exact
// TypeError/ZeroDivisionError/OverflowError texts CPython 3.11 uses.

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "stirrup/pycompat/detail/py_bigint.hpp"

namespace stirrup::detail::pyexpr {

struct Value;
struct NoneValue {};
struct EllipsisValue {};
/// Tuples and lists are immutable here (nothing can mutate them), so they share storage.
struct Sequence {
    bool is_list = false;
    std::shared_ptr<const std::vector<Value>> items;
};

struct Value {
    std::variant<NoneValue, bool, BigInt, double, EllipsisValue, Sequence> v;
};

Value make_none();
Value make_bool(bool b);
Value make_int(BigInt i);
Value make_float(double d);
Value make_ellipsis();
Value make_sequence(bool is_list, std::vector<Value> items);

enum class BinOp { Add, Sub, Mul, MatMul, TrueDiv, FloorDiv, Mod, Pow, LShift, RShift, BitAnd, BitOr, BitXor };
enum class UnaryOp { Plus, Minus, Invert, Not };
enum class CmpOp { Lt, Le, Gt, Ge, Eq, Ne, In, NotIn, Is, IsNot };

const char* type_name(const Value& x);
bool truthy(const Value& x);
/// str(x) (equal to repr(x) for these types); ints over 4300 digits raise
/// Python's ValueError like CPython's default int_max_str_digits.
std::string repr(const Value& x);

Value binary_op(BinOp op, const Value& a, const Value& b);
Value unary_op(UnaryOp op, const Value& a);
bool compare_op(CmpOp op, const Value& a, const Value& b);
/// a[index] for tuples and lists.
Value subscript(const Value& a, const Value& index);

} // namespace stirrup::detail::pyexpr
