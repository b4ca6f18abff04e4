#include "stirrup/pycompat/detail/py_float.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>

#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup::detail::pyexpr {

namespace {

bool is_odd_integer(double y)
{
    return std::fmod(y, 2.0) == 1.0 || std::fmod(y, 2.0) == -1.0;
}

[[noreturn]] void zero_division(const char* message)
{
    throw detail::PythonExpressionError("ZeroDivisionError", message);
}

} // namespace

std::string float_repr(double x)
{
    if (std::isnan(x))
        return "nan";
    if (std::isinf(x))
        return x > 0 ? "inf" : "-inf";
    if (x == 0)
        return std::signbit(x) ? "-0.0" : "0.0";

    // Shortest round-trip digits, as Python's repr uses (David Gay's mode 0).
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    const std::string sci(buf, res.ptr);
    const auto e_pos = sci.find('e');
    std::string mantissa = sci.substr(0, e_pos);
    const int exp10 = std::atoi(sci.c_str() + e_pos + 1);
    std::string sign;
    if (mantissa[0] == '-') {
        sign = "-";
        mantissa.erase(0, 1);
    }
    std::string digits;
    for (const char c : mantissa) {
        if (c != '.')
            digits += c;
    }
    // Python's float_repr_style 'r': decpt is where the point falls in the
    // digit string; exponent notation when decpt <= -4 or decpt > 16.
    const int decpt = exp10 + 1;
    if (decpt <= -4 || decpt > 16) {
        std::string out = sign + digits.substr(0, 1);
        if (digits.size() > 1)
            out += "." + digits.substr(1);
        const int e = decpt - 1;
        std::string e_digits = std::to_string(e < 0 ? -e : e);
        if (e_digits.size() < 2)
            e_digits.insert(0, "0");
        return out + "e" + (e < 0 ? "-" : "+") + e_digits;
    }
    if (decpt <= 0)
        return sign + "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
    const auto point = static_cast<std::size_t>(decpt);
    if (digits.size() <= point)
        return sign + digits + std::string(point - digits.size(), '0') + ".0";
    return sign + digits.substr(0, point) + "." + digits.substr(point);
}

double parse_float_literal(std::string_view text)
{
    double value = 0;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), value);
    if (res.ec != std::errc::result_out_of_range)
        return value;
    // from_chars leaves `value` alone when out of range; Python rounds to inf or 0.
    // Decide which from the decimal exponent of the first significant digit.
    long long exp10 = 0;
    const auto e_pos = text.find_first_of("eE");
    if (e_pos != std::string_view::npos) {
        const std::string e(text.substr(e_pos + 1));
        exp10 = std::strtoll(e.c_str(), nullptr, 10); // saturates for absurd exponents
    }
    const std::string_view mant = text.substr(0, e_pos);
    const auto dot = mant.find('.');
    const std::string_view int_part = mant.substr(0, dot);
    const auto first_nonzero = int_part.find_first_not_of('0');
    long long magnitude = 0;
    if (first_nonzero != std::string_view::npos) {
        magnitude = static_cast<long long>(int_part.size() - first_nonzero);
    } else if (dot != std::string_view::npos) {
        const std::string_view frac = mant.substr(dot + 1);
        const auto nz = frac.find_first_not_of('0');
        magnitude = nz == std::string_view::npos ? 0 : -static_cast<long long>(nz);
    }
    if (exp10 > 1'000'000'000)
        exp10 = 1'000'000'000;
    if (exp10 < -1'000'000'000)
        exp10 = -1'000'000'000;
    // The value is 0.d... * 10**(magnitude + exp10): too large exactly when that power is positive.
    const bool overflow = magnitude + exp10 > 0;
    return overflow ? HUGE_VAL : 0.0;
}

double float_true_divide(double a, double b)
{
    if (b == 0)
        zero_division("float division by zero");
    return a / b;
}

// CPython's float_divmod, floor half.
double float_floor_divide(double vx, double wx)
{
    if (wx == 0)
        zero_division("float floor division by zero");
    double mod = std::fmod(vx, wx);
    double div = (vx - mod) / wx;
    if (mod != 0) {
        if ((wx < 0) != (mod < 0)) {
            mod += wx;
            div -= 1.0;
        }
    }
    double floordiv = 0;
    if (div != 0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5)
            floordiv += 1.0;
    } else {
        floordiv = std::copysign(0.0, vx / wx);
    }
    return floordiv;
}

// CPython's float_rem.
double float_modulo(double vx, double wx)
{
    if (wx == 0)
        zero_division("float modulo");
    double mod = std::fmod(vx, wx);
    if (mod != 0) {
        if ((wx < 0) != (mod < 0))
            mod += wx;
    } else {
        mod = std::copysign(0.0, wx);
    }
    return mod;
}

// CPython's float_pow, case by case, so that C99 pow()'s special values and
// errno map to the same results and exceptions.
double float_power(double iv, double iw)
{
    if (iw == 0)
        return 1.0;
    if (std::isnan(iv))
        return iv;
    if (std::isnan(iw))
        return iv == 1.0 ? 1.0 : iw;
    if (std::isinf(iw)) {
        iv = std::fabs(iv);
        if (iv == 1.0)
            return 1.0;
        if ((iw > 0.0) == (iv > 1.0))
            return std::fabs(iw);
        return 0.0;
    }
    if (std::isinf(iv)) {
        const bool odd = is_odd_integer(iw);
        if (iw > 0.0)
            return odd ? iv : std::fabs(iv);
        return odd ? std::copysign(0.0, iv) : 0.0;
    }
    if (iv == 0.0) {
        if (iw < 0.0)
            zero_division("0.0 cannot be raised to a negative power");
        return is_odd_integer(iw) ? iv : 0.0;
    }
    bool negate = false;
    if (iv == 1.0)
        return 1.0;
    if (iv < 0.0) {
        if (iw != std::floor(iw)) {
            // Python returns a complex number here.
            throw detail::PythonExpressionError("ValueError", "complex numbers are not supported by the calculator");
        }
        iv = -iv;
        negate = is_odd_integer(iw);
    }
    if (iv == 1.0)
        return negate ? -1.0 : 1.0;
    double ix = std::pow(iv, iw);
    if (std::isinf(ix))
        throw detail::PythonExpressionError("OverflowError", "(34, 'Numerical result out of range')");
    return negate ? -ix : ix;
}

} // namespace stirrup::detail::pyexpr
