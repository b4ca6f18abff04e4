#include "stirrup/core/tool_params.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace stirrup {

ToolMetadata ToolMetadata::use_count(std::int64_t n)
{
    ToolMetadata m;
    m.values["num_uses"] = n;
    return m;
}

namespace detail {

boost::json::object schema_string()
{
    return {{"type", "string"}};
}
boost::json::object schema_integer()
{
    return {{"type", "integer"}};
}
boost::json::object schema_number()
{
    return {{"type", "number"}};
}
boost::json::object schema_boolean()
{
    return {{"type", "boolean"}};
}

std::string lax_string(const boost::json::value& v)
{
    // pydantic's lax mode does not turn numbers into strings either.
    if (!v.is_string())
        throw InvalidToolArguments("Input should be a valid string");
    return std::string(v.get_string());
}

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::int64_t lax_integer(const boost::json::value& v)
{
    if (v.is_int64())
        return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double()) {
        double d = v.get_double();
        if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18)
            return static_cast<std::int64_t>(d);
        throw InvalidToolArguments("Input should be a valid integer, got a number with a fractional part");
    }
    if (v.is_string()) {
        auto s = trim(v.get_string());
        if (!s.empty() && s.front() == '+')
            s.remove_prefix(1);
        std::int64_t out = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc{} && p == s.data() + s.size() && !s.empty())
            return out;
    }
    throw InvalidToolArguments("Input should be a valid integer");
}

double lax_number(const boost::json::value& v)
{
    if (v.is_double())
        return v.get_double();
    if (v.is_int64())
        return static_cast<double>(v.get_int64());
    if (v.is_uint64())
        return static_cast<double>(v.get_uint64());
    if (v.is_string()) {
        auto s = trim(v.get_string());
        double out = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc{} && p == s.data() + s.size() && !s.empty())
            return out;
    }
    throw InvalidToolArguments("Input should be a valid number");
}

bool lax_boolean(const boost::json::value& v)
{
    if (v.is_bool())
        return v.get_bool();
    if (v.is_int64() && (v.get_int64() == 0 || v.get_int64() == 1))
        return v.get_int64() == 1;
    if (v.is_uint64() && v.get_uint64() <= 1)
        return v.get_uint64() == 1;
    if (v.is_string()) {
        std::string s(trim(v.get_string()));
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
        for (const char* t : {"1", "on", "t", "true", "y", "yes"})
            if (s == t)
                return true;
        for (const char* f : {"0", "off", "f", "false", "n", "no"})
            if (s == f)
                return false;
    }
    throw InvalidToolArguments("Input should be a valid boolean");
}

// Boost.JSON's text, not Python's json.dumps (pycompat, a layer above core):
// the request writers parse a schema and write it again as Stirrup does
// (llm/detail/chat_completions_format), and the texts differ only in floats.
std::string schema_text(const boost::json::value& schema)
{
    return boost::json::serialize(schema);
}

std::string field_title(std::string_view name)
{
    // pydantic: name.replace("_", " ").title() -- Python's title() capitalises
    // the first letter after every non-letter and lowercases the rest.
    std::string out;
    bool prev_letter = false;
    for (char ch : name) {
        char c = ch == '_' ? ' ' : ch;
        bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
        if (letter)
            c = static_cast<char>(prev_letter ? std::tolower(static_cast<unsigned char>(c))
                                              : std::toupper(static_cast<unsigned char>(c)));
        prev_letter = letter;
        out.push_back(c);
    }
    return out;
}

boost::json::object sorted(const boost::json::object& o)
{
    std::map<std::string, boost::json::value> keys;
    for (const auto& kv : o)
        keys.emplace(std::string(kv.key()), kv.value());
    boost::json::object out;
    for (auto& [k, v] : keys)
        out[k] = std::move(v);
    return out;
}

boost::json::value parse_arguments_text(std::string_view text)
{
    if (trim(text).empty())
        return boost::json::object{};
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec)
        throw InvalidToolArguments("Invalid JSON: " + ec.message());
    return v;
}

} // namespace detail
} // namespace stirrup
