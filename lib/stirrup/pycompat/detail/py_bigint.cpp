#include "stirrup/pycompat/detail/py_bigint.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <utility>

#include "stirrup/pycompat/detail/py_limits.hpp"
#include "stirrup/pycompat/detail/python_expression.hpp"

namespace stirrup::detail::pyexpr {

namespace {

using Mag = std::vector<std::uint32_t>;

void trim(Mag& m)
{
    while (!m.empty() && m.back() == 0)
        m.pop_back();
}

std::size_t mag_bits(const Mag& m)
{
    if (m.empty())
        return 0;
    return (m.size() - 1) * 32 + static_cast<std::size_t>(std::bit_width(m.back()));
}

[[noreturn]] void too_large()
{
    // Python would build the number; we stop well before memory and CPU run out.
    throw detail::PythonExpressionError("OverflowError", "integer too large for the calculator (over 100000 digits)");
}

int mag_cmp(const Mag& a, const Mag& b)
{
    if (a.size() != b.size())
        return a.size() < b.size() ? -1 : 1;
    for (std::size_t i = a.size(); i-- > 0;) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

Mag mag_add(const Mag& a, const Mag& b)
{
    const Mag& x = a.size() >= b.size() ? a : b;
    const Mag& y = a.size() >= b.size() ? b : a;
    charge_work(x.size() + 1);
    Mag r(x.size() + 1);
    std::uint64_t carry = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::uint64_t s = std::uint64_t{x[i]} + (i < y.size() ? y[i] : 0) + carry;
        r[i] = static_cast<std::uint32_t>(s);
        carry = s >> 32;
    }
    r[x.size()] = static_cast<std::uint32_t>(carry);
    trim(r);
    return r;
}

// a >= b.
Mag mag_sub(const Mag& a, const Mag& b)
{
    charge_work(a.size() + 1);
    Mag r(a.size());
    std::int64_t borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        std::int64_t d = std::int64_t{a[i]} - (i < b.size() ? b[i] : 0) - borrow;
        borrow = d < 0 ? 1 : 0;
        if (d < 0)
            d += std::int64_t{1} << 32;
        r[i] = static_cast<std::uint32_t>(d);
    }
    trim(r);
    return r;
}

Mag mag_mul(const Mag& a, const Mag& b)
{
    if (a.empty() || b.empty())
        return {};
    if (mag_bits(a) + mag_bits(b) > kMaxIntBits + 1)
        too_large();
    charge_work(static_cast<std::uint64_t>(a.size()) * b.size());
    Mag r(a.size() + b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        std::uint64_t carry = 0;
        const std::uint64_t ai = a[i];
        for (std::size_t j = 0; j < b.size(); ++j) {
            const std::uint64_t t = ai * b[j] + r[i + j] + carry;
            r[i + j] = static_cast<std::uint32_t>(t);
            carry = t >> 32;
        }
        r[i + b.size()] = static_cast<std::uint32_t>(carry);
    }
    trim(r);
    return r;
}

std::uint32_t mag_divmod_small(Mag& a, std::uint32_t d)
{
    std::uint64_t rem = 0;
    for (std::size_t i = a.size(); i-- > 0;) {
        const std::uint64_t cur = (rem << 32) | a[i];
        a[i] = static_cast<std::uint32_t>(cur / d);
        rem = cur % d;
    }
    trim(a);
    return static_cast<std::uint32_t>(rem);
}

// Knuth's algorithm D (as in Hacker's Delight, divmnu).
void mag_divmod(const Mag& u, const Mag& v, Mag* q_out, Mag* r_out)
{
    if (mag_cmp(u, v) < 0) {
        *q_out = {};
        *r_out = u;
        return;
    }
    if (v.size() == 1) {
        Mag q = u;
        const std::uint32_t r = mag_divmod_small(q, v[0]);
        *q_out = std::move(q);
        *r_out = r == 0 ? Mag{} : Mag{r};
        return;
    }
    const std::size_t m = u.size();
    const std::size_t n = v.size();
    charge_work(static_cast<std::uint64_t>(m - n + 1) * n);
    const int s = std::countl_zero(v[n - 1]);
    Mag vn(n);
    Mag un(m + 1);
    for (std::size_t i = n - 1; i > 0; --i) {
        vn[i] = (v[i] << s) | (s ? static_cast<std::uint32_t>(std::uint64_t{v[i - 1]} >> (32 - s)) : 0);
    }
    vn[0] = v[0] << s;
    un[m] = s ? static_cast<std::uint32_t>(std::uint64_t{u[m - 1]} >> (32 - s)) : 0;
    for (std::size_t i = m - 1; i > 0; --i) {
        un[i] = (u[i] << s) | (s ? static_cast<std::uint32_t>(std::uint64_t{u[i - 1]} >> (32 - s)) : 0);
    }
    un[0] = u[0] << s;

    constexpr std::uint64_t b = std::uint64_t{1} << 32;
    Mag q(m - n + 1);
    for (std::size_t j = m - n + 1; j-- > 0;) {
        const std::uint64_t num = (std::uint64_t{un[j + n]} << 32) | un[j + n - 1];
        std::uint64_t qhat = num / vn[n - 1];
        std::uint64_t rhat = num % vn[n - 1];
        while (qhat >= b || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2])) {
            --qhat;
            rhat += vn[n - 1];
            if (rhat >= b)
                break;
        }
        std::int64_t k = 0;
        std::int64_t t = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t p = qhat * vn[i];
            t = std::int64_t{un[i + j]} - k - static_cast<std::int64_t>(p & 0xFFFFFFFFu);
            un[i + j] = static_cast<std::uint32_t>(t);
            k = static_cast<std::int64_t>(p >> 32) - (t >> 32);
        }
        t = std::int64_t{un[j + n]} - k;
        un[j + n] = static_cast<std::uint32_t>(t);
        q[j] = static_cast<std::uint32_t>(qhat);
        if (t < 0) {
            q[j] -= 1;
            std::uint64_t c = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint64_t sum = std::uint64_t{un[i + j]} + vn[i] + c;
                un[i + j] = static_cast<std::uint32_t>(sum);
                c = sum >> 32;
            }
            un[j + n] = static_cast<std::uint32_t>(un[j + n] + c);
        }
    }
    Mag r(n);
    for (std::size_t i = 0; i < n; ++i) {
        r[i] = (un[i] >> s) | (s ? static_cast<std::uint32_t>(std::uint64_t{un[i + 1]} << (32 - s)) : 0);
    }
    trim(q);
    trim(r);
    *q_out = std::move(q);
    *r_out = std::move(r);
}

Mag mag_shl(const Mag& a, std::uint64_t n)
{
    if (a.empty())
        return {};
    const std::size_t limbs = static_cast<std::size_t>(n / 32);
    const unsigned bits = static_cast<unsigned>(n % 32);
    charge_work(a.size() + limbs + 1);
    Mag r(a.size() + limbs + 1, 0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::uint64_t v = std::uint64_t{a[i]} << bits;
        r[i + limbs] |= static_cast<std::uint32_t>(v);
        r[i + limbs + 1] |= static_cast<std::uint32_t>(v >> 32);
    }
    trim(r);
    return r;
}

// Also reports whether any 1 bit was shifted out.
Mag mag_shr(const Mag& a, std::uint64_t n, bool* lost = nullptr)
{
    const std::uint64_t limbs = n / 32;
    const unsigned bits = static_cast<unsigned>(n % 32);
    if (lost) {
        *lost = false;
        for (std::size_t i = 0; i < a.size() && i < limbs; ++i) {
            if (a[i])
                *lost = true;
        }
        if (limbs < a.size() && bits && (a[limbs] & ((1u << bits) - 1)))
            *lost = true;
    }
    if (limbs >= a.size())
        return {};
    charge_work(a.size());
    Mag r(a.size() - limbs);
    for (std::size_t i = 0; i < r.size(); ++i) {
        std::uint64_t v = a[i + limbs];
        if (i + limbs + 1 < a.size())
            v |= std::uint64_t{a[i + limbs + 1]} << 32;
        r[i] = static_cast<std::uint32_t>(v >> bits);
    }
    trim(r);
    return r;
}

Mag mag_from_u64(std::uint64_t v)
{
    Mag m;
    while (v) {
        m.push_back(static_cast<std::uint32_t>(v));
        v >>= 32;
    }
    return m;
}

std::uint64_t mag_low_u64(const Mag& m)
{
    std::uint64_t v = m.empty() ? 0 : m[0];
    if (m.size() > 1)
        v |= std::uint64_t{m[1]} << 32;
    return v;
}

const Mag kOne{1};

} // namespace

BigInt::BigInt(std::int64_t v)
{
    neg_ = v < 0;
    const std::uint64_t mag = neg_ ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    mag_ = mag_from_u64(mag);
}

BigInt::BigInt(bool neg, Mag mag) : neg_(neg), mag_(std::move(mag))
{
    normalize();
}

void BigInt::normalize()
{
    trim(mag_);
    if (mag_.empty())
        neg_ = false;
}

BigInt BigInt::checked(bool neg, Mag mag)
{
    if (mag_bits(mag) > kMaxIntBits)
        too_large();
    return BigInt(neg, std::move(mag));
}

BigInt BigInt::from_digits(std::string_view digits, unsigned base)
{
    Mag m;
    if (base == 10) {
        charge_work(static_cast<std::uint64_t>(digits.size() / 9 + 1) * (digits.size() / 9 + 1));
        std::size_t i = 0;
        const std::size_t head = digits.size() % 9 == 0 ? 9 : digits.size() % 9;
        while (i < digits.size()) {
            const std::size_t len = i == 0 ? head : 9;
            std::uint64_t chunk = 0;
            std::uint64_t scale = 1;
            for (std::size_t k = 0; k < len; ++k) {
                chunk = chunk * 10 + static_cast<std::uint64_t>(digits[i + k] - '0');
                scale *= 10;
            }
            i += len;
            std::uint64_t carry = chunk;
            for (auto& limb : m) {
                const std::uint64_t t = std::uint64_t{limb} * scale + carry;
                limb = static_cast<std::uint32_t>(t);
                carry = t >> 32;
            }
            while (carry) {
                m.push_back(static_cast<std::uint32_t>(carry));
                carry >>= 32;
            }
        }
        return checked(false, std::move(m));
    }
    const unsigned per_digit = base == 2 ? 1 : base == 8 ? 3 : 4;
    if (static_cast<std::uint64_t>(digits.size()) * per_digit > kMaxIntBits + 64)
        too_large();
    std::uint64_t bitpos = 0;
    for (std::size_t i = digits.size(); i-- > 0;) {
        const char c = digits[i];
        const unsigned v = c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>((c | 0x20) - 'a' + 10);
        const std::size_t limb = static_cast<std::size_t>(bitpos / 32);
        const unsigned off = static_cast<unsigned>(bitpos % 32);
        if (m.size() <= limb + 1)
            m.resize(limb + 2, 0);
        const std::uint64_t shifted = std::uint64_t{v} << off;
        m[limb] |= static_cast<std::uint32_t>(shifted);
        m[limb + 1] |= static_cast<std::uint32_t>(shifted >> 32);
        bitpos += per_digit;
    }
    return checked(false, std::move(m));
}

BigInt BigInt::from_integral_double(double d)
{
    int exp = 0;
    const double frac = std::frexp(std::fabs(d), &exp); // |d| = frac * 2^exp, frac in [0.5, 1)
    const auto mant = static_cast<std::uint64_t>(std::ldexp(frac, 53));
    const int shift = exp - 53;
    Mag m = mag_from_u64(mant);
    m = shift >= 0 ? mag_shl(m, static_cast<std::uint64_t>(shift)) : mag_shr(m, static_cast<std::uint64_t>(-shift));
    return BigInt(d < 0, std::move(m));
}

std::size_t BigInt::bit_length() const
{
    return mag_bits(mag_);
}

std::string BigInt::to_decimal() const
{
    if (mag_.empty())
        return "0";
    charge_work(static_cast<std::uint64_t>(mag_.size()) * mag_.size());
    Mag m = mag_;
    std::vector<std::uint32_t> chunks; // base 1e9, least significant first
    while (!m.empty())
        chunks.push_back(mag_divmod_small(m, 1'000'000'000u));
    std::string out = neg_ ? "-" : "";
    out += std::to_string(chunks.back());
    for (std::size_t i = chunks.size() - 1; i-- > 0;) {
        const std::string part = std::to_string(chunks[i]);
        out.append(9 - part.size(), '0');
        out += part;
    }
    return out;
}

std::optional<std::int64_t> BigInt::to_int64() const
{
    if (bit_length() > 63)
        return std::nullopt;
    const auto v = static_cast<std::int64_t>(mag_low_u64(mag_));
    return neg_ ? -v : v;
}

std::optional<double> BigInt::to_double() const
{
    const std::size_t bits = bit_length();
    double d = 0;
    if (bits <= 64) {
        d = static_cast<double>(mag_low_u64(mag_));
    } else {
        // The top 64 bits plus a sticky bit round exactly like the whole number.
        bool lost = false;
        const Mag top = mag_shr(mag_, bits - 64, &lost);
        const std::uint64_t t = mag_low_u64(top) | (lost ? 1u : 0u);
        if (bits > 2000)
            return std::nullopt;
        d = std::ldexp(static_cast<double>(t), static_cast<int>(bits - 64));
    }
    if (std::isinf(d))
        return std::nullopt;
    return neg_ ? -d : d;
}

int compare(const BigInt& a, const BigInt& b)
{
    if (a.neg_ != b.neg_)
        return a.neg_ ? -1 : 1;
    const int c = mag_cmp(a.mag_, b.mag_);
    return a.neg_ ? -c : c;
}

BigInt BigInt::operator-() const
{
    return BigInt(!neg_, mag_);
}

BigInt operator+(const BigInt& a, const BigInt& b)
{
    if (a.neg_ == b.neg_)
        return BigInt::checked(a.neg_, mag_add(a.mag_, b.mag_));
    const int c = mag_cmp(a.mag_, b.mag_);
    if (c == 0)
        return BigInt{};
    return c > 0 ? BigInt(a.neg_, mag_sub(a.mag_, b.mag_)) : BigInt(b.neg_, mag_sub(b.mag_, a.mag_));
}

BigInt operator-(const BigInt& a, const BigInt& b)
{
    return a + (-b);
}

BigInt operator*(const BigInt& a, const BigInt& b)
{
    return BigInt::checked(a.neg_ != b.neg_, mag_mul(a.mag_, b.mag_));
}

void BigInt::floor_divmod(const BigInt& a, const BigInt& b, BigInt* q, BigInt* r)
{
    Mag qm;
    Mag rm;
    mag_divmod(a.mag_, b.mag_, &qm, &rm);
    if (a.neg_ == b.neg_ || rm.empty()) {
        if (q)
            *q = BigInt(a.neg_ != b.neg_, std::move(qm));
        if (r)
            *r = BigInt(b.neg_, std::move(rm));
        return;
    }
    if (q)
        *q = BigInt(true, mag_add(qm, kOne));
    if (r)
        *r = BigInt(b.neg_, mag_sub(b.mag_, rm));
}

BigInt BigInt::pow(const BigInt& base, const BigInt& exp)
{
    if (exp.is_zero())
        return BigInt(1);
    if (base.is_zero())
        return BigInt{};
    const bool odd = (exp.mag_[0] & 1u) != 0;
    if (base.mag_ == kOne)
        return BigInt(base.neg_ && odd, kOne);
    // |base| >= 2, so the result has at least (bits-1)*exp + 1 bits.
    const auto e = exp.to_int64();
    if (!e || static_cast<std::uint64_t>(*e) > kMaxIntBits)
        too_large();
    const auto ue = static_cast<std::uint64_t>(*e);
    if ((base.bit_length() - 1) * ue + 1 > kMaxIntBits)
        too_large();
    // Left to right, so every intermediate is a power no larger than the result.
    Mag acc = kOne;
    for (int bit = std::bit_width(ue) - 1; bit >= 0; --bit) {
        acc = mag_mul(acc, acc);
        if ((ue >> bit) & 1u)
            acc = mag_mul(acc, base.mag_);
        if (mag_bits(acc) > kMaxIntBits)
            too_large();
    }
    return BigInt(base.neg_ && odd, std::move(acc));
}

BigInt BigInt::shift_left(const BigInt& a, std::uint64_t n)
{
    if (a.is_zero())
        return a;
    if (n > kMaxIntBits || a.bit_length() + n > kMaxIntBits)
        too_large();
    return BigInt(a.neg_, mag_shl(a.mag_, n));
}

BigInt BigInt::shift_right(const BigInt& a, std::uint64_t n)
{
    if (!a.neg_)
        return BigInt(false, mag_shr(a.mag_, n));
    // Floor for negatives: a >> n == ~(~a >> n), and ~a = |a| - 1 >= 0.
    const Mag inv = mag_sub(a.mag_, kOne);
    return BigInt(true, mag_add(mag_shr(inv, n), kOne));
}

template <class Op>
BigInt BigInt::bitwise(const BigInt& a, const BigInt& b, Op op)
{
    const std::size_t width = std::max(a.mag_.size(), b.mag_.size()) + 1;
    charge_work(width);
    // Two's complement over `width` limbs: -x is ~(x - 1).
    auto twos = [width](const BigInt& x) {
        Mag m = x.neg_ ? mag_sub(x.mag_, kOne) : x.mag_;
        m.resize(width, 0);
        if (x.neg_) {
            for (auto& limb : m)
                limb = ~limb;
        }
        return m;
    };
    Mag x = twos(a);
    const Mag y = twos(b);
    for (std::size_t i = 0; i < width; ++i)
        x[i] = op(x[i], y[i]);
    const bool neg = (x.back() >> 31) != 0;
    if (!neg)
        return BigInt(false, std::move(x));
    for (auto& limb : x)
        limb = ~limb;
    trim(x);
    return BigInt(true, mag_add(x, kOne));
}

BigInt BigInt::bit_and(const BigInt& a, const BigInt& b)
{
    return bitwise(a, b, [](std::uint32_t x, std::uint32_t y) { return x & y; });
}

BigInt BigInt::bit_or(const BigInt& a, const BigInt& b)
{
    return bitwise(a, b, [](std::uint32_t x, std::uint32_t y) { return x | y; });
}

BigInt BigInt::bit_xor(const BigInt& a, const BigInt& b)
{
    return bitwise(a, b, [](std::uint32_t x, std::uint32_t y) { return x ^ y; });
}

BigInt BigInt::invert() const
{
    return -(*this + BigInt(1));
}

std::optional<double> BigInt::true_divide(const BigInt& a, const BigInt& b)
{
    const bool negate = a.neg_ != b.neg_;
    const double zero = negate ? -0.0 : 0.0;
    if (a.is_zero())
        return zero;
    const std::size_t a_bits = a.bit_length();
    const std::size_t b_bits = b.bit_length();
    if (a_bits <= DBL_MANT_DIG && b_bits <= DBL_MANT_DIG) {
        // Both exact as doubles, so one IEEE division rounds correctly.
        const double q = static_cast<double>(mag_low_u64(a.mag_)) / static_cast<double>(mag_low_u64(b.mag_));
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
    Mag x = shift <= 0 ? mag_shl(a.mag_, static_cast<std::uint64_t>(-shift))
                       : mag_shr(a.mag_, static_cast<std::uint64_t>(shift), &inexact);
    Mag q;
    Mag r;
    mag_divmod(x, b.mag_, &q, &r);
    if (!r.empty())
        inexact = true;
    const auto x_bits = static_cast<std::int64_t>(mag_bits(q));
    const std::int64_t extra_bits = std::max<std::int64_t>(x_bits, DBL_MIN_EXP - shift) - DBL_MANT_DIG;
    const std::uint64_t mask = std::uint64_t{1} << (extra_bits - 1);
    std::uint64_t low = mag_low_u64(q) | (inexact ? 1u : 0u);
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
