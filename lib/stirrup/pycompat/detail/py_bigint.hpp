#pragma once
// Arbitrary-precision integers with Python's semantics: floor division and
// modulo take the divisor's sign, shifts and bitwise operators act on an
// infinite two's complement, conversions to double round half-even exactly
// as CPython does. Results above kMaxIntBits throw PythonExpressionError.
//
// The value is a Boost.Multiprecision cpp_int (header-only). It replaced a
// hand-written limb vector once it gave CPython's results on every check in
// test_py_bigint.cpp and on 20,000 random operand pairs (//, %, float(), &,
// |, ^, >>, <<, ~; up to 10,000 bits, rounding ties included), and was faster
// at the limit (CPU ms, -O2, hand-written -> cpp_int): 3**209000 19.2 -> 1.5,
// 166k x 166k-bit product 14.3 -> 1.0, 331k / 166k-bit divmod 28.8 -> 15.7,
// str() of 99,719 digits 296 -> 70, of 4,300 digits 0.51 -> 0.12. Floor
// division and the conversions to double keep CPython's algorithms here; work
// is still charged in 32-bit limbs, so the budget refuses the same inputs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/multiprecision/cpp_int.hpp>

namespace stirrup::detail::pyexpr {

class BigInt {
public:
    BigInt() = default;
    explicit BigInt(std::int64_t v);

    /// `digits` holds only digits valid in `base` (2, 8, 10 or 16), no sign or underscores.
    static BigInt from_digits(std::string_view digits, unsigned base);
    /// `d` must be finite and integral; the conversion is exact.
    static BigInt from_integral_double(double d);

    bool is_zero() const;
    bool is_negative() const;
    std::size_t bit_length() const;
    std::string to_decimal() const;
    std::optional<std::int64_t> to_int64() const;
    /// Correctly rounded; nullopt when the value is beyond double's range.
    std::optional<double> to_double() const;

    friend int compare(const BigInt& a, const BigInt& b);
    friend bool operator==(const BigInt& a, const BigInt& b) { return compare(a, b) == 0; }

    BigInt operator-() const;
    friend BigInt operator+(const BigInt& a, const BigInt& b);
    friend BigInt operator-(const BigInt& a, const BigInt& b);
    friend BigInt operator*(const BigInt& a, const BigInt& b);

    /// Python's divmod: q = floor(a / b), r = a - q*b (sign of b). b != 0.
    static void floor_divmod(const BigInt& a, const BigInt& b, BigInt* q, BigInt* r);
    /// exp >= 0.
    static BigInt pow(const BigInt& base, const BigInt& exp);
    static BigInt shift_left(const BigInt& a, std::uint64_t n);
    static BigInt shift_right(const BigInt& a, std::uint64_t n); // floor, like Python
    static BigInt bit_and(const BigInt& a, const BigInt& b);
    static BigInt bit_or(const BigInt& a, const BigInt& b);
    static BigInt bit_xor(const BigInt& a, const BigInt& b);
    BigInt invert() const; // ~a == -(a + 1)

    /// a / b correctly rounded as CPython's long_true_divide; nullopt when
    /// the quotient overflows a double. b != 0.
    static std::optional<double> true_divide(const BigInt& a, const BigInt& b);

private:
    using Int = boost::multiprecision::cpp_int;
    /// Throws past kMaxIntBits.
    static BigInt checked(Int v);
    static BigInt charged_bitwise(const BigInt& a, const BigInt& b, Int result);

    Int v_;
};

} // namespace stirrup::detail::pyexpr
