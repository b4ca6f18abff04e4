// The JSON writer (core/json_text.hpp): Python's compact json.dumps text,
// and always valid JSON, even for the doubles Boost.JSON 1.81 makes out of
// numbers JSON cannot hold.

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "stirrup/pycompat/detail/json_dumps.hpp"

using stirrup::detail::to_json_text;
namespace json = boost::json;

TEST_CASE("doubles are written as Python's repr writes them")
{
    CHECK(to_json_text(json::parse(R"js([0.7,1.0,-0.0,1e16,1e-05,0.0001,1e-300,5e-324,123.456])js")) ==
          "[0.7,1.0,-0.0,1e+16,1e-05,0.0001,1e-300,5e-324,123.456]");
    CHECK(to_json_text(json::parse(R"js({"a":"\u00e9\n\u0001","b":[null,true,18446744073709551615]})js")) ==
          "{\"a\":\"\xc3\xa9\\n\\u0001\",\"b\":[null,true,18446744073709551615]}");
}

// Found by tests/fuzz/fuzz_json_text: Boost parses 1e400 to infinity, which
// was written as null, and "-0e400" to a negative NaN, written as "-null".
TEST_CASE("an overflowed number stays a number and NaN becomes null, whatever its sign")
{
    CHECK(to_json_text(json::parse("[1e400,-1e400]")) == "[1e+309,-1e+309]");
    CHECK(json::parse(to_json_text(json::parse("1e400"))).as_double() == std::numeric_limits<double>::infinity());
    CHECK(to_json_text(json::value(std::numeric_limits<double>::quiet_NaN())) == "null");
    CHECK(to_json_text(json::value(-std::numeric_limits<double>::quiet_NaN())) == "null");
    const json::value nan = json::parse("-0e400"); // Boost 1.81 makes this NaN
    if (nan.is_double() && std::isnan(nan.as_double()))
        CHECK(to_json_text(nan) == "null");
}
