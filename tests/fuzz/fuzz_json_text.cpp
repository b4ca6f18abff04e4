// libFuzzer target for the JSON writer. Input: JSON text; whatever
// boost::json::parse accepts is written with to_json_text.
// Invariants: the output parses again to an equal value (numbers of the same
// kind and value, doubles equal).
// Boost 1.81 parses "0e400" to NaN (0 times an overflowed power of ten); the
// writer spells NaN null, so a NaN must come back as null. Boost 1.81 also
// reads some shortest-form doubles one ulp off ("2.4e+50"), so doubles are
// read back from the output's number text with std::from_chars, which is
// exact.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fuzz_harness.hpp"
#include "stirrup/pycompat/detail/json_dumps.hpp"

namespace {

using stirrup::fuzz::require;

// The number tokens of compact JSON text, in order.
std::vector<std::string_view> number_tokens(std::string_view text)
{
    std::vector<std::string_view> out;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            std::size_t j = i;
            while (j < text.size() && std::string_view("0123456789.eE+-").find(text[j]) != std::string_view::npos)
                ++j;
            out.push_back(text.substr(i, j - i));
            i = j - 1;
        }
    }
    return out;
}

// `read` (parsed from the written text, whose numbers are `tokens`) equals
// `written`; every number of `read` takes the next token.
bool same(const boost::json::value& written, const boost::json::value& read,
          const std::vector<std::string_view>& tokens, std::size_t& next)
{
    if (written.is_double() && std::isnan(written.get_double()))
        return read.is_null();
    if (read.is_number() && next >= tokens.size())
        return false;
    if (written.is_double() && read.is_double()) {
        const auto token = tokens[next++];
        const double d = written.get_double();
        if (std::isinf(d))
            return d == read.get_double();
        double exact = 0;
        const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), exact);
        return ec == std::errc{} && end == token.data() + token.size() && exact == d;
    }
    if (read.is_number())
        ++next;
    if (written.is_array() && read.is_array()) {
        const auto& a = written.get_array();
        const auto& b = read.get_array();
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!same(a[i], b[i], tokens, next))
                return false;
        return true;
    }
    if (written.is_object() && read.is_object()) {
        const auto& a = written.get_object();
        const auto& b = read.get_object();
        if (a.size() != b.size())
            return false;
        for (const auto& kv : a) {
            const auto* other = b.if_contains(kv.key());
            if (!other || !same(kv.value(), *other, tokens, next))
                return false;
        }
        return true;
    }
    return written == read;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in = stirrup::fuzz::as_text(data, size);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(in, ec);
    if (ec)
        return 0;

    const std::string text = stirrup::detail::to_json_text(v);
    const boost::json::value again = boost::json::parse(text, ec);
    require(!ec);
    const auto tokens = number_tokens(text);
    std::size_t next = 0;
    require(same(v, again, tokens, next));
    require(next == tokens.size());
    return 0;
}
