#include "stirrup/pycompat/detail/py_value.hpp"

#include <cmath>
#include <optional>
#include <utility>

#include "stirrup/pycompat/detail/py_float.hpp"
#include "stirrup/pycompat/detail/py_limits.hpp"
#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup::detail::pyexpr {

namespace {

// CPython's default sys.int_info.default_max_str_digits.
constexpr std::size_t kMaxStrDigits = 4300;
// Any int this wide has more than kMaxStrDigits digits (2**14286 > 10**4300).
constexpr std::size_t kMaxStrBits = 14286;
// Longest result text built; a shared sub-list repeated many times would
// otherwise print gigabytes.
constexpr std::size_t kMaxReprChars = 4'000'000;
// Work units per element visited (compared, printed, copied): a visit costs
// about as much as twenty limb products.
constexpr std::uint64_t kElementCost = 20;

[[noreturn]] void type_error(const std::string& message)
{
    throw detail::PythonExpressionError("TypeError", message);
}

std::string quoted_type(const Value& x)
{
    return std::string("'") + type_name(x) + "'";
}

bool is_intlike(const Value& x)
{
    return std::holds_alternative<bool>(x.v) || std::holds_alternative<BigInt>(x.v);
}

bool is_number(const Value& x)
{
    return is_intlike(x) || std::holds_alternative<double>(x.v);
}

BigInt as_int(const Value& x)
{
    if (const auto* b = std::get_if<bool>(&x.v))
        return BigInt(*b ? 1 : 0);
    return std::get<BigInt>(x.v);
}

double int_to_double(const BigInt& i)
{
    const auto d = i.to_double();
    if (!d)
        throw detail::PythonExpressionError("OverflowError", "int too large to convert to float");
    return *d;
}

double as_double(const Value& x)
{
    if (const auto* d = std::get_if<double>(&x.v))
        return *d;
    return int_to_double(as_int(x));
}

const Sequence* as_seq(const Value& x)
{
    return std::get_if<Sequence>(&x.v);
}

const char* op_symbol(BinOp op)
{
    switch (op) {
    case BinOp::Add:
        return "+";
    case BinOp::Sub:
        return "-";
    case BinOp::Mul:
        return "*";
    case BinOp::MatMul:
        return "@";
    case BinOp::TrueDiv:
        return "/";
    case BinOp::FloorDiv:
        return "//";
    case BinOp::Mod:
        return "%";
    case BinOp::Pow:
        return "** or pow()";
    case BinOp::LShift:
        return "<<";
    case BinOp::RShift:
        return ">>";
    case BinOp::BitAnd:
        return "&";
    case BinOp::BitOr:
        return "|";
    case BinOp::BitXor:
        return "^";
    }
    return "?";
}

[[noreturn]] void unsupported(BinOp op, const Value& a, const Value& b)
{
    type_error(std::string("unsupported operand type(s) for ") + op_symbol(op) + ": " + quoted_type(a) + " and " +
               quoted_type(b));
}

// Python's -1/0/1 ordering of two numbers; nullopt when a NaN makes them unordered.
std::optional<int> number_compare(const Value& a, const Value& b)
{
    const auto* fa = std::get_if<double>(&a.v);
    const auto* fb = std::get_if<double>(&b.v);
    if (!fa && !fb)
        return compare(as_int(a), as_int(b));
    if (fa && fb) {
        if (std::isnan(*fa) || std::isnan(*fb))
            return std::nullopt;
        return *fa < *fb ? -1 : *fa > *fb ? 1 : 0;
    }
    // int against float, compared exactly as CPython does (no rounding of the int).
    const double f = fa ? *fa : *fb;
    const BigInt i = as_int(fa ? b : a);
    int c = 0; // sign of (int - float)
    if (std::isnan(f))
        return std::nullopt;
    if (std::isinf(f)) {
        c = f > 0 ? -1 : 1;
    } else {
        const double whole = std::trunc(f);
        c = compare(i, BigInt::from_integral_double(whole));
        if (c == 0)
            c = f > whole ? -1 : f < whole ? 1 : 0;
    }
    return fa ? -c : c;
}

bool equal(const Value& a, const Value& b)
{
    charge_work(kElementCost);
    if (is_number(a) && is_number(b)) {
        const auto c = number_compare(a, b);
        return c && *c == 0;
    }
    if (a.v.index() != b.v.index())
        return false;
    if (std::holds_alternative<NoneValue>(a.v) || std::holds_alternative<EllipsisValue>(a.v))
        return true;
    const auto& sa = std::get<Sequence>(a.v);
    const auto& sb = std::get<Sequence>(b.v);
    if (sa.is_list != sb.is_list || sa.items->size() != sb.items->size())
        return false;
    if (sa.items == sb.items)
        return true; // shared storage; NaN aside, as Python's identity shortcut
    for (std::size_t i = 0; i < sa.items->size(); ++i) {
        if (!equal((*sa.items)[i], (*sb.items)[i]))
            return false;
    }
    return true;
}

const char* cmp_symbol(CmpOp op)
{
    switch (op) {
    case CmpOp::Lt:
        return "<";
    case CmpOp::Le:
        return "<=";
    case CmpOp::Gt:
        return ">";
    case CmpOp::Ge:
        return ">=";
    default:
        return "==";
    }
}

bool apply_order(CmpOp op, int c)
{
    switch (op) {
    case CmpOp::Lt:
        return c < 0;
    case CmpOp::Le:
        return c <= 0;
    case CmpOp::Gt:
        return c > 0;
    default:
        return c >= 0;
    }
}

bool order(CmpOp op, const Value& a, const Value& b)
{
    charge_work(kElementCost);
    if (is_number(a) && is_number(b)) {
        const auto c = number_compare(a, b);
        return c && apply_order(op, *c);
    }
    const auto* sa = as_seq(a);
    const auto* sb = as_seq(b);
    if (sa && sb && sa->is_list == sb->is_list) {
        // Lexicographic: the first unequal pair decides, else the lengths do.
        const auto& x = *sa->items;
        const auto& y = *sb->items;
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (!equal(x[i], y[i]))
                return order(op, x[i], y[i]);
        }
        return apply_order(op, x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0);
    }
    type_error(std::string("'") + cmp_symbol(op) + "' not supported between instances of " + quoted_type(a) + " and " +
               quoted_type(b));
}

Value repeat(const Sequence& s, const Value& count)
{
    const auto n = as_int(count).to_int64();
    if (!n)
        throw detail::PythonExpressionError("OverflowError", "cannot fit 'int' into an index-sized integer");
    std::vector<Value> out;
    if (*n > 0 && !s.items->empty()) {
        if (static_cast<std::uint64_t>(*n) > kMaxSequenceLength / s.items->size()) {
            // Python would try to allocate it.
            throw detail::PythonExpressionError("MemoryError",
                                                "sequence too long for the calculator (over 100000 items)");
        }
        const auto total = static_cast<std::size_t>(*n) * s.items->size();
        charge_work(total * kElementCost);
        out.reserve(total);
        for (std::int64_t i = 0; i < *n; ++i)
            out.insert(out.end(), s.items->begin(), s.items->end());
    }
    return make_sequence(s.is_list, std::move(out));
}

Value sequence_op(BinOp op, const Value& a, const Value& b)
{
    const auto* sa = as_seq(a);
    const auto* sb = as_seq(b);
    if (op == BinOp::Add && sa) {
        if (!sb || sb->is_list != sa->is_list) {
            const char* kind = sa->is_list ? "list" : "tuple";
            type_error(std::string("can only concatenate ") + kind + " (not \"" + type_name(b) + "\") to " + kind);
        }
        if (sa->items->size() + sb->items->size() > kMaxSequenceLength) {
            throw detail::PythonExpressionError("MemoryError",
                                                "sequence too long for the calculator (over 100000 items)");
        }
        charge_work((sa->items->size() + sb->items->size()) * kElementCost);
        std::vector<Value> out(*sa->items);
        out.insert(out.end(), sb->items->begin(), sb->items->end());
        return make_sequence(sa->is_list, std::move(out));
    }
    if (op == BinOp::Mul) {
        const Sequence* seq = sa ? sa : sb;
        const Value& other = sa ? b : a;
        if (!is_intlike(other))
            type_error("can't multiply sequence by non-int of type " + quoted_type(other));
        return repeat(*seq, other);
    }
    unsupported(op, a, b);
}

Value float_op(BinOp op, double x, double y)
{
    switch (op) {
    case BinOp::Add:
        return make_float(x + y);
    case BinOp::Sub:
        return make_float(x - y);
    case BinOp::Mul:
        return make_float(x * y);
    case BinOp::TrueDiv:
        return make_float(float_true_divide(x, y));
    case BinOp::FloorDiv:
        return make_float(float_floor_divide(x, y));
    case BinOp::Mod:
        return make_float(float_modulo(x, y));
    case BinOp::Pow:
        return make_float(float_power(x, y));
    default:
        return make_none(); // unreachable: callers reject the others
    }
}

Value int_op(BinOp op, const Value& va, const Value& vb)
{
    if (std::holds_alternative<bool>(va.v) && std::holds_alternative<bool>(vb.v)) {
        const bool x = std::get<bool>(va.v);
        const bool y = std::get<bool>(vb.v);
        if (op == BinOp::BitAnd)
            return make_bool(x && y);
        if (op == BinOp::BitOr)
            return make_bool(x || y);
        if (op == BinOp::BitXor)
            return make_bool(x != y);
    }
    const BigInt a = as_int(va);
    const BigInt b = as_int(vb);
    switch (op) {
    case BinOp::Add:
        return make_int(a + b);
    case BinOp::Sub:
        return make_int(a - b);
    case BinOp::Mul:
        return make_int(a * b);
    case BinOp::TrueDiv: {
        if (b.is_zero())
            throw detail::PythonExpressionError("ZeroDivisionError", "division by zero");
        const auto q = BigInt::true_divide(a, b);
        if (!q)
            throw detail::PythonExpressionError("OverflowError", "integer division result too large for a float");
        return make_float(*q);
    }
    case BinOp::FloorDiv: {
        if (b.is_zero())
            throw detail::PythonExpressionError("ZeroDivisionError", "integer division or modulo by zero");
        BigInt q;
        BigInt::floor_divmod(a, b, &q, nullptr);
        return make_int(std::move(q));
    }
    case BinOp::Mod: {
        if (b.is_zero())
            throw detail::PythonExpressionError("ZeroDivisionError", "integer modulo by zero");
        BigInt r;
        BigInt::floor_divmod(a, b, nullptr, &r);
        return make_int(std::move(r));
    }
    case BinOp::Pow:
        // A negative exponent makes Python hand both operands to float's pow.
        if (b.is_negative())
            return make_float(float_power(int_to_double(a), int_to_double(b)));
        return make_int(BigInt::pow(a, b));
    case BinOp::LShift:
    case BinOp::RShift: {
        if (b.is_negative())
            throw detail::PythonExpressionError("ValueError", "negative shift count");
        const auto n = b.to_int64();
        if (op == BinOp::RShift) {
            if (!n)
                return make_int(a.is_negative() ? BigInt(-1) : BigInt(0));
            return make_int(BigInt::shift_right(a, static_cast<std::uint64_t>(*n)));
        }
        if (a.is_zero())
            return make_int(a);
        return make_int(BigInt::shift_left(a, n ? static_cast<std::uint64_t>(*n) : ~std::uint64_t{0}));
    }
    case BinOp::BitAnd:
        return make_int(BigInt::bit_and(a, b));
    case BinOp::BitOr:
        return make_int(BigInt::bit_or(a, b));
    case BinOp::BitXor:
        return make_int(BigInt::bit_xor(a, b));
    case BinOp::MatMul:
        break;
    }
    unsupported(op, va, vb);
}

void append_repr(std::string& out, const Value& x)
{
    charge_work(kElementCost);
    if (out.size() > kMaxReprChars) {
        throw detail::PythonExpressionError("MemoryError",
                                            "result too long for the calculator (over 4000000 characters)");
    }
    if (std::holds_alternative<NoneValue>(x.v)) {
        out += "None";
    } else if (const auto* b = std::get_if<bool>(&x.v)) {
        out += *b ? "True" : "False";
    } else if (const auto* i = std::get_if<BigInt>(&x.v)) {
        const std::string digits = i->bit_length() > kMaxStrBits ? std::string() : i->to_decimal();
        const std::size_t count = digits.size() - (i->is_negative() ? 1 : 0);
        if (digits.empty() || count > kMaxStrDigits) {
            throw detail::PythonExpressionError("ValueError",
                                                "Exceeds the limit (4300 digits) for integer string conversion; "
                                                "use sys.set_int_max_str_digits() to increase the limit");
        }
        out += digits;
    } else if (const auto* d = std::get_if<double>(&x.v)) {
        out += float_repr(*d);
    } else if (std::holds_alternative<EllipsisValue>(x.v)) {
        out += "Ellipsis";
    } else {
        const auto& s = std::get<Sequence>(x.v);
        out += s.is_list ? '[' : '(';
        for (std::size_t k = 0; k < s.items->size(); ++k) {
            if (k)
                out += ", ";
            append_repr(out, (*s.items)[k]);
        }
        if (!s.is_list && s.items->size() == 1)
            out += ',';
        out += s.is_list ? ']' : ')';
    }
}

} // namespace

Value make_none()
{
    return Value{NoneValue{}};
}

Value make_bool(bool b)
{
    return Value{b};
}

Value make_int(BigInt i)
{
    return Value{std::move(i)};
}

Value make_float(double d)
{
    return Value{d};
}

Value make_ellipsis()
{
    return Value{EllipsisValue{}};
}

Value make_sequence(bool is_list, std::vector<Value> items)
{
    return Value{Sequence{is_list, std::make_shared<const std::vector<Value>>(std::move(items))}};
}

const char* type_name(const Value& x)
{
    switch (x.v.index()) {
    case 0:
        return "NoneType";
    case 1:
        return "bool";
    case 2:
        return "int";
    case 3:
        return "float";
    case 4:
        return "ellipsis";
    default:
        return std::get<Sequence>(x.v).is_list ? "list" : "tuple";
    }
}

bool truthy(const Value& x)
{
    if (const auto* b = std::get_if<bool>(&x.v))
        return *b;
    if (const auto* i = std::get_if<BigInt>(&x.v))
        return !i->is_zero();
    if (const auto* d = std::get_if<double>(&x.v))
        return *d != 0;
    if (const auto* s = std::get_if<Sequence>(&x.v))
        return !s->items->empty();
    return std::holds_alternative<EllipsisValue>(x.v);
}

std::string repr(const Value& x)
{
    std::string out;
    append_repr(out, x);
    return out;
}

Value binary_op(BinOp op, const Value& a, const Value& b)
{
    if (is_number(a) && is_number(b)) {
        if (is_intlike(a) && is_intlike(b))
            return int_op(op, a, b);
        switch (op) {
        case BinOp::MatMul:
        case BinOp::LShift:
        case BinOp::RShift:
        case BinOp::BitAnd:
        case BinOp::BitOr:
        case BinOp::BitXor:
            unsupported(op, a, b);
        default:
            break;
        }
        const double x = as_double(a);
        const double y = as_double(b);
        return float_op(op, x, y);
    }
    if (as_seq(a) || as_seq(b))
        return sequence_op(op, a, b);
    unsupported(op, a, b);
}

Value unary_op(UnaryOp op, const Value& a)
{
    if (op == UnaryOp::Not)
        return make_bool(!truthy(a));
    if (const auto* d = std::get_if<double>(&a.v)) {
        if (op == UnaryOp::Plus)
            return a;
        if (op == UnaryOp::Minus)
            return make_float(-*d);
    } else if (is_intlike(a)) {
        const BigInt i = as_int(a);
        if (op == UnaryOp::Plus)
            return make_int(i);
        if (op == UnaryOp::Minus)
            return make_int(-i);
        return make_int(i.invert());
    }
    const char* sym = op == UnaryOp::Plus ? "+" : op == UnaryOp::Minus ? "-" : "~";
    type_error(std::string("bad operand type for unary ") + sym + ": " + quoted_type(a));
}

bool compare_op(CmpOp op, const Value& a, const Value& b)
{
    switch (op) {
    case CmpOp::Eq:
        return equal(a, b);
    case CmpOp::Ne:
        return !equal(a, b);
    case CmpOp::In:
    case CmpOp::NotIn: {
        const auto* s = as_seq(b);
        if (!s)
            type_error("argument of type " + quoted_type(b) + " is not iterable");
        bool found = false;
        for (const auto& item : *s->items) {
            if (equal(item, a)) {
                found = true;
                break;
            }
        }
        return op == CmpOp::In ? found : !found;
    }
    case CmpOp::Is:
    case CmpOp::IsNot: {
        // Identity, approximated: CPython shares equal constants of an
        // expression (even folded ones such as 10**3), but every list display
        // builds a new object.
        bool same = a.v.index() == b.v.index() && !std::holds_alternative<Sequence>(a.v) && equal(a, b);
        if (const auto* sa = as_seq(a); sa && as_seq(b)) {
            same = !sa->is_list && !as_seq(b)->is_list && sa->items->empty() && as_seq(b)->items->empty();
        }
        if (const auto* d = std::get_if<double>(&a.v); d && std::holds_alternative<double>(b.v)) {
            same = std::isnan(*d) ? false : std::signbit(*d) == std::signbit(std::get<double>(b.v)) && same;
        }
        return op == CmpOp::Is ? same : !same;
    }
    default:
        return order(op, a, b);
    }
}

Value subscript(const Value& a, const Value& index)
{
    const auto* s = as_seq(a);
    if (!s)
        type_error(quoted_type(a) + " object is not subscriptable");
    const char* kind = s->is_list ? "list" : "tuple";
    if (!is_intlike(index)) {
        type_error(std::string(kind) + " indices must be integers or slices, not " + type_name(index));
    }
    const auto i = as_int(index).to_int64();
    if (!i)
        throw detail::PythonExpressionError("IndexError", "cannot fit 'int' into an index-sized integer");
    const auto size = static_cast<std::int64_t>(s->items->size());
    const std::int64_t k = *i < 0 ? *i + size : *i;
    if (k < 0 || k >= size)
        throw detail::PythonExpressionError("IndexError", std::string(kind) + " index out of range");
    return (*s->items)[static_cast<std::size_t>(k)];
}

} // namespace stirrup::detail::pyexpr
