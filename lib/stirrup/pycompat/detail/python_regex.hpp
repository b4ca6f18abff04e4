#pragma once
// Python `re` patterns on Boost.Regex: allowlists are written for Stirrup, in
// Python's dialect, so they are translated to Boost's Perl syntax where the
// two differ and matched on code points as Python does.

#include <memory>
#include <string_view>

namespace stirrup::detail {

class PythonRegex {
public:
    /// Throws std::exception (with Boost's or the translator's message) for an invalid pattern.
    explicit PythonRegex(std::string_view pattern);
    ~PythonRegex();
    PythonRegex(PythonRegex&&) noexcept;
    PythonRegex& operator=(PythonRegex&&) noexcept;
    PythonRegex(const PythonRegex&);
    PythonRegex& operator=(const PythonRegex&);

    /// re.match: does the pattern match at the start of `subject` (UTF-8)?
    /// A pattern that cannot decide (runaway backtracking, where Python
    /// would hang) does not match.
    bool match(std::string_view subject) const;

private:
    struct Impl;
    std::shared_ptr<const Impl> impl_; // immutable once compiled, so copies share it
};

} // namespace stirrup::detail
