#include "stirrup/pycompat/detail/py_repr_json.hpp"

#include <boost/json/value.hpp>

#include "stirrup/pycompat/detail/py_float.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"

namespace stirrup::detail {
namespace json = boost::json;

namespace {

void append(std::string& out, const json::value& v)
{
    switch (v.kind()) {
    case json::kind::null:
        out += "None";
        return;
    case json::kind::bool_:
        out += v.get_bool() ? "True" : "False";
        return;
    case json::kind::int64:
        out += std::to_string(v.get_int64());
        return;
    case json::kind::uint64:
        out += std::to_string(v.get_uint64());
        return;
    case json::kind::double_:
        out += detail::pyexpr::float_repr(v.get_double());
        return;
    case json::kind::string:
        out += detail::py_repr_str(v.get_string());
        return;
    case json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& item : v.get_array()) {
            if (!first)
                out += ", ";
            first = false;
            append(out, item);
        }
        out += ']';
        return;
    }
    case json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& kv : v.get_object()) {
            if (!first)
                out += ", ";
            first = false;
            out += detail::py_repr_str(kv.key());
            out += ": ";
            append(out, kv.value());
        }
        out += '}';
        return;
    }
    }
}

} // namespace

std::string py_repr_json(const json::value& v)
{
    std::string out;
    append(out, v);
    return out;
}

} // namespace stirrup::detail
