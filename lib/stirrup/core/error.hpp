#pragma once
// Error types of the library. Infrastructure failures throw these; anything a
// model caused (a rejected command, a timeout, a non-zero exit) is a result,
// never an exception.

#include <stdexcept>
#include <string>
#include <system_error>

namespace stirrup {

/// Base of every error the library throws that is not a std::system_error.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An operation needed a started provider (Stirrup: RuntimeError "ExecutionEnvironment not started.").
class NotStartedError : public Error {
public:
    using Error::Error;
};

/// A path was rejected: outside the execution environment, traversal, NUL... (Stirrup: ValueError).
class PathError : public Error {
public:
    using Error::Error;
};

/// A file that must exist does not (Stirrup: FileNotFoundError).
class FileNotFoundError : public Error {
public:
    using Error::Error;
};

/// A file past a size limit (exec's TransferLimits); what() names the limit.
class FileTooLargeError : public Error {
public:
    using Error::Error;
};

/// Invalid configuration given by the caller (bad regex, bad option value).
class ConfigError : public Error {
public:
    using Error::Error;
};

/// An operating-system or network failure, with its cause as an error_code.
class SystemError : public std::system_error {
public:
    using std::system_error::system_error;
};

} // namespace stirrup
