#pragma once
// Typed tool parameters declared once as a C++ struct: the JSON schema the
// model sees and the parsing of its arguments both come from one description,
// the way Stirrup derives both from a pydantic model.
//
//   struct FinishParams {
//       std::string reason;
//       std::vector<std::string> paths;
//       static auto stirrup_params() {
//           return stirrup::params<FinishParams>("FinishParams", "Explanation ...",
//               stirrup::field(&FinishParams::reason, "reason", "Reason for finishing."),
//               stirrup::field(&FinishParams::paths, "paths", "List of file paths ..."));
//       }
//   };
//
// The schema is what pydantic's model_json_schema() prints: keys sorted, field
// titles title-cased ("input_files" -> "Input Files"), `required` listing the
// fields without a default, std::optional as anyOf [T, null] defaulting to
// null, string choices as enum. Parsing follows pydantic's lax mode for the
// types used here: extra keys are ignored, integers accept integral floats
// and digit strings, booleans accept the usual words.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/tool.hpp"

namespace stirrup {

namespace detail {

/// JSON schema pieces and lax conversions per C++ type (tool_params.cpp).
boost::json::object schema_string();
boost::json::object schema_integer();
boost::json::object schema_number();
boost::json::object schema_boolean();
std::string lax_string(const boost::json::value& v);
std::int64_t lax_integer(const boost::json::value& v);
double lax_number(const boost::json::value& v);
bool lax_boolean(const boost::json::value& v);
/// "input_files" -> "Input Files", as pydantic titles fields.
std::string field_title(std::string_view name);
/// Sorts an object's keys (pydantic sorts schema keys; `properties` keeps field order).
boost::json::object sorted(const boost::json::object& o);
/// `schema` as compact JSON text (Boost.JSON's; see tool_params.cpp).
std::string schema_text(const boost::json::value& schema);
/// Parses text as JSON; empty or whitespace-only text counts as "{}" (Stirrup).
boost::json::value parse_arguments_text(std::string_view text);

template <class T>
struct is_vector : std::false_type {
};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {
};
template <class T>
struct is_optional : std::false_type {
};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
};

template <class T>
boost::json::object schema_of()
{
    if constexpr (std::is_same_v<T, std::string>)
        return schema_string();
    else if constexpr (std::is_same_v<T, bool>)
        return schema_boolean();
    else if constexpr (std::is_integral_v<T>)
        return schema_integer();
    else if constexpr (std::is_floating_point_v<T>)
        return schema_number();
    else if constexpr (is_vector<T>::value) {
        boost::json::object o;
        o["items"] = schema_of<typename T::value_type>();
        o["type"] = "array";
        return o;
    } else if constexpr (is_optional<T>::value) {
        boost::json::object o;
        boost::json::array any;
        any.push_back(schema_of<typename T::value_type>());
        any.push_back(boost::json::object{{"type", "null"}});
        o["anyOf"] = std::move(any);
        return o;
    } else {
        static_assert(sizeof(T) == 0, "unsupported tool parameter type");
    }
}

template <class T>
T from_json(const boost::json::value& v)
{
    if constexpr (std::is_same_v<T, std::string>)
        return lax_string(v);
    else if constexpr (std::is_same_v<T, bool>)
        return lax_boolean(v);
    else if constexpr (std::is_integral_v<T>) {
        // pydantic's int is unbounded; a narrower C++ field rejects what it
        // cannot hold (in pydantic's words for a bounded int) rather than wrap.
        const std::int64_t n = lax_integer(v);
        if (!std::in_range<T>(n))
            throw InvalidToolArguments(
                n < 0 ? "Input should be greater than or equal to " + std::to_string(std::numeric_limits<T>::min())
                      : "Input should be less than or equal to " + std::to_string(std::numeric_limits<T>::max()));
        return static_cast<T>(n);
    } else if constexpr (std::is_floating_point_v<T>)
        return static_cast<T>(lax_number(v));
    else if constexpr (is_vector<T>::value) {
        if (!v.is_array())
            throw InvalidToolArguments("Input should be a valid list");
        T out;
        for (const auto& item : v.get_array())
            out.push_back(from_json<typename T::value_type>(item));
        return out;
    } else if constexpr (is_optional<T>::value) {
        if (v.is_null())
            return std::nullopt;
        return from_json<typename T::value_type>(v);
    } else {
        static_assert(sizeof(T) == 0, "unsupported tool parameter type");
    }
}

template <class T>
boost::json::value to_json(const T& x)
{
    if constexpr (is_vector<T>::value) {
        boost::json::array a;
        for (const auto& item : x)
            a.push_back(to_json(item));
        return a;
    } else if constexpr (is_optional<T>::value) {
        if (!x)
            return nullptr;
        return to_json(*x);
    } else {
        return boost::json::value(x);
    }
}

} // namespace detail

/// One field of a parameter struct.
template <class S, class M>
struct ParamField {
    M S::*member;
    std::string_view name;
    std::string_view description;
    /// A field with a default is optional for the model (std::optional fields default to null).
    std::optional<M> default_value;
    /// For string fields: the allowed values (pydantic Literal -> enum).
    std::vector<std::string_view> choices;
    /// pydantic prints no "default" for a default_factory field.
    bool default_in_schema = true;

    /// Gives the field a default.
    ParamField with_default(M value) &&
    {
        default_value = std::move(value);
        return std::move(*this);
    }
    /// Gives the field a default that the schema does not show (pydantic's default_factory).
    ParamField with_default_factory(M value) &&
    {
        default_value = std::move(value);
        default_in_schema = false;
        return std::move(*this);
    }
    /// Restricts a string field to these values.
    ParamField one_of(std::vector<std::string_view> values) &&
    {
        choices = std::move(values);
        return std::move(*this);
    }

    bool has_default() const { return default_value.has_value() || detail::is_optional<M>::value; }
};

template <class S, class M>
ParamField<S, M> field(M S::*member, std::string_view name, std::string_view description)
{
    return ParamField<S, M>{member, name, description, std::nullopt, {}, true};
}

/// The description of a parameter struct: title and description of the model, and its fields.
template <class S, class... Fields>
struct ParamsSpec {
    std::string_view title;
    std::string_view description;
    std::tuple<Fields...> fields;
};

template <class S, class... M>
ParamsSpec<S, ParamField<S, M>...> params(std::string_view title, std::string_view description,
                                          ParamField<S, M>... fields)
{
    return {title, description, std::tuple<ParamField<S, M>...>(std::move(fields)...)};
}

/// The JSON schema of `P`'s parameters as pydantic prints it.
template <class P>
boost::json::object params_schema()
{
    const auto spec = P::stirrup_params();
    boost::json::object properties;
    boost::json::array required;
    std::apply(
        [&](const auto&... f) {
            (
                [&] {
                    using M = std::remove_cvref_t<decltype(std::declval<P>().*(f.member))>;
                    boost::json::object prop;
                    if (!f.choices.empty()) {
                        boost::json::array e;
                        for (auto c : f.choices)
                            e.emplace_back(c);
                        prop["enum"] = std::move(e);
                        prop["type"] = "string";
                    } else {
                        prop = detail::schema_of<M>();
                    }
                    if (f.default_value && f.default_in_schema)
                        prop["default"] = detail::to_json(*f.default_value);
                    else if constexpr (detail::is_optional<M>::value)
                        prop["default"] = nullptr;
                    if (!f.description.empty())
                        prop["description"] = f.description;
                    prop["title"] = detail::field_title(f.name);
                    properties[f.name] = detail::sorted(prop);
                    if (!f.has_default())
                        required.emplace_back(f.name);
                }(),
                ...);
        },
        spec.fields);
    boost::json::object schema;
    if (!spec.description.empty())
        schema["description"] = spec.description;
    schema["properties"] = std::move(properties);
    if (!required.empty())
        schema["required"] = std::move(required);
    schema["title"] = spec.title;
    schema["type"] = "object";
    return schema;
}

/// Parses model-written arguments into `P`. Throws InvalidToolArguments.
template <class P>
P parse_params(const boost::json::value& arguments)
{
    if (!arguments.is_object())
        throw InvalidToolArguments("Input should be an object");
    const auto& obj = arguments.get_object();
    P out{};
    const auto spec = P::stirrup_params();
    std::apply(
        [&](const auto&... f) {
            (
                [&] {
                    using M = std::remove_cvref_t<decltype(out.*(f.member))>;
                    auto it = obj.find(f.name);
                    if (it == obj.end()) {
                        if (f.default_value)
                            out.*(f.member) = *f.default_value;
                        else if (!f.has_default())
                            throw InvalidToolArguments(std::string("Field required: ") + std::string(f.name));
                        return;
                    }
                    M value = detail::from_json<M>(it->value());
                    if constexpr (std::is_same_v<M, std::string>) {
                        if (!f.choices.empty()) {
                            bool ok = false;
                            for (auto c : f.choices)
                                ok = ok || c == value;
                            if (!ok)
                                throw InvalidToolArguments(std::string("Input should be one of the allowed values: ") +
                                                           std::string(f.name));
                        }
                    }
                    out.*(f.member) = std::move(value);
                }(),
                ...);
        },
        spec.fields);
    return out;
}

/// `p` as a JSON object (pydantic's model_dump), every field included.
template <class P>
boost::json::object params_to_json(const P& p)
{
    boost::json::object out;
    const auto spec = P::stirrup_params();
    std::apply([&](const auto&... f) { ((out[f.name] = detail::to_json(p.*(f.member))), ...); }, spec.fields);
    return out;
}

/// The executor of a typed tool.
template <class P>
using TypedExecutor = std::function<boost::asio::awaitable<ToolResult>(P params, ToolContext& context)>;

/// A Tool whose schema and argument parsing come from `P`.
template <class P>
Tool make_tool(std::string name, std::string description, TypedExecutor<P> execute)
{
    Tool tool;
    tool.name = std::move(name);
    tool.description = std::move(description);
    tool.parameters_schema = detail::schema_text(params_schema<P>());
    tool.parse_arguments = [](const boost::json::value& arguments) {
        return params_to_json(parse_params<P>(arguments));
    };
    tool.execute = [execute = std::move(execute)](boost::json::object arguments, ToolContext& context) {
        return execute(parse_params<P>(arguments), context);
    };
    return tool;
}

} // namespace stirrup
