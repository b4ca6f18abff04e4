#pragma once
// Error types of the library. Infrastructure failures throw these; anything a
// model caused (a rejected command, a timeout, a non-zero exit) is a result,
// never an exception.

#include <stdexcept>
#include <string>
#include <system_error>

namespace stirrup {

/// Base of every error the library throws: catching `const stirrup::Error&`
/// catches them all. (Cancellation is not an error: it arrives as Asio's
/// boost::system::system_error(operation_aborted).)
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
/// what() reads as std::system_error's: "what_arg: message".
class SystemError : public Error {
public:
    SystemError(std::error_code ec, const std::string& what_arg) : Error(what_arg + ": " + ec.message()), code_(ec) {}
    SystemError(std::error_code ec, const char* what_arg) : SystemError(ec, std::string(what_arg)) {}
    explicit SystemError(std::error_code ec) : Error(ec.message()), code_(ec) {}
    SystemError(int ev, const std::error_category& category, const std::string& what_arg)
        : SystemError(std::error_code(ev, category), what_arg)
    {
    }

    const std::error_code& code() const noexcept { return code_; }

private:
    std::error_code code_;
};

} // namespace stirrup
