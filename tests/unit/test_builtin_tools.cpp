// The built-in tools that need no execution environment (calculator,
// user_input with a scripted callback, finish without an environment), the
// exact schemas and descriptions the model sees, and Python's repr.
// Expected schema strings were printed by pydantic 2.13 from Stirrup's models.

#include <doctest/doctest.h>

#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "stirrup/core/tool_params.hpp"
#include "stirrup/pycompat/detail/py_repr.hpp"
#include "stirrup/tools/calculator_tool.hpp"
#include "stirrup/tools/finish_tool.hpp"
#include "stirrup/tools/user_input_tool.hpp"
#include "stirrup/tools/view_image_tool.hpp"

#include "support/helpers.hpp"

using namespace stirrup;
namespace json = boost::json;
namespace asio = boost::asio;

using stirrup::test::text_of;
using stirrup::test::uses;

namespace {

struct FakeContext final : ToolContext {
    int pauses = 0;
    int resumes = 0;
    CodeExecProvider* exec_env() const override { return nullptr; }
    int depth() const override { return 0; }
    void pause_live() override { ++pauses; }
    void resume_live() override
    {
        CHECK(pauses == resumes + 1);
        ++resumes;
    }
};

template <class T>
T run(asio::awaitable<T> op)
{
    asio::io_context io;
    std::exception_ptr failure;
    std::optional<T> value;
    asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
        failure = e;
        if (!e)
            value.emplace(std::move(v));
    });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    return std::move(*value);
}

/// Parses `arguments` as the agent does, then runs the tool.
ToolResult call(const Tool& tool, std::string_view arguments, ToolContext& context)
{
    json::object args = tool.parse_arguments(detail::parse_arguments_text(arguments));
    return run(tool.execute(std::move(args), context));
}

ToolResult call(const Tool& tool, std::string_view arguments)
{
    FakeContext context;
    return call(tool, arguments, context);
}

} // namespace

// ---- py_repr ---------------------------------------------------------------

TEST_CASE("py_repr_str quotes and escapes like CPython")
{
    CHECK(detail::py_repr_str("abc") == "'abc'");
    CHECK(detail::py_repr_str("") == "''");
    CHECK(detail::py_repr_str("it's") == "\"it's\"");
    CHECK(detail::py_repr_str("say \"hi\"") == "'say \"hi\"'");
    CHECK(detail::py_repr_str("it's \"x\"") == "'it\\'s \"x\"'");
    CHECK(detail::py_repr_str("'\\") == "\"'\\\\\"");
    CHECK(detail::py_repr_str("a\\b") == "'a\\\\b'");
    CHECK(detail::py_repr_str("\t\n\r") == "'\\t\\n\\r'");
    CHECK(detail::py_repr_str(std::string_view("\x00\x1f\x7f", 3)) == "'\\x00\\x1f\\x7f'");
}

TEST_CASE("py_repr_str keeps printable Unicode and escapes the rest")
{
    CHECK(detail::py_repr_str("\xc3\xa9") == "'\xc3\xa9'");                                 // é
    CHECK(detail::py_repr_str("\xe6\x97\xa5\xe6\x9c\xac") == "'\xe6\x97\xa5\xe6\x9c\xac'"); // 日本
    CHECK(detail::py_repr_str("\xf0\x9f\x98\x80") == "'\xf0\x9f\x98\x80'");                 // U+1F600
    CHECK(detail::py_repr_str("\xc2\xa0") == "'\\xa0'");                                    // no-break space
    CHECK(detail::py_repr_str("\xc2\xad") == "'\\xad'");                                    // soft hyphen
    CHECK(detail::py_repr_str("\xc2\x85") == "'\\x85'");                                    // C1 control
    CHECK(detail::py_repr_str("\xe2\x80\x8b") == "'\\u200b'");                              // zero-width space
    CHECK(detail::py_repr_str("\xe2\x80\xa8") == "'\\u2028'");                              // line separator
    CHECK(detail::py_repr_str("\xef\xbf\xbe") == "'\\ufffe'");                              // noncharacter
    CHECK(detail::py_repr_str("\xee\x80\x80") == "'\\ue000'");                              // private use
    CHECK(detail::py_repr_str("\xf3\xa0\x80\x81") == "'\\U000e0001'");                      // language tag
}

TEST_CASE("py_repr_str shows invalid UTF-8 as surrogate escapes")
{
    CHECK(detail::py_repr_str("\xff") == "'\\udcff'");
    CHECK(detail::py_repr_str("ok\xc3") == "'ok\\udcc3'");
    CHECK(detail::py_repr_str("\xc0\xaf") == "'\\udcc0\\udcaf'");            // overlong
    CHECK(detail::py_repr_str("\xed\xa0\x80") == "'\\udced\\udca0\\udc80'"); // encoded surrogate
    CHECK(detail::py_repr_str("\x80\x9f") == "'\\udc80\\udc9f'");
    CHECK(detail::py_repr_str("\xe6\x97"
                              "a") == "'\\udce6\\udc97a'");                             // cut short
    CHECK(detail::py_repr_str("\xf4\x90\x80\x80") == "'\\udcf4\\udc90\\udc80\\udc80'"); // past U+10FFFF
}

TEST_CASE("py_repr of lists and dicts")
{
    CHECK(detail::py_repr_list({}) == "[]");
    CHECK(detail::py_repr_list({"a", "b'c"}) == "['a', \"b'c\"]");
    CHECK(detail::py_repr_dict(std::vector<std::pair<std::string, std::string>>{}) == "{}");
    CHECK(detail::py_repr_dict(std::vector<std::pair<std::string, std::string>>{{"k", "v"}, {"a", "b\""}}) ==
          "{'k': 'v', 'a': 'b\"'}");
    CHECK(detail::py_repr_dict(std::map<std::string, std::string>{{"k", "v"}, {"a", "x\ny"}}) ==
          "{'a': 'x\\ny', 'k': 'v'}");
}

// ---- what the model sees ---------------------------------------------------

TEST_CASE("finish tool: name, description, schema")
{
    const Tool tool = default_finish_tool();
    CHECK(tool.name == "finish");
    CHECK(tool.description == "Signal task completion with a reason. Use when the task is finished or cannot proceed "
                              "further. Note that you will need a separate turn to finish.");
    CHECK(
        tool.parameters_schema ==
        R"js({"description":"Explanation for why the task is complete or cannot proceed.","properties":{"reason":{"description":"Reason for finishing.","title":"Reason","type":"string"},"paths":{"description":"List of file paths created or modified. Do not include directories, only files.","items":{"type":"string"},"title":"Paths","type":"array"}},"required":["reason","paths"],"title":"FinishParams","type":"object"})js");
}

TEST_CASE("calculator tool: name, description, schema")
{
    const Tool tool = calculator_tool();
    CHECK(tool.name == "calculator");
    CHECK(tool.description ==
          "Evaluate mathematical expressions. Supports basic arithmetic operations (+, -, *, /, **, %, //).");
    CHECK(
        tool.parameters_schema ==
        R"js({"description":"Mathematical expression to be evaluated.","properties":{"expression":{"description":"Mathematical expression to evaluate (Python syntax, e.g., '2 + 2 * 3')","title":"Expression","type":"string"}},"required":["expression"],"title":"CalculatorParams","type":"object"})js");
}

TEST_CASE("user_input tool: name, description with Stirrup's missing spaces, schema")
{
    const Tool tool = user_input_tool();
    CHECK(tool.name == "user_input");
    CHECK(tool.description ==
          "Ask the user a question when you need clarification or are uncertain. Supports three types: 'text' for "
          "free-form input, 'choice' for multiple choice (provide choices list), 'confirm' for yes/no questions. "
          "Returns the user's response.There should only EVER be one question per call to this tool.If you need to "
          "ask multiple questions, you should call this tool multiple times.");
    CHECK(
        tool.parameters_schema ==
        R"js({"description":"Parameters for asking the user a single question.\n\nSupports three question types:\n- \"text\": Free-form text input (default)\n- \"choice\": Multiple choice from a list of options\n- \"confirm\": Yes/no confirmation","properties":{"question":{"description":"A single question to ask the user (*not* multiple questions)","title":"Question","type":"string"},"question_type":{"default":"text","description":"Type of question: 'text' for free-form, 'choice' for multiple choice, 'confirm' for yes/no","enum":["text","choice","confirm"],"title":"Question Type","type":"string"},"choices":{"anyOf":[{"items":{"type":"string"},"type":"array"},{"type":"null"}],"default":null,"description":"List of valid choices (required when question_type is 'choice')","title":"Choices"},"default":{"type":"string","default":"","description":"Default value if user presses Enter without input","title":"Default"}},"required":["question"],"title":"UserInputParams","type":"object"})js");
}

TEST_CASE("view_image schema and the provider's requirement of an environment")
{
    CHECK(
        json::serialize(params_schema<ViewImageParams>()) ==
        R"js({"description":"Parameters for viewing an image from the execution environment.","properties":{"path":{"description":"Path to the image file within the execution environment filesystem (supports .png, .jpg, .jpeg, .gif, .bmp, .tiff, .psd)","title":"Path","type":"string"}},"required":["path"],"title":"ViewImageParams","type":"object"})js");
    ViewImageToolProvider provider;
    CHECK(provider.name() == "ViewImageToolProvider");
    CHECK(!provider.provides_code_exec());
    std::string error;
    try {
        (void)run(provider.start(nullptr));
    } catch (const ConfigError& e) {
        error = e.what();
    }
    CHECK(error == "ViewImageToolProvider requires a CodeExecToolProvider. Either pass exec_env explicitly or include "
                   "a CodeExecToolProvider in the Agent's tools list.");
}

// ---- finish without an environment ----------------------------------------

TEST_CASE("finish without an environment returns the reason, whatever the paths")
{
    const Tool tool = default_finish_tool();
    ToolResult r = call(tool, R"js({"reason":"All done.","paths":["nowhere.txt"]})js");
    CHECK(r.success);
    CHECK(text_of(r) == "All done.");
    CHECK(uses(r) == 1);
    CHECK_THROWS_AS(tool.parse_arguments(json::parse(R"js({"reason":"x"})js")), InvalidToolArguments);
}

namespace {

struct ReportParams {
    std::string summary;
    std::vector<std::string> paths;
    static auto stirrup_params()
    {
        return params<ReportParams>("ReportParams", "", field(&ReportParams::summary, "summary", "One line."),
                                    field(&ReportParams::paths, "paths", "Files written."));
    }
};

asio::awaitable<ToolResult> finish_report(ReportParams p, ToolContext&)
{
    const bool ok = !p.summary.empty();
    co_return ToolResult{ok ? p.summary : "The summary must not be empty.", ok, std::nullopt};
}

} // namespace

TEST_CASE("make_finish_tool builds a custom finish tool from its parameter struct")
{
    const Tool tool = make_finish_tool<ReportParams>("submit_report", "Submit the report.", finish_report);
    CHECK(tool.name == "submit_report");
    CHECK(tool.parameters_schema == json::serialize(params_schema<ReportParams>()));
    CHECK(text_of(call(tool, R"js({"summary":"ok","paths":[]})js")) == "ok");
    CHECK(!call(tool, R"js({"summary":"","paths":[]})js").success);
}

// ---- calculator ----------------------------------------------------------

TEST_CASE("calculator tool answers with Python's str() of the value")
{
    const Tool tool = calculator_tool();
    ToolResult r = call(tool, R"js({"expression":"2 + 2 * 3"})js");
    CHECK(r.success);
    CHECK(text_of(r) == "Result: 8");
    CHECK(uses(r) == 1);
    CHECK(text_of(call(tool, R"js({"expression":"7 / 2"})js")) == "Result: 3.5");
    CHECK(text_of(call(tool, R"js({"expression":"-7 // 2"})js")) == "Result: -4");
    CHECK(text_of(call(tool, R"js({"expression":"2 ** 100"})js")) == "Result: 1267650600228229401496703205376");
}

TEST_CASE("calculator tool reports errors as a failed call")
{
    const Tool tool = calculator_tool();
    ToolResult r = call(tool, R"js({"expression":"1 / 0"})js");
    CHECK(!r.success);
    CHECK(text_of(r) == "Error evaluating expression: division by zero");
    CHECK(uses(r) == 1);
    r = call(tool, R"js({"expression":"__import__('os')"})js");
    CHECK(!r.success);
    CHECK(text_of(r) == "Error evaluating expression: name '__import__' is not defined");
    CHECK_THROWS_AS(tool.parse_arguments(json::parse("{}")), InvalidToolArguments);
}

// ---- user_input with a scripted callback -----------------------------------

namespace {

/// Answers from a script and records the questions it was asked.
struct Script {
    explicit Script(std::vector<std::string> r = {}) : replies(std::move(r)) {}

    std::vector<std::string> replies;
    std::vector<UserQuestion> asked;
    bool fail = false;

    UserInputCallback callback()
    {
        return [this](const UserQuestion& q) { return answer(q); };
    }

    asio::awaitable<std::string> answer(UserQuestion q)
    {
        asked.push_back(q);
        if (fail)
            throw std::runtime_error("no user here");
        std::string reply = replies.front();
        replies.erase(replies.begin());
        co_return reply;
    }
};

} // namespace

TEST_CASE("user_input passes the question to the callback and returns the reply")
{
    Script script({"blue"});
    const Tool tool = user_input_tool(script.callback());
    FakeContext context;
    ToolResult r = call(tool, R"js({"question":"Favourite colour?"})js", context);
    CHECK(r.success);
    CHECK(text_of(r) == "blue");
    CHECK(uses(r) == 1);
    REQUIRE(script.asked.size() == 1);
    CHECK(script.asked[0].question == "Favourite colour?");
    CHECK(script.asked[0].question_type == "text");
    CHECK(script.asked[0].choices.empty());
    CHECK(script.asked[0].default_value == "");
    CHECK(context.pauses == 1);
    CHECK(context.resumes == 1);
}

TEST_CASE("user_input: choices and defaults reach the callback; an empty reply is the default")
{
    Script script({"", "b"});
    const Tool tool = user_input_tool(script.callback());
    const std::string args = R"js({"question":"Pick","question_type":"choice","choices":["a","b"],"default":"a"})js";
    CHECK(text_of(call(tool, args)) == "a");
    CHECK(text_of(call(tool, args)) == "b");
    REQUIRE(script.asked.size() == 2);
    CHECK(script.asked[0].question_type == "choice");
    CHECK(script.asked[0].choices == std::vector<std::string>{"a", "b"});
    CHECK(script.asked[0].default_value == "a");
}

TEST_CASE("user_input: confirm answers are yes or no")
{
    Script script({"Y", "no", "TRUE", "0", "", "", "maybe later"});
    const Tool tool = user_input_tool(script.callback());
    const std::string plain = R"js({"question":"Proceed?","question_type":"confirm"})js";
    const std::string default_yes = R"js({"question":"Proceed?","question_type":"confirm","default":"Yes"})js";
    CHECK(text_of(call(tool, plain)) == "yes");
    CHECK(text_of(call(tool, plain)) == "no");
    CHECK(text_of(call(tool, plain)) == "yes");
    CHECK(text_of(call(tool, plain)) == "no");
    CHECK(text_of(call(tool, plain)) == "no");        // empty, no default: Stirrup's False
    CHECK(text_of(call(tool, default_yes)) == "yes"); // empty, default "Yes"
    CHECK(text_of(call(tool, plain)) == "maybe later");
}

TEST_CASE("user_input rejects a question type outside the enum")
{
    Script script({"x"});
    const Tool tool = user_input_tool(script.callback());
    CHECK_THROWS_AS(tool.parse_arguments(json::parse(R"js({"question":"q","question_type":"essay"})js")),
                    InvalidToolArguments);
    CHECK_THROWS_AS(tool.parse_arguments(json::parse(R"js({"question_type":"text"})js")), InvalidToolArguments);
}

TEST_CASE("user_input resumes the live display when the callback throws")
{
    Script script;
    script.fail = true;
    const Tool tool = user_input_tool(script.callback());
    FakeContext context;
    CHECK_THROWS_WITH_AS(call(tool, R"js({"question":"q"})js", context), "no user here", std::runtime_error);
    CHECK(context.pauses == 1);
    CHECK(context.resumes == 1);
}

// ---- the terminal dialogue, on string streams ----------------------------

TEST_CASE("terminal dialogue: free text, default on an empty line, stripped reply")
{
    UserQuestion q{"Name?", "text", {}, "anon"};
    std::istringstream in("  Ada  \n");
    std::ostringstream out;
    CHECK(ask_user_blocking(q, in, out) == "Ada");
    CHECK(out.str() == "\n\xF0\x9F\xA4\x94 Agent Question\nName?\nYour answer (anon): ");

    std::istringstream empty("\n");
    std::ostringstream out2;
    CHECK(ask_user_blocking(q, empty, out2) == "anon");
}

TEST_CASE("terminal dialogue: a choice is re-asked until valid")
{
    UserQuestion q{"Pick", "choice", {"red", "green"}, ""};
    std::istringstream in("blue\nRed\ngreen\n");
    std::ostringstream out;
    CHECK(ask_user_blocking(q, in, out) == "green");
    CHECK(out.str() == "\n\xF0\x9F\xA4\x94 Agent Question\nPick\n"
                       "Your answer [red/green]: Please select one of the available options\n"
                       "Your answer [red/green]: Please select one of the available options\n"
                       "Your answer [red/green]: ");
}

TEST_CASE("terminal dialogue: a choice question without choices takes any text")
{
    UserQuestion q{"Pick", "choice", {}, ""};
    std::istringstream in("anything\n");
    std::ostringstream out;
    CHECK(ask_user_blocking(q, in, out) == "anything");
}

TEST_CASE("terminal dialogue: confirm takes y or n and re-asks otherwise")
{
    UserQuestion q{"Sure?", "confirm", {}, "y"};
    std::istringstream in("perhaps\nN\n");
    std::ostringstream out;
    CHECK(ask_user_blocking(q, in, out) == "no");
    CHECK(out.str() == "\n\xF0\x9F\xA4\x94 Agent Question\nSure?\nYour answer [y/n] (y): Please enter Y or N\n"
                       "Your answer [y/n] (y): ");

    std::istringstream empty("\r\n");
    std::ostringstream out2;
    CHECK(ask_user_blocking(q, empty, out2) == "yes");
}

TEST_CASE("terminal dialogue: end of input is an error")
{
    UserQuestion q{"Name?", "text", {}, ""};
    std::istringstream in("");
    std::ostringstream out;
    CHECK_THROWS_AS(ask_user_blocking(q, in, out), Error);
}
