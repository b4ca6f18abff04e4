#pragma once
// Python's repr() of strings and of lists and dicts of strings. Stirrup puts
// such reprs in model-facing text ("ERROR: Files do not exist: ['a.txt']",
// sub-agent results), so the port prints them the same way.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stirrup::detail {

/// repr(s) for a Python str holding the UTF-8 text `s`: single quotes unless
/// the text contains ' and no "; backslash, the quote, \t \n \r escaped;
/// other non-printable code points as \xhh, \uhhhh or \Uhhhhhhhh. Bytes that
/// are not valid UTF-8 print as Python shows a surrogate-escaped file name
/// ('\udcff'). "Printable" is str.isprintable() of Unicode 14 (CPython 3.11)
/// for every assigned code point; unassigned code points inside mostly
/// assigned planes print as themselves, where CPython would escape them.
std::string py_repr_str(std::string_view s);

/// repr(list_of_str): "['a', 'b']", "[]" when empty.
std::string py_repr_list(const std::vector<std::string>& items);

/// repr(dict_of_str_to_str) in the given (insertion) order: "{'k': 'v'}".
std::string py_repr_dict(const std::vector<std::pair<std::string, std::string>>& items);

/// Same, for a std::map (keys in sorted order, as the map holds them).
std::string py_repr_dict(const std::map<std::string, std::string>& items);

} // namespace stirrup::detail
