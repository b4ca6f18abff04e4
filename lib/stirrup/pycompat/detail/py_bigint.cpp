#include "stirrup/pycompat/detail/py_bigint.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <utility>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "stirrup/pycompat/detail/py_limits.hpp"
#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup::detail::pyexpr {

namespace {

namespace mp = boost::multiprecision;
using Int = mp::cpp_int;

// Work is charged in 32-bit limbs, as the hand-written arithmetic this
// replaced did, so the budget refuses exactly the same expressions.
std::size_t mag_bits(const Int& v)
{
    const auto& b = v.backend();
    std::size_t n = b.size();
    const auto* limbs = b.limbs();
    while (n > 0 && limbs[n - 1] == 0)
        --n;
    if (n == 0)
        return 0;
    return (n - 1) * (sizeof(limbs[0]) * 8) + static_cast<std::size_t>(std::bit_width(limbs[n - 1]));
}

std::uint64_t limbs32(const Int& v)
{
    return (mag_bits(v) + 31) / 32;
}

std::uint64_t limbs32(std::size_t bits)
{
    return (bits + 31) / 32;
}

// The low 64 bits of |v|.
std::uint64_t low_u64(const Int& v)
{
    const auto& b = v.backend();
    std::uint64_t out = 0;
    const auto* limbs = b.limbs();
    constexpr unsigned limb_bits = sizeof(limbs[0]) * 8;
    for (std::size_t i = 0; i < b.size() && i * limb_bits < 64; ++i)
        out |= static_cast<std::uint64_t>(limbs[i]) << (i * limb_bits);
    return out;
}

[[noreturn]] void too_large()
{
    // Python would build the number; we stop well before memory and CPU run out.
    throw detail::PythonExpressionError("OverflowError", "integer too large for the calculator (over 100000 digits)");
}

// |a| >> n (n > 0 or not); reports whether a 1 bit was shifted out.
Int mag_shr(const Int& mag, std::uint64_t n, bool* lost = nullptr)
{
    if (lost)
        *lost = !mag.is_zero() && n > 0 && mp::lsb(mag) < n;
    if (n / 32 >= limbs32(mag))
        return Int{};
    charge_work(limbs32(mag));
    return mag >> n;
}

Int mag_shl(const Int& mag, std::uint64_t n)
{
    if (mag.is_zero())
        return Int{};
    charge_work(limbs32(mag) + n / 32 + 1);
    return mag << n;
}

// Truncating divmod of magnitudes, charged like schoolbook long division.
void mag_divmod(const Int& u, const Int& v, Int* q, Int* r)
{
    const std::uint64_t m = limbs32(u);
    const std::uint64_t n = limbs32(v);
    if (u >= v && n > 1)
        charge_work((m - n + 1) * n);
    mp::divide_qr(u, v, *q, *r);
}

} // namespace

BigInt::BigInt(std::int64_t v) : v_(v) {}

BigInt BigInt::checked(Int v)
{
    if (mag_bits(v) > kMaxIntBits)
        too_large();
    BigInt out;
    out.v_ = std::move(v);
    return out;
}

BigInt BigInt::from_digits(std::string_view digits, unsigned base)
{
    if (base == 10) {
        charge_work(static_cast<std::uint64_t>(digits.size() / 9 + 1) * (digits.size() / 9 + 1));
        // No leading zeros: cpp_int would read them as an octal prefix.
        const auto first = digits.find_first_not_of('0');
        if (first == std::string_view::npos)
            return BigInt{};
        // Cheap bound first (10 < 2**4), exact check after.
        if ((digits.size() - first) > kMaxIntBits)
            too_large();
        return checked(Int(std::string(digits.substr(first))));
    }
    const unsigned per_digit = base == 2 ? 1 : base == 8 ? 3 : 4;
    if (static_cast<std::uint64_t>(digits.size()) * per_digit > kMaxIntBits + 64)
        too_large();
    std::vector<unsigned char> values;
    values.reserve(digits.size());
    for (const char c : digits)
        values.push_back(static_cast<unsigned char>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10));
    Int v;
    if (!values.empty())
        mp::import_bits(v, values.begin(), values.end(), per_digit, true);
    return checked(std::move(v));
}

BigInt BigInt::from_integral_double(double d)
{
    int exp = 0;
    const double frac = std::frexp(std::fabs(d), &exp); // |d| = frac * 2^exp, frac in [0.5, 1)
    const auto mant = static_cast<std::uint64_t>(std::ldexp(frac, 53));
    const int shift = exp - 53;
    Int m(mant);
    m = shift >= 0 ? mag_shl(m, static_cast<std::uint64_t>(shift)) : mag_shr(m, static_cast<std::uint64_t>(-shift));
    BigInt out;
    out.v_ = d < 0 ? Int(-m) : m;
    return out;
}

bool BigInt::is_zero() const
{
    return v_.is_zero();
}

bool BigInt::is_negative() const
{
    return v_.sign() < 0;
}

std::size_t BigInt::bit_length() const
{
    return mag_bits(v_);
}

std::string BigInt::to_decimal() const
{
    if (v_.is_zero())
        return "0";
    const std::uint64_t n = limbs32(v_);
    charge_work(n * n);
    return v_.str();
}

std::optional<std::int64_t> BigInt::to_int64() const
{
    if (bit_length() > 63)
        return std::nullopt;
    const auto v = static_cast<std::int64_t>(low_u64(v_));
    return is_negative() ? -v : v;
}

std::optional<double> BigInt::to_double() const
{
    const std::size_t bits = bit_length();
    double d = 0;
    if (bits <= 64) {
        d = static_cast<double>(low_u64(v_));
    } else {
        // The top 64 bits plus a sticky bit round exactly like the whole number.
        bool lost = false;
        const Int top = mag_shr(mp::abs(v_), bits - 64, &lost);
        const std::uint64_t t = low_u64(top) | (lost ? 1u : 0u);
        if (bits > 2000)
            return std::nullopt;
        d = std::ldexp(static_cast<double>(t), static_cast<int>(bits - 64));
    }
    if (std::isinf(d))
        return std::nullopt;
    return is_negative() ? -d : d;
}

int compare(const BigInt& a, const BigInt& b)
{
    const int c = a.v_.compare(b.v_);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

BigInt BigInt::operator-() const
{
    BigInt out;
    out.v_ = -v_;
    return out;
}

BigInt operator+(const BigInt& a, const BigInt& b)
{
    const std::uint64_t la = limbs32(a.v_);
    const std::uint64_t lb = limbs32(b.v_);
    if (a.is_negative() == b.is_negative()) {
        charge_work(std::max(la, lb) + 1);
        return BigInt::checked(a.v_ + b.v_);
    }
    BigInt out;
    out.v_ = a.v_ + b.v_;
    if (!out.v_.is_zero())
        charge_work(std::max(la, lb) + 1);
    return out;
}

BigInt operator-(const BigInt& a, const BigInt& b)
{
    return a + (-b);
}

BigInt operator*(const BigInt& a, const BigInt& b)
{
    if (a.is_zero() || b.is_zero())
        return BigInt{};
    if (a.bit_length() + b.bit_length() > kMaxIntBits + 1)
        too_large();
    charge_work(limbs32(a.v_) * limbs32(b.v_));
    return BigInt::checked(a.v_ * b.v_);
}

void BigInt::floor_divmod(const BigInt& a, const BigInt& b, BigInt* q, BigInt* r)
{
    Int qm;
    Int rm;
    mag_divmod(mp::abs(a.v_), mp::abs(b.v_), &qm, &rm);
    const bool neg_quotient = a.is_negative() != b.is_negative();
    if (neg_quotient && !rm.is_zero()) {
        // Round the quotient down, and give the remainder the divisor's sign.
        charge_work(std::max<std::uint64_t>(limbs32(qm), 1) + 1 + limbs32(b.v_) + 1);
        qm += 1;
        rm = mp::abs(b.v_) - rm;
    }
    if (q)
        q->v_ = neg_quotient ? Int(-qm) : qm;
    if (r)
        r->v_ = b.is_negative() ? Int(-rm) : rm;
}

BigInt BigInt::pow(const BigInt& base, const BigInt& exp)
{
    if (exp.is_zero())
        return BigInt(1);
    if (base.is_zero())
        return BigInt{};
    const bool odd = mp::bit_test(exp.v_, 0);
    if (mp::abs(base.v_) == 1)
        return BigInt(base.is_negative() && odd ? -1 : 1);
    // |base| >= 2, so the result has at least (bits-1)*exp + 1 bits.
    const auto e = exp.to_int64();
    if (!e || static_cast<std::uint64_t>(*e) > kMaxIntBits)
        too_large();
    const auto ue = static_cast<std::uint64_t>(*e);
    if ((base.bit_length() - 1) * ue + 1 > kMaxIntBits)
        too_large();
    // Left to right, so every intermediate is a power no larger than the
    // result; each product is charged (and bounded) like operator*.
    const Int mag = mp::abs(base.v_);
    const std::uint64_t base_limbs = limbs32(mag);
    const std::size_t base_bits = mag_bits(mag);
    Int acc = 1;
    for (int bit = std::bit_width(ue) - 1; bit >= 0; --bit) {
        const std::size_t acc_bits = mag_bits(acc);
        if (2 * acc_bits > kMaxIntBits + 1)
            too_large();
        charge_work(limbs32(acc_bits) * limbs32(acc_bits));
        acc *= acc;
        if ((ue >> bit) & 1u) {
            if (mag_bits(acc) + base_bits > kMaxIntBits + 1)
                too_large();
            charge_work(limbs32(acc) * base_limbs);
            acc *= mag;
        }
        if (mag_bits(acc) > kMaxIntBits)
            too_large();
    }
    BigInt out;
    out.v_ = base.is_negative() && odd ? Int(-acc) : acc;
    return out;
}

BigInt BigInt::shift_left(const BigInt& a, std::uint64_t n)
{
    if (a.is_zero())
        return a;
    if (n > kMaxIntBits || a.bit_length() + n > kMaxIntBits)
        too_large();
    charge_work(limbs32(a.v_) + n / 32 + 1);
    BigInt out;
    out.v_ = a.v_ << n;
    return out;
}

BigInt BigInt::shift_right(const BigInt& a, std::uint64_t n)
{
    BigInt out;
    if (!a.is_negative()) {
        out.v_ = mag_shr(a.v_, n);
        return out;
    }
    // Floor for negatives: a >> n == ~(~a >> n), and ~a = |a| - 1 >= 0.
    charge_work(limbs32(a.v_) + 1);
    const Int shifted = mag_shr(Int(-a.v_ - 1), n);
    charge_work(std::max<std::uint64_t>(limbs32(shifted), 1) + 1);
    out.v_ = -(shifted + 1);
    return out;
}

// cpp_int's bitwise operators act on an infinite two's complement, as Python's do.
BigInt BigInt::bit_and(const BigInt& a, const BigInt& b)
{
    return charged_bitwise(a, b, a.v_ & b.v_);
}

BigInt BigInt::bit_or(const BigInt& a, const BigInt& b)
{
    return charged_bitwise(a, b, a.v_ | b.v_);
}

BigInt BigInt::bit_xor(const BigInt& a, const BigInt& b)
{
    return charged_bitwise(a, b, a.v_ ^ b.v_);
}

BigInt BigInt::charged_bitwise(const BigInt& a, const BigInt& b, Int result)
{
    // The limb-wise pass and the two's complement conversions of negative
    // operands and of a negative result.
    const std::uint64_t la = limbs32(a.v_);
    const std::uint64_t lb = limbs32(b.v_);
    std::uint64_t units = std::max(la, lb) + 1;
    if (a.is_negative())
        units += la + 1;
    if (b.is_negative())
        units += lb + 1;
    if (result.sign() < 0)
        units += std::max<std::uint64_t>(limbs32(Int(-result - 1)), 1) + 1;
    charge_work(units);
    BigInt out;
    out.v_ = std::move(result);
    return out;
}

BigInt BigInt::invert() const
{
    return -(*this + BigInt(1));
}

std::optional<double> BigInt::true_divide(const BigInt& a, const BigInt& b)
{
    const bool negate = a.is_negative() != b.is_negative();
    const double zero = negate ? -0.0 : 0.0;
    if (a.is_zero())
        return zero;
    const std::size_t a_bits = a.bit_length();
    const std::size_t b_bits = b.bit_length();
    if (a_bits <= DBL_MANT_DIG && b_bits <= DBL_MANT_DIG) {
        // Both exact as doubles, so one IEEE division rounds correctly.
        const double q = static_cast<double>(low_u64(a.v_)) / static_cast<double>(low_u64(b.v_));
        return negate ? -q : q;
    }
    // CPython's long_true_divide: a quotient with DBL_MANT_DIG + 2 or 3 bits
    // (fewer in the subnormal range), rounded half-even by hand.
    const auto diff = static_cast<std::int64_t>(a_bits) - static_cast<std::int64_t>(b_bits);
    if (diff > DBL_MAX_EXP)
        return std::nullopt;
    if (diff < DBL_MIN_EXP - DBL_MANT_DIG - 1)
        return zero;
    const std::int64_t shift = std::max<std::int64_t>(diff, DBL_MIN_EXP) - DBL_MANT_DIG - 2;
    bool inexact = false;
    const Int a_mag = mp::abs(a.v_);
    const Int x = shift <= 0 ? mag_shl(a_mag, static_cast<std::uint64_t>(-shift))
                             : mag_shr(a_mag, static_cast<std::uint64_t>(shift), &inexact);
    Int q;
    Int r;
    mag_divmod(x, mp::abs(b.v_), &q, &r);
    if (!r.is_zero())
        inexact = true;
    const auto x_bits = static_cast<std::int64_t>(mag_bits(q));
    const std::int64_t extra_bits = std::max<std::int64_t>(x_bits, DBL_MIN_EXP - shift) - DBL_MANT_DIG;
    const std::uint64_t mask = std::uint64_t{1} << (extra_bits - 1);
    std::uint64_t low = low_u64(q) | (inexact ? 1u : 0u);
    if ((low & mask) && (low & (3 * mask - 1)))
        low += mask;
    low &= ~(2 * mask - 1);
    const auto dx = static_cast<double>(low);
    if (shift + x_bits >= DBL_MAX_EXP &&
        (shift + x_bits > DBL_MAX_EXP || dx == std::ldexp(1.0, static_cast<int>(x_bits)))) {
        return std::nullopt;
    }
    const double result = std::ldexp(dx, static_cast<int>(shift));
    return negate ? -result : result;
}

} // namespace stirrup::detail::pyexpr
