#pragma once
// Python's float behaviour on IEEE doubles: repr() (shortest round-trip
// digits in Python's layout), literal parsing, and the operators whose
// results or errors differ from plain C++ arithmetic.

#include <string>
#include <string_view>

namespace stirrup::detail::pyexpr {

/// repr(x) / str(x): "0.1", "1e+16", "1e-05", "-0.0", "inf", "nan".
std::string float_repr(double x);

/// A float literal's value; `text` is a valid Python float literal with the
/// underscores removed. Out-of-range literals become inf or 0.0 as in Python.
double parse_float_literal(std::string_view text);

/// The operators below throw PythonExpressionError as CPython 3.11's float does.
double float_true_divide(double a, double b);
double float_floor_divide(double a, double b);
double float_modulo(double a, double b);
/// x ** y; a negative base with a non-integral exponent (a complex result in
/// Python) throws, as the calculator has no complex numbers.
double float_power(double x, double y);

} // namespace stirrup::detail::pyexpr
