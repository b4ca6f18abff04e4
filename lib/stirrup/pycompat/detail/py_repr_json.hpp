#pragma once
// Python's repr() of a JSON-shaped value, as Stirrup prints a pydantic
// model_dump() (sub-agent finish params, tool arguments in the console):
// dict/list/str/int/float/bool/None with exact str and float reprs.
// Internal to the agent layer.

#include <string>

#include <boost/json/fwd.hpp>

namespace stirrup::detail {

std::string py_repr_json(const boost::json::value& v);

} // namespace stirrup::detail
