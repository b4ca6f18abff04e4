// Typed tool parameters (core/tool_params.hpp): the JSON schema must be the
// text pydantic's model_json_schema() prints for the same model (expected
// strings produced with pydantic 2.13 from the Python models quoted in the
// comments), and argument parsing must follow pydantic's lax mode.

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "stirrup/core/tool_params.hpp"
#include "stirrup/pycompat/detail/json_dumps.hpp"
#include "stirrup/tools/finish_tool.hpp"

using namespace stirrup;
namespace json = boost::json;

namespace {

// class Mixed(BaseModel):
//     """A struct with every kind of field."""
//     name: str
//     count: Annotated[int, Field(default=3, description="How many.")]
//     ratio: Optional[float] = None
//     verbose: Annotated[bool, Field(description="Talk more.")] = False
//     mode: Annotated[Literal["fast", "slow"], Field(default="fast")]
//     limit: Optional[int] = None
//     tags: Annotated[list[str] | None, Field(default=None, description="Tags.")]
//     input_files: list[str]
struct Mixed {
    std::string name;
    std::int64_t count = 0;
    std::optional<double> ratio;
    bool verbose = true;
    std::string mode;
    std::optional<std::int64_t> limit;
    std::optional<std::vector<std::string>> tags;
    std::vector<std::string> input_files;

    static auto stirrup_params()
    {
        return params<Mixed>("Mixed", "A struct with every kind of field.", field(&Mixed::name, "name", ""),
                             field(&Mixed::count, "count", "How many.").with_default(3),
                             field(&Mixed::ratio, "ratio", ""),
                             field(&Mixed::verbose, "verbose", "Talk more.").with_default(false),
                             field(&Mixed::mode, "mode", "").with_default("fast").one_of({"fast", "slow"}),
                             field(&Mixed::limit, "limit", ""), field(&Mixed::tags, "tags", "Tags."),
                             field(&Mixed::input_files, "input_files", ""));
    }
};

Mixed parse(std::string_view text)
{
    return parse_params<Mixed>(detail::parse_arguments_text(text));
}

std::string parse_error(std::string_view text)
{
    try {
        (void)parse(text);
    } catch (const InvalidToolArguments& e) {
        return e.what();
    }
    return "<no error>";
}

} // namespace

TEST_CASE("FinishParams schema is pydantic's text, byte for byte")
{
    CHECK(
        json::serialize(params_schema<FinishParams>()) ==
        R"js({"description":"Explanation for why the task is complete or cannot proceed.","properties":{"reason":{"description":"Reason for finishing.","title":"Reason","type":"string"},"paths":{"description":"List of file paths created or modified. Do not include directories, only files.","items":{"type":"string"},"title":"Paths","type":"array"}},"required":["reason","paths"],"title":"FinishParams","type":"object"})js");
}

TEST_CASE("schema of optional, defaulted, enum, int, float and bool fields")
{
    CHECK(
        json::serialize(params_schema<Mixed>()) ==
        R"js({"description":"A struct with every kind of field.","properties":{"name":{"title":"Name","type":"string"},"count":{"default":3,"description":"How many.","title":"Count","type":"integer"},"ratio":{"anyOf":[{"type":"number"},{"type":"null"}],"default":null,"title":"Ratio"},"verbose":{"default":false,"description":"Talk more.","title":"Verbose","type":"boolean"},"mode":{"default":"fast","enum":["fast","slow"],"title":"Mode","type":"string"},"limit":{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null,"title":"Limit"},"tags":{"anyOf":[{"items":{"type":"string"},"type":"array"},{"type":"null"}],"default":null,"description":"Tags.","title":"Tags"},"input_files":{"items":{"type":"string"},"title":"Input Files","type":"array"}},"required":["name","input_files"],"title":"Mixed","type":"object"})js");
}

namespace {

// class Scale(BaseModel):
//     factor: float = 0.5
struct Scale {
    double factor = 0;
    static auto stirrup_params()
    {
        return params<Scale>("Scale", "", field(&Scale::factor, "factor", "").with_default(0.5));
    }
};

} // namespace

TEST_CASE("a float default prints as Python's json does")
{
    CHECK(
        detail::to_json_text(params_schema<Scale>()) ==
        R"js({"properties":{"factor":{"default":0.5,"title":"Factor","type":"number"}},"title":"Scale","type":"object"})js");
}

TEST_CASE("field titles are title-cased like pydantic's")
{
    CHECK(detail::field_title("input_files") == "Input Files");
    CHECK(detail::field_title("question_type") == "Question Type");
    CHECK(detail::field_title("url") == "Url");
    CHECK(detail::field_title("x2y") == "X2Y");
}

TEST_CASE("parsing fills in defaults and ignores extra keys")
{
    Mixed m = parse(R"js({"name":"n","input_files":["a","b"],"unknown":{"deep":[1,2]}})js");
    CHECK(m.name == "n");
    CHECK(m.count == 3);
    CHECK(!m.ratio);
    CHECK(m.verbose == false);
    CHECK(m.mode == "fast");
    CHECK(!m.limit);
    CHECK(!m.tags);
    CHECK(m.input_files == std::vector<std::string>{"a", "b"});

    m = parse(
        R"js({"name":"n","input_files":[],"count":9,"ratio":1.25,"verbose":true,"mode":"slow","limit":4,"tags":["t"]})js");
    CHECK(m.count == 9);
    CHECK(m.ratio == 1.25);
    CHECK(m.verbose);
    CHECK(m.mode == "slow");
    CHECK(m.limit == 4);
    REQUIRE(m.tags);
    CHECK(*m.tags == std::vector<std::string>{"t"});
}

TEST_CASE("a missing required field is reported by name")
{
    CHECK(parse_error(R"js({"input_files":[]})js") == "Field required: name");
    CHECK(parse_error(R"js({"name":"n"})js") == "Field required: input_files");
    CHECK(parse_error("") == "Field required: name");
}

TEST_CASE("wrong types are rejected")
{
    CHECK(parse_error(R"js({"name":5,"input_files":[]})js") == "Input should be a valid string");
    CHECK(parse_error(R"js({"name":null,"input_files":[]})js") == "Input should be a valid string");
    CHECK(parse_error(R"js({"name":"n","input_files":"a.txt"})js") == "Input should be a valid list");
    CHECK(parse_error(R"js({"name":"n","input_files":[1]})js") == "Input should be a valid string");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"count":"many"})js") == "Input should be a valid integer");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"count":2.5})js") ==
          "Input should be a valid integer, got a number with a fractional part");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"verbose":"maybe"})js") == "Input should be a valid boolean");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"verbose":2})js") == "Input should be a valid boolean");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"ratio":"fast"})js") == "Input should be a valid number");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"mode":"medium"})js") ==
          "Input should be one of the allowed values: mode");
    CHECK(parse_error(R"js({"name":"n","input_files":[],"tags":"t"})js") == "Input should be a valid list");
    CHECK(parse_error("[]") == "Input should be an object");
    CHECK(parse_error("\"text\"") == "Input should be an object");
    CHECK(parse_error("null") == "Input should be an object");
}

// Found by tests/fuzz/fuzz_tool_arguments: a C++ int field took 1e14 (or
// 4294967297) modulo 2^32 instead of rejecting it.
struct Narrow {
    int retries = 0;
    std::optional<unsigned> port;

    static auto stirrup_params()
    {
        return params<Narrow>("Narrow", "", field(&Narrow::retries, "retries", ""), field(&Narrow::port, "port", ""));
    }
};

TEST_CASE("an integer a narrower field cannot hold is rejected, not wrapped")
{
    auto error = [](std::string_view text) -> std::string {
        try {
            (void)parse_params<Narrow>(json::parse(text));
        } catch (const InvalidToolArguments& e) {
            return e.what();
        }
        return "<no error>";
    };
    CHECK(error(R"js({"retries":1e14})js") == "Input should be less than or equal to 2147483647");
    CHECK(error(R"js({"retries":4294967297})js") == "Input should be less than or equal to 2147483647");
    CHECK(error(R"js({"retries":"-2147483649"})js") == "Input should be greater than or equal to -2147483648");
    CHECK(error(R"js({"retries":0,"port":-1})js") == "Input should be greater than or equal to 0");
    CHECK(error(R"js({"retries":0,"port":4294967296})js") == "Input should be less than or equal to 4294967295");
    const Narrow n = parse_params<Narrow>(json::parse(R"js({"retries":-2147483648,"port":4294967295})js"));
    CHECK(n.retries == -2147483648);
    CHECK(n.port == 4294967295u);
}

TEST_CASE("lax conversions: numbers from strings, integral floats, boolean words")
{
    Mixed m = parse(R"js({"name":"n","input_files":[],"count":"7","ratio":"1.5","verbose":"yes","limit":" 12 "})js");
    CHECK(m.count == 7);
    CHECK(m.ratio == 1.5);
    CHECK(m.verbose);
    CHECK(m.limit == 12);

    m = parse(R"js({"name":"n","input_files":[],"count":4.0,"ratio":2,"verbose":"OFF","limit":null,"tags":null})js");
    CHECK(m.count == 4);
    CHECK(m.ratio == 2.0);
    CHECK(!m.verbose);
    CHECK(!m.limit);

    CHECK(parse(R"js({"name":"n","input_files":[],"count":"+8"})js").count == 8);
    CHECK(parse(R"js({"name":"n","input_files":[],"verbose":1})js").verbose);
    CHECK(!parse(R"js({"name":"n","input_files":[],"verbose":"f"})js").verbose);
}

TEST_CASE("argument text: empty means {}, invalid JSON is an argument error")
{
    CHECK(detail::parse_arguments_text("") == json::value(json::object{}));
    CHECK(detail::parse_arguments_text(" \n\t ") == json::value(json::object{}));
    CHECK(detail::parse_arguments_text(R"js({"a":1})js") == json::parse(R"js({"a":1})js"));
    CHECK(detail::parse_arguments_text("null").is_null());
    CHECK_THROWS_AS(detail::parse_arguments_text("{\"a\":"), InvalidToolArguments);
    CHECK_THROWS_AS(detail::parse_arguments_text("{'a': 1}"), InvalidToolArguments);
}

TEST_CASE("params_to_json gives every field, defaults included")
{
    CHECK(
        json::serialize(params_to_json(parse(R"js({"name":"n","input_files":["f"]})js"))) ==
        R"js({"name":"n","count":3,"ratio":null,"verbose":false,"mode":"fast","limit":null,"tags":null,"input_files":["f"]})js");
}

namespace {

struct Recorded {
    std::optional<Mixed> params;
};

struct NoContext final : ToolContext {
    CodeExecProvider* exec_env() const override { return nullptr; }
    int depth() const override { return 0; }
};

} // namespace

TEST_CASE("make_tool: schema text, argument check and typed executor")
{
    Recorded seen;
    Tool tool =
        make_tool<Mixed>("mixed", "Does things.", [&seen](Mixed p, ToolContext&) -> boost::asio::awaitable<ToolResult> {
            seen.params = p;
            co_return ToolResult{"ran " + p.name, true, ToolMetadata::use_count(1)};
        });
    CHECK(tool.name == "mixed");
    CHECK(tool.description == "Does things.");
    CHECK(tool.parameters_schema == json::serialize(params_schema<Mixed>()));
    CHECK(tool.definition().parameters_schema == tool.parameters_schema);

    CHECK_THROWS_AS(tool.parse_arguments(json::parse(R"js({"name":"n"})js")), InvalidToolArguments);
    const json::object normalised =
        tool.parse_arguments(json::parse(R"js({"name":"n","input_files":[],"count":"5"})js"));
    CHECK(normalised.at("count") == 5);
    CHECK(normalised.at("mode") == "fast");

    NoContext context;
    boost::asio::io_context io;
    std::optional<ToolResult> result;
    boost::asio::co_spawn(io, tool.execute(normalised, context), [&](std::exception_ptr e, ToolResult r) {
        REQUIRE(!e);
        result = std::move(r);
    });
    io.run();
    REQUIRE(result);
    CHECK(std::get<std::string>(result->content) == "ran n");
    REQUIRE(seen.params);
    CHECK(seen.params->count == 5);
    REQUIRE(result->metadata);
    CHECK(result->metadata->values.at("num_uses") == 1);
}
