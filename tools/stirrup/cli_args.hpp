#pragma once
// Parsing of option values shared by the CLI's commands.

#include <cstdint>
#include <stdexcept>
#include <string>

#include "stirrup/exec/provider.hpp"

namespace stirrup::cli {

/// A mistake in the command line: printed as is, exit status 1.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::int64_t parse_positive(const std::string& flag, const std::string& text);
/// Seconds, fractions allowed ("1.5").
Milliseconds parse_seconds(const std::string& flag, const std::string& text);
/// A positive number, fractions allowed ("1.5").
double parse_positive_number(const std::string& flag, const std::string& text);
/// Bytes with docker's suffixes: b, k, m, g (powers of 1024), e.g. "512m".
std::int64_t parse_bytes(const std::string& flag, const std::string& text);

} // namespace stirrup::cli
