#pragma once
// JSON text as Python's json.dumps(ensure_ascii=False, separators=(",", ":"))
// writes it: what Stirrup sends. Boost.JSON would print 0.7 as "7E-1".

#include <string>

#include <boost/json/value.hpp>

namespace stirrup {

std::string to_json_text(const boost::json::value& v);

} // namespace stirrup
