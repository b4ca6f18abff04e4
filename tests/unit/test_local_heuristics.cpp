// Pure pieces of the backend contract: the local absolute-path heuristic,
// image sniffing and the code_exec tool's schema.

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "stirrup/exec/code_exec_tool.hpp"
#include "stirrup/exec/local/local.hpp"

using namespace stirrup;

TEST_CASE("absolute-path heuristic: Stirrup's patterns")
{
    for (const char* s : {"cat /etc/passwd", "ls /home/x", "ls /Users/x", "cd /tmp/a", "cat /var/log/x"})
        CHECK(looks_like_absolute_path(s, true));
    for (const char* s : {"ls ~/", "cat $HOME/x", "cat ${HOME}/x"}) {
        CHECK(looks_like_absolute_path(s, true));
        CHECK_FALSE(looks_like_absolute_path(s, false));
    }
    for (const char* s : {"ls", "cat etc/passwd", "ls /usr/bin", "echo /etc", "echo tmp/x"})
        CHECK_FALSE(looks_like_absolute_path(s, true));
}

TEST_CASE("code_exec tool: Stirrup's name and pydantic schema")
{
    CHECK(code_exec_tool_name == "code_exec");
    const auto schema = boost::json::parse(code_exec_parameters_schema());
    CHECK(schema.at("type").as_string() == "object");
    CHECK(schema.at("title").as_string() == "CodeExecutionParams");
    CHECK(schema.at("required").as_array() == boost::json::array{"cmd"});
    CHECK(schema.at("properties").at("cmd").at("title").as_string() == "Cmd");
    CHECK(schema.at("description").as_string() == "Shell command to execute in the execution environment.");
}

TEST_CASE("code_exec descriptions: the base text and the local one")
{
    LocalCodeExec local;
    CHECK(local.code_exec_description() ==
          "Execute a shell command in the execution environment. Returns exit code, stdout, and stderr as XML. "
          "Use `uv` to manage packages.");
    LocalCodeExecOptions o;
    o.description = "custom";
    CHECK(LocalCodeExec(o).code_exec_description() == "custom");
}
