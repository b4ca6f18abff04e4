#pragma once
// Small helpers shared by the test suites (unit and integration), so that
// each exists once: the message of an expected exception, substring checks,
// whole-file reads and writes, and a tool result's text and use count.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <variant>

#include <doctest/doctest.h>

#include "stirrup/core/tool.hpp"

namespace stirrup::test {

/// what() of the E that f() throws; fails the test when it throws nothing.
template <class E, class F>
std::string error_of(F&& f)
{
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    FAIL("no exception");
    return {};
}

inline bool contains(std::string_view s, std::string_view part)
{
    return s.find(part) != std::string_view::npos;
}

/// The file's bytes; empty when it cannot be read.
inline std::string read_bytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// Writes `data` to `path`, creating its parent directories.
inline void write_bytes(const std::filesystem::path& path, std::string_view data)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

/// The text of a tool result that must be text.
inline std::string text_of(const ToolResult& r)
{
    REQUIRE(std::holds_alternative<std::string>(r.content));
    return std::get<std::string>(r.content);
}

/// The "num_uses" a tool put in its result's metadata.
inline std::int64_t uses(const ToolResult& r)
{
    REQUIRE(r.metadata);
    return r.metadata->values.at("num_uses").as_int64();
}

/// A pid that was just used and is no longer alive: its process forked,
/// exited and was reaped.
inline long dead_pid()
{
    const pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

} // namespace stirrup::test
