#pragma once
// Runs the built `stirrup` binary as a child process, for the CLI tests.

#include <functional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "stirrup/exec/local/detail/child_process.hpp"

namespace stirrup::test {

/// The environment of this process with `extra` ("NAME=value") added,
/// replacing inherited entries of the same names.
std::vector<std::string> inherited_env(const std::vector<std::string>& extra = {});

/// `stirrup args...` with `env`, from the current directory, killed after
/// `timeout`. Output is captured whole (up to 1 MB each side).
detail::ChildProcessResult run_stirrup(const std::vector<std::string>& args,
                                       std::vector<std::string> env = inherited_env(),
                                       std::chrono::seconds timeout = std::chrono::seconds(120),
                                       std::function<void(int)> on_spawn = {});

/// One JSON value per line of `text`.
std::vector<boost::json::value> json_lines(const std::string& text);

} // namespace stirrup::test
