// The MCP client's JSON Schema validator (tools/mcp/detail/json_schema): a
// model's tool-call arguments against a tool's inputSchema. The schemas in
// the first cases are the ones real servers publish in tools/list:
// @modelcontextprotocol/server-filesystem and server-everything 2026.8.31
// (zod-to-json-schema, draft-07), zod 4's toJSONSchema (2020-12) and
// pydantic 2.13's model_json_schema() (FastMCP). The keyword semantics were
// also run against the JSON-Schema-Test-Suite (draft2020-12 and draft7):
// every difference left is a case this validator accepts on purpose
// (unevaluated*, \p{...} patterns, remote references).

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/tools/mcp/detail/json_schema.hpp"

using stirrup::ConfigError;
using stirrup::detail::mcp::JsonSchema;
using stirrup::detail::mcp::SchemaLimits;
namespace json = boost::json;

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& v)
    {
        std::string out = "{";
        for (const auto& s : v)
            out += "\n  " + s;
        return (out + "\n}").c_str();
    }
};
} // namespace doctest

namespace {

json::value parse(std::string_view text)
{
    json::parse_options options;
    options.max_depth = 5000;
    return json::parse(text, {}, options);
}

JsonSchema compile(std::string_view schema, SchemaLimits limits = {})
{
    return JsonSchema::compile(parse(schema), limits);
}

std::vector<std::string> errors(const JsonSchema& schema, std::string_view instance)
{
    return schema.validate(parse(instance));
}

std::vector<std::string> errors(std::string_view schema, std::string_view instance)
{
    return errors(compile(schema), instance);
}

bool valid(std::string_view schema, std::string_view instance)
{
    return errors(schema, instance).empty();
}

// The one message, or a note that there were not exactly one.
std::string error(std::string_view schema, std::string_view instance)
{
    const auto all = errors(schema, instance);
    if (all.size() != 1)
        return "(" + std::to_string(all.size()) + " errors)";
    return all.front();
}

std::string compile_error(std::string_view schema, SchemaLimits limits = {})
{
    try {
        compile(schema, limits);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(compiled)";
}

std::string nested(std::string_view open, std::string_view inner, std::string_view close, int levels)
{
    std::string out;
    for (int i = 0; i < levels; ++i)
        out += open;
    out += inner;
    for (int i = 0; i < levels; ++i)
        out += close;
    return out;
}

// server-filesystem's edit_file and read_text_file, server-everything's
// get-sum and gzip-file-as-resource, as their tools/list gives them.
constexpr std::string_view kEditFile =
    R"({"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"path":{"type":"string"},)"
    R"("edits":{"type":"array","items":{"type":"object","properties":{"oldText":{"type":"string","description":)"
    R"("Text to search for - must match exactly"},"newText":{"type":"string","description":"Text to replace with"}},)"
    R"("required":["oldText","newText"]}},"dryRun":{"default":false,"description":"Preview changes using git-style )"
    R"(diff format","type":"boolean"}},"required":["path","edits"]})";
constexpr std::string_view kReadTextFile =
    R"({"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"path":{"type":"string"},)"
    R"("tail":{"description":"If provided, returns only the last N lines of the file","type":"number"},"head":)"
    R"({"description":"If provided, returns only the first N lines of the file","type":"number"}},"required":["path"]})";
constexpr std::string_view kGetSum =
    R"({"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"type":"number",)"
    R"("description":"First number"},"b":{"type":"number","description":"Second number"}},"required":["a","b"]})";
constexpr std::string_view kGzipFile =
    R"({"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"name":{"default":)"
    R"("README.md.gz","type":"string","description":"Name of the output file"},"data":{"default":"https://raw.)"
    R"(githubusercontent.com/modelcontextprotocol/servers/refs/heads/main/README.md","type":"string","format":"uri",)"
    R"("description":"URL or data URI of the file content to compress"},"outputType":{"default":"resourceLink",)"
    R"("description":"How the resulting gzipped file should be returned.","type":"string","enum":["resourceLink",)"
    R"("resource"]}}})";

// zod 4.6's z.toJSONSchema of a strict object (trimmed to the fields that
// differ in kind), its emoji pattern included.
constexpr std::string_view kZod4 =
    R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"path":{"type":)"
    R"("string","minLength":1},"mode":{"type":"string","enum":["read","write"]},"count":{"default":10,"type":)"
    R"("integer","minimum":0,"maximum":100},"email":{"type":"string","format":"email","pattern":"^(?:[A-Za-z0-9_'+)"
    R"(\\-]+\\.)*[A-Za-z0-9_'+\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$"},"id":{"type":)"
    R"("string","format":"uuid","pattern":"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3})"
    R"(-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"},"when":)"
    R"({"type":"string","format":"date-time","pattern":"^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|)"
    R"([02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-)"
    R"((?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))T(?:(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?)"
    R"((?:Z))$"},"tags":{"maxItems":5,"type":"array","items":{"type":"string"}},"point":{"type":"array",)"
    R"("prefixItems":[{"type":"number"},{"type":"number"}],"items":false,"minItems":2,"maxItems":2},"kind":)"
    R"({"oneOf":[{"type":"object","properties":{"type":{"type":"string","const":"a"},"a":{"type":"string"}},)"
    R"("required":["type","a"],"additionalProperties":false},{"type":"object","properties":{"type":{"type":)"
    R"("string","const":"b"},"b":{"type":"number"}},"required":["type","b"],"additionalProperties":false}]},)"
    R"("meta":{"type":"object","propertyNames":{"type":"string"},"additionalProperties":{"type":"string"}},)"
    R"("emoji":{"type":"string","format":"emoji","pattern":"^(?=[\\s\\S]*[\\p{Extended_Pictographic})"
    R"(\\p{Regional_Indicator}\\u20E3])[\\p{Extended_Pictographic}\\p{Emoji_Component}]+$"}},"required":)"
    R"(["path","count"],"additionalProperties":false})";

// pydantic 2.13, from:
//   class Point(BaseModel): x: int; y: int
//   class Node(BaseModel): name: str; children: list["Node"] = []
//   class Args(BaseModel):
//       points: list[Point]
//       label: Optional[str] = None
//       mode: Literal["fast", "slow"] = "fast"
//       scale: Annotated[float, Field(gt=0, le=10)] = 1.0
//       tags: list[Annotated[str, Field(pattern=r"^[a-z]+$")]] = []
//       tree: Optional[Node] = None
constexpr std::string_view kPydantic =
    R"({"$defs":{"Node":{"properties":{"name":{"title":"Name","type":"string"},"children":{"default":[],"items":)"
    R"({"$ref":"#/$defs/Node"},"title":"Children","type":"array"}},"required":["name"],"title":"Node","type":)"
    R"("object"},"Point":{"properties":{"x":{"title":"X","type":"integer"},"y":{"title":"Y","type":"integer"}},)"
    R"("required":["x","y"],"title":"Point","type":"object"}},"properties":{"points":{"items":{"$ref":)"
    R"("#/$defs/Point"},"title":"Points","type":"array"},"label":{"anyOf":[{"type":"string"},{"type":"null"}],)"
    R"("default":null,"title":"Label"},"mode":{"default":"fast","enum":["fast","slow"],"title":"Mode","type":)"
    R"("string"},"scale":{"default":1.0,"exclusiveMinimum":0,"maximum":10,"title":"Scale","type":"number"},)"
    R"("tags":{"default":[],"items":{"pattern":"^[a-z]+$","type":"string"},"title":"Tags","type":"array"},"tree":)"
    R"({"anyOf":[{"$ref":"#/$defs/Node"},{"type":"null"}],"default":null}},"required":["points"],"title":"Args",)"
    R"("type":"object"})";

} // namespace

TEST_CASE("json schema: server-filesystem's and server-everything's schemas")
{
    const auto edit = compile(kEditFile);
    CHECK(errors(edit, R"({"path":"a.txt","edits":[{"oldText":"x","newText":"y"}]})").empty());
    CHECK(errors(edit, R"({"path":"a.txt","edits":[],"dryRun":true,"extra":1})").empty()); // no additionalProperties
    CHECK(errors(edit, R"({"edits":[]})") ==
          std::vector<std::string>{R"(at (root): missing required property "path")"});
    CHECK(errors(edit, R"({"path":"a","edits":[{"oldText":"x","newText":7},{"newText":"z"}],"dryRun":"yes"})") ==
          std::vector<std::string>{
              "at /edits/0/newText: expected string, got integer",
              R"(at /edits/1: missing required property "oldText")",
              "at /dryRun: expected boolean, got string",
          });
    CHECK(errors(edit, R"({"path":"a","edits":{"oldText":"x","newText":"y"}})") ==
          std::vector<std::string>{"at /edits: expected array, got object"});
    CHECK(errors(edit, "[]") == std::vector<std::string>{"at (root): expected object, got array"});

    const auto read = compile(kReadTextFile);
    CHECK(errors(read, R"({"path":"/x","head":10})").empty());
    CHECK(errors(read, R"({"path":"/x","head":2.5})").empty());
    CHECK(errors(read, R"({"path":"/x","tail":"10"})") ==
          std::vector<std::string>{"at /tail: expected number, got string"});

    const auto sum = compile(kGetSum);
    CHECK(errors(sum, R"({"a":1,"b":-2.5e3})").empty());
    CHECK(errors(sum, R"({"a":null})") == std::vector<std::string>{
                                              "at (root): missing required property \"b\"",
                                              "at /a: expected number, got null",
                                          });

    const auto gzip = compile(kGzipFile);
    CHECK(errors(gzip, "{}").empty());
    CHECK(errors(gzip, R"({"data":"not a uri at all"})").empty()); // format is an annotation
    CHECK(errors(gzip, R"({"outputType":"link"})") ==
          std::vector<std::string>{R"(at /outputType: expected one of "resourceLink", "resource", got "link")"});
}

TEST_CASE("json schema: zod 4 (2020-12, strict object)")
{
    const auto s = compile(kZod4);
    CHECK(errors(s, R"({"path":"x","count":3})").empty());
    CHECK(errors(s, R"({"path":"x","count":3,"email":"a.b+c@example.com",)"
                    R"("id":"123e4567-e89b-12d3-a456-426614174000","when":"2024-02-29T12:30:00.5Z",)"
                    R"("tags":["a"],"point":[1,2.5],"kind":{"type":"b","b":1},"meta":{"k":"v"},"emoji":"🎉"})")
              .empty());
    CHECK(errors(s, R"({"path":"","count":3.0})") ==
          std::vector<std::string>{"at /path: expected at least 1 character, got 0"});
    CHECK(errors(s, R"({"path":"x","count":101})") ==
          std::vector<std::string>{"at /count: expected a number <= 100, got 101"});
    CHECK(errors(s, R"({"path":"x","count":1.5})") ==
          std::vector<std::string>{"at /count: expected integer, got number 1.5"});
    CHECK(errors(s, R"({"path":"x","count":1,"pth":"y"})") ==
          std::vector<std::string>{
              R"(at (root): unexpected property "pth" (expected properties: "count", "email", "emoji", "id", )"
              R"("kind", "meta", "mode", "path", "point", "tags", ...))"});
    CHECK(errors(s, R"({"path":"x","count":1,"email":"no-at-sign"})") ==
          std::vector<std::string>{
              "at /email: does not match the pattern ^(?:[A-Za-z0-9_'+\\-]+\\.)*[A-Za-z0-9_'+\\-]*[A-Za-z0-9_+-]@"
              "(?:[A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$"});
    CHECK(errors(s, R"({"path":"x","count":1,"when":"2023-02-29T00:00:00Z"})").size() == 1);
    CHECK(errors(s, R"({"path":"x","count":1,"point":[1,2,3]})") ==
          std::vector<std::string>{"at /point: expected at most 2 items, got 3",
                                   "at /point: expected at most 2 items, got 3"});
    CHECK(errors(s, R"({"path":"x","count":1,"point":[1]})") ==
          std::vector<std::string>{"at /point: expected at least 2 items, got 1"});
    // A tagged union: the alternative whose tag matched is the one to report.
    CHECK(errors(s, R"({"path":"x","count":1,"kind":{"type":"b","b":"1"}})") ==
          std::vector<std::string>{
              R"(at /kind: matches none of the oneOf alternatives: (2) at /kind/b: expected number, got string)"});
    CHECK(errors(s, R"({"path":"x","count":1,"kind":{"b":"1","type":"b"}})") ==
          std::vector<std::string>{
              R"(at /kind: matches none of the oneOf alternatives: (2) at /kind/b: expected number, got string)"});
    CHECK(errors(s, R"({"path":"x","count":1,"kind":{"type":"b"}})") ==
          std::vector<std::string>{
              R"(at /kind: matches none of the oneOf alternatives: (2) missing required property "b")"});
    CHECK(errors(s, R"({"path":"x","count":1,"kind":{"type":"c"}})") ==
          std::vector<std::string>{
              R"(at /kind: matches none of the oneOf alternatives: (1) missing required property "a"; )"
              R"((2) missing required property "b")"});
    CHECK(errors(s, R"({"path":"x","count":1,"meta":{"k":1}})") ==
          std::vector<std::string>{"at /meta/k: expected string, got integer"});
    // \p{...} needs ICU in Boost.Regex: that pattern is left to the server.
    CHECK(errors(s, R"({"path":"x","count":1,"emoji":"plain text"})").empty());
}

TEST_CASE("json schema: pydantic ($defs, Optional, recursive model)")
{
    const auto s = compile(kPydantic);
    CHECK(errors(s, R"({"points":[{"x":1,"y":2}]})").empty());
    CHECK(errors(s, R"({"points":[],"label":null,"mode":"slow","scale":10,"tags":["ab"],)"
                    R"("tree":{"name":"r","children":[{"name":"a","children":[{"name":"b"}]}]}})")
              .empty());
    CHECK(errors(s, R"({"points":[{"x":1,"y":"2"}],"label":3})") ==
          std::vector<std::string>{
              "at /points/0/y: expected integer, got string",
              "at /label: expected string or null, got integer",
          });
    CHECK(errors(s, R"({"points":[],"scale":0})") ==
          std::vector<std::string>{"at /scale: expected a number > 0, got 0"});
    CHECK(errors(s, R"({"points":[],"tags":["ok","Not OK"]})") ==
          std::vector<std::string>{"at /tags/1: does not match the pattern ^[a-z]+$"});
    CHECK(errors(s, R"({"points":[],"tree":{"name":"r","children":[{"name":"a","children":[{}]}]}})") ==
          std::vector<std::string>{
              R"(at /tree: matches none of the anyOf alternatives: (1) at /tree/children/0/children/0: missing )"
              R"(required property "name")"});
}

TEST_CASE("json schema: type")
{
    CHECK(valid(R"({"type":"integer"})", "3"));
    CHECK(valid(R"({"type":"integer"})", "3.0"));
    CHECK(valid(R"({"type":"integer"})", "-0.0"));
    CHECK(valid(R"({"type":"integer"})", "18446744073709551615"));
    CHECK(valid(R"({"type":"integer"})", "1e300"));
    CHECK(error(R"({"type":"integer"})", "3.5") == "at (root): expected integer, got number 3.5");
    CHECK(error(R"({"type":"integer"})", "true") == "at (root): expected integer, got boolean");
    CHECK(valid(R"({"type":"number"})", "3"));
    CHECK(error(R"({"type":"number"})", R"("3")") == "at (root): expected number, got string");
    CHECK(valid(R"({"type":["string","null"]})", "null"));
    CHECK(error(R"({"type":["string","null"]})", "1") == "at (root): expected string or null, got integer");
    CHECK(error(R"({"type":["null","array","object"]})", "1") ==
          "at (root): expected object, array or null, got integer");
    CHECK(error(R"({"type":["integer","number"]})", "true") == "at (root): expected number, got boolean");
    CHECK(error(R"({"type":"object"})", "null") == "at (root): expected object, got null");
    // A type mismatch is the only message for that value.
    CHECK(error(R"({"type":"string","minLength":3,"enum":["abc"]})", "1") == "at (root): expected string, got integer");
}

TEST_CASE("json schema: enum and const")
{
    CHECK(valid(R"({"enum":[1,"a",null,[1,{"b":2}]]})", R"([1.0,{"b":2.0}])"));
    CHECK(error(R"({"enum":["a","b"]})", R"("c")") == R"(at (root): expected one of "a", "b", got "c")");
    CHECK(error(R"({"enum":["only"]})", R"("c")") == R"(at (root): expected "only", got "c")");
    CHECK(error(R"({"enum":[]})", R"("c")") == "at (root): no value is allowed here (the enum is empty)");
    CHECK(valid(R"({"const":{"a":[1,2],"b":null}})", R"({"b":null,"a":[1,2.0]})"));
    CHECK(error(R"({"const":false})", "0") == "at (root): expected false, got 0");
    CHECK(error(R"({"const":1})", "true") == "at (root): expected 1, got true");
    CHECK(error(R"({"const":"x"})", R"("y")") == R"(at (root): expected "x", got "y")");

    // A long list and a long value are cut short.
    std::string many = R"({"enum":[)";
    for (int i = 0; i < 200; ++i)
        many += (i ? "," : "") + std::to_string(i * 1000);
    many += "]}";
    const auto message = error(many, std::string(1, '"') + std::string(500, 'x') + '"');
    CHECK(message.size() < 500);
    CHECK(message.find("more)") != std::string::npos);
    CHECK(message.find("xxx...") != std::string::npos);
}

TEST_CASE("json schema: numbers compare exactly across int64, uint64 and double")
{
    CHECK(valid(R"({"maximum":18446744073709551615})", "18446744073709551615"));
    CHECK(!valid(R"({"maximum":18446744073709551614})", "18446744073709551615"));
    CHECK(!valid(R"({"exclusiveMaximum":18446744073709551615})", "18446744073709551615"));
    CHECK(valid(R"({"minimum":-9223372036854775808})", "-9223372036854775808"));
    CHECK(!valid(R"({"minimum":-9223372036854775807})", "-9223372036854775808"));
    CHECK(valid(R"({"minimum":-1})", "18446744073709551615"));
    CHECK(!valid(R"({"maximum":-1})", "18446744073709551615"));
    // 2^53 + 1 has no double; a double bound must not round it.
    CHECK(!valid(R"({"maximum":9007199254740992.0})", "9007199254740993"));
    CHECK(valid(R"({"maximum":9007199254740992.0})", "9007199254740992"));
    CHECK(!valid(R"({"maximum":9223372036854775807})", "9223372036854775808.0"));
    CHECK(valid(R"({"maximum":2e19})", "18446744073709551615"));
    CHECK(!valid(R"({"maximum":1.8e19})", "18446744073709551615"));
    CHECK(!valid(R"({"minimum":0.5})", "0"));
    CHECK(valid(R"({"minimum":-0.5})", "0"));
    CHECK(!valid(R"({"maximum":1e308})", "1e400")); // Boost reads 1e400 as infinity
    CHECK(valid(R"({"minimum":-1e308})", "1e400"));
    CHECK(!valid(R"({"minimum":0})", "-1e400"));

    CHECK(error(R"({"minimum":1.5})", "1") == "at (root): expected a number >= 1.5, got 1");
    CHECK(error(R"({"exclusiveMinimum":1})", "1") == "at (root): expected a number > 1, got 1");
    CHECK(error(R"({"maximum":10})", "10.5") == "at (root): expected a number <= 10, got 10.5");
    CHECK(error(R"({"exclusiveMaximum":10})", "10.0") == "at (root): expected a number < 10, got 10.0");
    CHECK(errors(R"({"minimum":5,"maximum":1})", "3").size() == 2);
    // Draft-04's booleans.
    CHECK(!valid(R"({"minimum":1,"exclusiveMinimum":true})", "1"));
    CHECK(valid(R"({"minimum":1,"exclusiveMinimum":false})", "1"));
    CHECK(!valid(R"({"maximum":1,"exclusiveMaximum":true})", "1"));
    CHECK(valid(R"({"maximum":1,"exclusiveMaximum":true})", "0.99"));
    // Non-numbers are left alone.
    CHECK(valid(R"({"minimum":1,"multipleOf":7})", R"("0")"));
}

TEST_CASE("json schema: multipleOf")
{
    CHECK(valid(R"({"multipleOf":3})", "9"));
    CHECK(valid(R"({"multipleOf":3})", "-9"));
    CHECK(valid(R"({"multipleOf":3})", "9.0"));
    CHECK(error(R"({"multipleOf":3})", "10") == "at (root): expected a multiple of 3, got 10");
    CHECK(!valid(R"({"multipleOf":3})", "4.5"));
    CHECK(valid(R"({"multipleOf":2})", "-9223372036854775808"));
    CHECK(valid(R"({"multipleOf":5})", "18446744073709551615"));
    CHECK(!valid(R"({"multipleOf":7})", "18446744073709551615"));
    CHECK(valid(R"({"multipleOf":18446744073709551615})", "0"));
    CHECK(!valid(R"({"multipleOf":18446744073709551615})", "5"));
    CHECK(valid(R"({"multipleOf":1})", "1e300"));
    CHECK(valid(R"({"multipleOf":2.0})", "1e300"));
    // A decimal divisor: 0.3 / 0.1 is 2.9999999999999996 in doubles.
    CHECK(valid(R"({"multipleOf":0.1})", "0.3"));
    CHECK(valid(R"({"multipleOf":0.01})", "19.99"));
    CHECK(!valid(R"({"multipleOf":0.01})", "19.991"));
    CHECK(valid(R"({"multipleOf":0.5})", "1e308"));
    CHECK(!valid(R"({"multipleOf":0.123456789})", "1e308"));
    CHECK(!valid(R"({"multipleOf":0.5})", "1e400"));
    CHECK(error(R"({"multipleOf":0.5})", "0.3") == "at (root): expected a multiple of 0.5, got 0.3");
}

TEST_CASE("json schema: strings count code points and match ECMAScript patterns")
{
    CHECK(valid(R"({"maxLength":5})", R"("héllo")"));
    CHECK(valid(R"({"minLength":1,"maxLength":1})", R"("🎉")"));
    CHECK(error(R"({"maxLength":2})", R"("日本語")") == "at (root): expected at most 2 characters, got 3");
    CHECK(error(R"({"minLength":2})", R"("é")") == "at (root): expected at least 2 characters, got 1");

    // Unanchored: a pattern matches anywhere in the string.
    CHECK(valid(R"({"pattern":"b+"})", R"("abbbc")"));
    CHECK(!valid(R"({"pattern":"^b+"})", R"("abbbc")"));
    // ECMAScript's ^ and $ are the ends of the string (Perl's $ also
    // matches before a final newline).
    CHECK(!valid(R"({"pattern":"^a$"})", R"("a\n")"));
    CHECK(!valid(R"({"pattern":"^b$"})", R"("a\nb")"));
    // . is not \n \r U+2028 U+2029, and is a code point, not a byte.
    CHECK(!valid(R"({"pattern":"^a.b$"})", R"("a\nb")"));
    CHECK(!valid(R"({"pattern":"^a.b$"})", R"("a\rb")"));
    CHECK(valid(R"({"pattern":"^a.b$"})", R"("a\fb")"));
    CHECK(valid(R"({"pattern":"^.$"})", R"("é")"));
    CHECK(valid(R"({"pattern":"^.$"})", R"("🎉")"));
    // \d and \w are ASCII; \s is ECMAScript's whitespace.
    CHECK(!valid(R"({"pattern":"^\\d+$"})", R"("١٢٣")"));
    CHECK(valid(R"({"pattern":"^[\\d-]+$"})", R"("12-3")"));
    CHECK(!valid(R"({"pattern":"^\\w+$"})", R"("é")"));
    CHECK(valid(R"({"pattern":"^\\s$"})", "\"\u00a0\""));
    CHECK(valid(R"({"pattern":"^\\s$"})", "\"\u3000\""));
    CHECK(!valid(R"({"pattern":"^\\S$"})", "\"\u00a0\""));
    CHECK(valid(R"({"pattern":"^[\\s]$"})", "\"\ufeff\""));
    // \u escapes, surrogate pairs, \x, identity escapes.
    CHECK(valid(R"({"pattern":"^\\u00e9$"})", R"("é")"));
    CHECK(valid(R"({"pattern":"^\\u{1F389}$"})", R"("🎉")"));
    CHECK(valid(R"({"pattern":"^\\uD83C\\uDF89$"})", R"("🎉")"));
    CHECK(valid(R"({"pattern":"^\\x41$"})", R"("A")"));
    CHECK(valid(R"({"pattern":"^\\/\\.\\-$"})", R"("/.-")"));
    CHECK(valid(R"({"pattern":"^\\<$"})", R"("<")"));
    CHECK(!valid(R"({"pattern":"^\\.$"})", R"("x")"));
    // What ECMAScript reads literally and Boost would not.
    CHECK(valid(R"({"pattern":"^a{$"})", R"("a{")"));
    CHECK(valid(R"({"pattern":"^a{,2}$"})", R"("a{,2}")"));
    CHECK(valid(R"({"pattern":"^a{2}$"})", R"("aa")"));
    CHECK(valid(R"({"pattern":"^[[:a]+$"})", R"("[:a")"));
    CHECK(valid(R"({"pattern":"^[^]$"})", R"("\n")"));
    // A - in a class that cannot make a range is itself (Annex B).
    CHECK(valid(R"({"pattern":"^[\\w-.]+$"})", R"("a-b.c_1")"));
    CHECK(!valid(R"({"pattern":"^[\\w-.]+$"})", R"("a/b")"));
    CHECK(valid(R"({"pattern":"^[a-z-9]+$"})", R"("-9az")"));
    CHECK(!valid(R"({"pattern":"^[a-z-9]+$"})", R"("5")"));
    CHECK(valid(R"({"pattern":"^[a-\\d]+$"})", R"("a-5")"));
    CHECK(!valid(R"({"pattern":"^[a-\\d]+$"})", R"("b")"));
    CHECK(valid(R"({"pattern":"^[-a]+[a-]+$"})", R"("-a-")"));
    CHECK(valid(R"({"pattern":"^[\\cJ]$"})", R"("\n")"));
    CHECK(valid(R"({"pattern":"^[\\b]$"})", R"("\b")"));
    CHECK(!valid(R"({"pattern":"[]"})", R"("a")"));
    // Lookarounds, named groups and back references are ECMAScript too.
    CHECK(valid(R"({"pattern":"^(?<q>['\"]).*\\k<q>$"})", R"("'x'")"));
    CHECK(!valid(R"({"pattern":"^(['\"]).*\\1$"})", R"("'x\"")"));
    CHECK(valid(R"({"pattern":"^(?!-)[a-z-]+(?<!-)$"})", R"("a-b")"));
    CHECK(!valid(R"({"pattern":"^(?!-)[a-z-]+(?<!-)$"})", R"("a-")"));
    // Unicode property escapes cannot be evaluated without ICU: not checked.
    CHECK(valid(R"({"pattern":"^\\p{L}+$"})", R"("123")"));
    CHECK(error(R"({"pattern":"^\\d{3}$"})", R"("12")") == "at (root): does not match the pattern ^\\d{3}$");
    // A message stays on one line.
    CHECK(error(R"({"pattern":"^a\nb$"})", R"("ab")") == "at (root): does not match the pattern ^a\\nb$");
    // Non-strings are left alone.
    CHECK(valid(R"({"pattern":"^a$","minLength":5})", "12"));
}

TEST_CASE("json schema: a catastrophic pattern is an error, not a hang or a crash")
{
    const auto s = compile(R"({"properties":{"x":{"pattern":"^(a+)+$"},"y":{"pattern":"^(a|a)*(a|aa)*c$"},)"
                           R"("z":{"pattern":"^[a-z]+$"}}})");
    const auto start = std::chrono::steady_clock::now();
    const auto found = errors(s, R"({"x":")" + std::string(5000, 'a') + R"(!","y":")" + std::string(30, 'a') + "\"}");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    REQUIRE(found.size() == 2);
    CHECK(found[0] == "at /x: could not be checked against the pattern ^(a+)+$ (the match is too complex)");
    CHECK(found[1].starts_with("at /y: could not be checked"));
    // Long and easy still matches.
    CHECK(errors(s, R"({"z":")" + std::string(1000000, 'a') + "\"}").empty());
    CHECK(errors(s, R"({"z":")" + std::string(1000000, 'a') + "A\"}").size() == 1);
    // In patternProperties too.
    const auto pp = compile(R"({"patternProperties":{"^(a+)+$":{"type":"integer"}},"additionalProperties":false})");
    const auto key = std::string(40, 'a') + "!";
    CHECK(errors(pp, R"({")" + key + R"(":1})") ==
          std::vector<std::string>{R"(at (root): property name ")" + key +
                                   R"(" could not be checked against the pattern ^(a+)+$ (the match is too complex))"});
}

TEST_CASE("json schema: objects")
{
    const auto s = compile(R"({"properties":{"a":{"type":"integer"}},"patternProperties":{"^x-":{"type":"string"}},)"
                           R"("additionalProperties":{"type":"boolean"},"minProperties":1,"maxProperties":3})");
    CHECK(errors(s, R"({"a":1,"x-y":"s","other":true})").empty());
    CHECK(errors(s, R"({"a":"1","x-y":2,"other":3})") == std::vector<std::string>{
                                                             "at /a: expected integer, got string",
                                                             "at /x-y: expected string, got integer",
                                                             "at /other: expected boolean, got integer",
                                                         });
    CHECK(errors(s, "{}") == std::vector<std::string>{"at (root): expected at least 1 property, got 0"});
    CHECK(errors(s, R"({"a":1,"b":true,"c":true,"d":true})") ==
          std::vector<std::string>{"at (root): expected at most 3 properties, got 4"});
    // A property matching both properties and patternProperties gets both.
    CHECK(errors(R"({"properties":{"x-a":{"minLength":2}},"patternProperties":{"^x-":{"maxLength":0}}})",
                 R"({"x-a":"q"})")
              .size() == 2);

    CHECK(error(R"({"additionalProperties":false})", R"({"a":1})") == R"(at (root): unexpected property "a")");
    CHECK(error(R"({"properties":{"a":true,"b":false},"additionalProperties":false})", R"({"b":1})") ==
          R"(at (root): property "b" is not allowed)");
    CHECK(error(R"({"propertyNames":{"pattern":"^[a-z]+$"}})", R"({"ok":1,"Not":2})") ==
          R"(at (root): invalid property name "Not": does not match the pattern ^[a-z]+$)");
    CHECK(error(R"({"propertyNames":{"maxLength":2}})", R"({"abc":1})") ==
          R"(at (root): invalid property name "abc": expected at most 2 characters, got 3)");
    CHECK(error(R"({"propertyNames":false})", R"({"a":1})") ==
          R"(at (root): invalid property name "a": no value is allowed here)");
    CHECK(valid(R"({"propertyNames":false})", "{}"));

    CHECK(error(R"({"dependentRequired":{"credit_card":["billing_address"]}})", R"({"credit_card":1})") ==
          R"(at (root): property "billing_address" is required when "credit_card" is present)");
    CHECK(valid(R"({"dependentRequired":{"credit_card":["billing_address"]}})", R"({"billing_address":1})"));
    CHECK(error(R"({"dependentSchemas":{"a":{"required":["b"]}}})", R"({"a":1})") ==
          R"(at (root): missing required property "b")");
    // Draft-07's dependencies, both forms.
    CHECK(!valid(R"({"dependencies":{"a":["b"],"c":{"maxProperties":1}}})", R"({"a":1})"));
    CHECK(!valid(R"({"dependencies":{"a":["b"],"c":{"maxProperties":1}}})", R"({"c":1,"d":2})"));
    CHECK(valid(R"({"dependencies":{"a":["b"],"c":{"maxProperties":1}}})", R"({"a":1,"b":2})"));
    CHECK(valid(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","dependencies":{"a":["b"]}})",
                R"({"a":1})"));

    // Names that need escaping in a JSON pointer, or in a message.
    CHECK(error(R"({"properties":{"a/b~c":{"type":"string"}}})", R"({"a/b~c":1})") ==
          "at /a~1b~0c: expected string, got integer");
    CHECK(error(R"({"additionalProperties":{"type":"string"}})", R"({"a\nb":1})") ==
          "at /a\\nb: expected string, got integer");
    CHECK(error(R"({"required":["say \"hi\""]})", "{}") == R"(at (root): missing required property "say \"hi\"")");
}

TEST_CASE("json schema: arrays")
{
    CHECK(error(R"({"items":{"type":"string"},"minItems":2})", R"(["a"])") ==
          "at (root): expected at least 2 items, got 1");
    CHECK(error(R"({"maxItems":1})", "[1,2]") == "at (root): expected at most 1 item, got 2");
    CHECK(error(R"({"items":{"type":"string"}})", R"(["a",2])") == "at /1: expected string, got integer");
    // 2020-12 tuples.
    const std::string_view tuple = R"({"prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})";
    CHECK(valid(tuple, R"(["a",1])"));
    CHECK(valid(tuple, R"(["a"])"));
    CHECK(error(tuple, R"(["a","b"])") == "at /1: expected integer, got string");
    CHECK(error(tuple, R"(["a",1,null])") == "at (root): expected at most 2 items, got 3");
    CHECK(error(R"({"prefixItems":[{"type":"string"}],"items":{"type":"integer"}})", R"(["a",1,"b"])") ==
          "at /2: expected integer, got string");
    // Draft-07 tuples: items as an array, additionalItems.
    const std::string_view old = R"({"items":[{"type":"string"},{"type":"integer"}],"additionalItems":false})";
    CHECK(valid(old, R"(["a",1])"));
    CHECK(error(old, R"([1])") == "at /0: expected string, got integer");
    CHECK(error(old, R"(["a",1,2])") == "at (root): expected at most 2 items, got 3");
    CHECK(error(R"({"items":[{}],"additionalItems":{"type":"string"}})", R"([1,2])") ==
          "at /1: expected string, got integer");
    CHECK(valid(R"({"items":{},"additionalItems":false})", "[1,2,3]")); // ignored beside a schema `items`

    CHECK(valid(R"({"uniqueItems":true})", R"([1,"1",[1],{"a":1},{"a":2},true,null])"));
    CHECK(error(R"({"uniqueItems":true})", R"([1,2,1.0])") ==
          "at (root): expected unique items, but items 0 and 2 are equal");
    CHECK(!valid(R"({"uniqueItems":true})", R"([{"a":1,"b":[2]},{"b":[2.0],"a":1}])"));
    // The double is 2^64, one more than the integer.
    CHECK(valid(R"({"uniqueItems":true})", "[18446744073709551615, 1.8446744073709552e19]"));
    CHECK(!valid(R"({"uniqueItems":true})", "[9223372036854775807, 9223372036854775807]"));
    CHECK(valid(R"({"uniqueItems":false})", "[1,1]"));

    CHECK(valid(R"({"contains":{"type":"integer"}})", R"(["a",1])"));
    CHECK(error(R"({"contains":{"type":"integer"}})", R"(["a"])") ==
          R"(at (root): expected at least 1 item matching the "contains" schema, got 0)");
    CHECK(error(R"({"contains":{"type":"integer"},"minContains":2,"maxContains":3})", R"([1,"a"])") ==
          R"(at (root): expected at least 2 items matching the "contains" schema, got 1)");
    CHECK(error(R"({"contains":{"type":"integer"},"maxContains":1})", "[1,2]") ==
          R"(at (root): expected at most 1 item matching the "contains" schema, got 2)");
    CHECK(valid(R"({"contains":{"type":"integer"},"minContains":0})", "[]"));
}

TEST_CASE("json schema: boolean schemas and combinators")
{
    CHECK(valid("true", R"({"anything":[1]})"));
    CHECK(error("false", "{}") == "at (root): no value is allowed here");
    CHECK(valid("{}", "null"));
    CHECK(error(R"({"properties":{"a":false}})", R"({"a":1})") == R"(at (root): property "a" is not allowed)");

    CHECK(errors(R"({"allOf":[{"minimum":2},{"multipleOf":2}]})", "1") ==
          std::vector<std::string>{"at (root): expected a number >= 2, got 1",
                                   "at (root): expected a multiple of 2, got 1"});
    CHECK(valid(R"({"anyOf":[{"type":"string"},{"minimum":2}]})", "3"));
    CHECK(error(R"({"anyOf":[{"type":"string"},{"minimum":2}]})", "1") ==
          "at (root): matches none of the anyOf alternatives: (2) expected a number >= 2, got 1");
    CHECK(error(R"({"anyOf":[{"type":"string","minLength":3},{"type":"integer"}]})", R"("ab")") ==
          "at (root): matches none of the anyOf alternatives: (1) expected at least 3 characters, got 2");
    CHECK(error(R"({"anyOf":[{"type":"string"},{"type":"array","items":{"type":"string"}}]})", "[1]") ==
          "at (root): matches none of the anyOf alternatives: (2) at /0: expected string, got integer");
    CHECK(error(R"({"oneOf":[{"type":"integer"},{"minimum":2}]})", "3") ==
          "at (root): matches more than one of the oneOf alternatives (1 and 2); it must match exactly one");
    CHECK(valid(R"({"oneOf":[{"type":"integer"},{"minimum":2}]})", "1"));
    CHECK(error(R"({"oneOf":[{"type":"integer"},{"type":"string"}]})", "null") ==
          "at (root): expected string or integer, got null");
    CHECK(error(R"({"not":{"type":"string"}})", R"("a")") == R"(at (root): must not match the schema in "not")");
    CHECK(valid(R"({"not":{"type":"string"}})", "1"));

    const std::string_view cond = R"({"if":{"properties":{"kind":{"const":"file"}}},)"
                                  R"("then":{"required":["path"]},"else":{"required":["url"]}})";
    CHECK(valid(cond, R"({"kind":"file","path":"/x"})"));
    CHECK(error(cond, R"({"kind":"file"})") == R"(at (root): missing required property "path")");
    CHECK(error(cond, R"({"kind":"web"})") == R"(at (root): missing required property "url")");
    CHECK(valid(R"({"then":false})", "1")); // then without if is nothing
    CHECK(valid(R"({"if":true})", "1"));

    // Merged type messages nest.
    CHECK(error(R"({"anyOf":[{"anyOf":[{"type":"string"},{"type":"null"}]},{"type":"boolean"}]})", "1") ==
          "at (root): expected string, boolean or null, got integer");
}

TEST_CASE("json schema: $ref")
{
    CHECK(valid(R"({"$defs":{"a":{"type":"integer"}},"$ref":"#/$defs/a"})", "1"));
    CHECK(error(R"({"$defs":{"a":{"type":"integer"}},"$ref":"#/$defs/a"})", R"("x")") ==
          "at (root): expected integer, got string");
    CHECK(error(R"({"definitions":{"a":{"type":"integer"}},"properties":{"x":{"$ref":"#/definitions/a"}}})",
                R"({"x":"1"})") == "at /x: expected integer, got string");
    // JSON pointer escapes and URI percent-encoding.
    CHECK(!valid(R"({"$defs":{"a/b~c%d":{"type":"integer"}},"$ref":"#/$defs/a~1b~0c%25d"})", R"("x")"));
    CHECK(!valid(R"({"$defs":{"a b":{"type":"integer"}},"$ref":"#/$defs/a%20b"})", R"("x")"));
    CHECK(!valid(R"({"allOf":[{"type":"string"},{"type":"integer"}],"$ref":"#/allOf/1"})", "1.5"));
    // Anchors, and the root's own $id.
    CHECK(!valid(R"({"$defs":{"a":{"$anchor":"num","type":"number"}},"$ref":"#num"})", R"("x")"));
    CHECK(!valid(R"({"definitions":{"a":{"$id":"#num","type":"number"}},"$ref":"#num"})", R"("x")"));
    CHECK(!valid(R"({"$id":"https://example.com/s.json","$defs":{"a":{"type":"number"}},)"
                 R"("$ref":"https://example.com/s.json#/$defs/a"})",
                 R"("x")"));
    // Recursion through the instance: a tree.
    const auto tree = compile(R"({"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array",)"
                              R"("items":{"$ref":"#"}}},"required":["v"]})");
    CHECK(errors(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3},{"v":4,"kids":[]}]}]})").empty());
    CHECK(errors(tree, R"({"v":1,"kids":[{"v":2,"kids":[{"v":3},{"kids":[]}]}]})") ==
          std::vector<std::string>{R"(at /kids/0/kids/1: missing required property "v")"});
    // Beside $ref: applied from 2019-09 on, ignored before.
    CHECK(!valid(R"({"$defs":{"a":{"type":"integer"}},"$ref":"#/$defs/a","minimum":5})", "1"));
    CHECK(valid(R"({"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"a":{"type":"integer"}},)"
                R"("$ref":"#/definitions/a","minimum":5})",
                "1"));
    // An unreferenced broken definition is never compiled.
    CHECK(valid(R"({"$defs":{"broken":{"type":"nonsense"}},"type":"integer"})", "1"));
}

TEST_CASE("json schema: schemas it cannot use are ConfigErrors that name the place")
{
    CHECK(compile_error(R"({"properties":{"x":{"pattern":"(unclosed"}}})")
              .starts_with(R"(invalid schema at #/properties/x/pattern: invalid regular expression "(unclosed": )"));
    CHECK(compile_error(R"({"patternProperties":{"[":{}}})")
              .starts_with(R"(invalid schema at #/patternProperties/[: invalid regular expression "[": )"));
    CHECK(compile_error(R"({"pattern":"a\\"})").starts_with("invalid schema at #/pattern: invalid regular expression"));
    CHECK(compile_error(R"({"pattern":")" + std::string(1001, 'a') + "\"}") ==
          "invalid schema at #/pattern: the pattern is longer than 1000 characters");
    CHECK(compile_error(R"({"$ref":"https://example.com/other.json"})") ==
          R"(invalid schema at #/$ref: remote $ref "https://example.com/other.json" is not supported )"
          "(only references into this schema are)");
    CHECK(compile_error(R"({"items":{"$ref":"other.json#/a"}})")
              .starts_with("invalid schema at #/items/$ref: remote $ref"));
    CHECK(compile_error(R"({"$ref":"#/$defs/missing"})") ==
          R"(invalid schema at #/$ref: $ref "#/$defs/missing" points to nothing in this schema)");
    CHECK(compile_error(R"({"$ref":"#nowhere"})") ==
          R"(invalid schema at #/$ref: $ref "#nowhere" names no anchor in this schema)");
    CHECK(compile_error(R"({"$ref":"#/a~2"})") == R"(invalid schema at #/$ref: bad JSON pointer in $ref "#/a~2")");
    CHECK(compile_error(R"({"$ref":"#/%zz"})") == R"(invalid schema at #/$ref: bad percent-escape in $ref "#/%zz")");
    CHECK(compile_error(R"({"$ref":"#/items/0","items":[{}]})") == "(compiled)");
    CHECK(compile_error(R"({"$ref":"#/items","items":[{}]})") ==
          "invalid schema at #/items: expected a schema (an object or a boolean), got [{}]");
    CHECK(compile_error(R"({"$ref":"#/items/01","items":[{}]})").ends_with("points to nothing in this schema"));
    CHECK(compile_error(R"({"$ref":5})") == "invalid schema at #/$ref: expected a string");
    CHECK(compile_error(R"({"$defs":{"a":{"$id":"https://x/a.json","$ref":"#/b"}},"$ref":"#/$defs/a"})") ==
          "invalid schema at #/$defs/a/$ref: a $ref inside a subschema with an $id of its own is not supported");

    CHECK(compile_error("5") == "invalid schema at #: expected a schema (an object or a boolean), got 5");
    CHECK(compile_error(R"({"properties":{"a":"string"}})") ==
          R"(invalid schema at #/properties/a: expected a schema (an object or a boolean), got "string")");
    CHECK(compile_error(R"({"type":"float"})") == R"(invalid schema at #/type: unknown type "float")");
    CHECK(compile_error(R"({"type":[]})") ==
          "invalid schema at #/type: expected a type name or a non-empty array of them");
    CHECK(compile_error(R"({"minLength":-1})") ==
          "invalid schema at #/minLength: expected a non-negative integer, got -1");
    CHECK(compile_error(R"({"maxItems":1.5})") ==
          "invalid schema at #/maxItems: expected a non-negative integer, got 1.5");
    CHECK(compile_error(R"({"minimum":"5"})") == R"(invalid schema at #/minimum: expected a number, got "5")");
    CHECK(compile_error(R"({"multipleOf":0})") ==
          "invalid schema at #/multipleOf: expected a number greater than 0, got 0");
    CHECK(compile_error(R"({"multipleOf":-2})").starts_with("invalid schema at #/multipleOf"));
    CHECK(compile_error(R"({"required":"a"})") == "invalid schema at #/required: expected an array of property names");
    CHECK(compile_error(R"({"required":[1]})") ==
          "invalid schema at #/required: expected an array of property names, found 1");
    CHECK(compile_error(R"({"enum":"a"})") == "invalid schema at #/enum: expected an array");
    CHECK(compile_error(R"({"anyOf":[]})") == "invalid schema at #/anyOf: expected a non-empty array of schemas");
    CHECK(compile_error(R"({"allOf":[{},3]})") ==
          "invalid schema at #/allOf/1: expected a schema (an object or a boolean), got 3");
    CHECK(compile_error(R"({"uniqueItems":"yes"})") == "invalid schema at #/uniqueItems: expected a boolean");
    CHECK(compile_error(R"({"properties":[]})") == "invalid schema at #/properties: expected an object");
    CHECK(compile_error(R"({"properties":{"a/b":{"minimum":null}}})") ==
          "invalid schema at #/properties/a~1b/minimum: expected a number, got null");
}

TEST_CASE("json schema: annotations, unknown keywords and the leniencies")
{
    CHECK(valid(R"({"title":"t","description":"d","default":5,"examples":[1],"format":"email",)"
                R"("deprecated":true,"readOnly":true,"x-custom":{"type":"string"},"$comment":"c",)"
                R"("contentMediaType":"application/json","unevaluatedProperties":false})",
                R"({"a":1})"));
    // Draft-03's boolean required inside a property.
    CHECK(valid(R"({"properties":{"a":{"type":"string","required":true}}})", "{}"));
    // OpenAPI 3.0's nullable.
    CHECK(valid(R"({"type":"string","nullable":true})", "null"));
    CHECK(valid(R"({"type":"string","enum":["a"],"nullable":true})", "null"));
    CHECK(!valid(R"({"type":"string","nullable":false})", "null"));
    CHECK(valid(R"({"$dynamicRef":"#meta","$anchor":"x"})", "1"));
}

TEST_CASE("json schema: hostile schemas stay within their limits")
{
    SUBCASE("nesting past max_depth")
    {
        const std::string deep = nested(R"({"items":)", "{}", "}", 100);
        CHECK(compile_error(deep).ends_with("the schema nests more than 64 levels deep"));
        const std::string fine = nested(R"({"items":)", R"({"type":"integer"})", "}", 60);
        CHECK(error(fine, nested("[", R"("x")", "]", 60)) ==
              "at " + nested("/0", "", "", 60) + ": expected integer, got string");
        const std::string really_deep = nested(R"({"not":)", "{}", "}", 2000);
        CHECK(compile_error(really_deep).ends_with("levels deep"));
    }
    SUBCASE("a $ref loop that never descends into the instance")
    {
        const auto loop = compile(R"({"$ref":"#"})");
        CHECK(errors(loop, "1") ==
              std::vector<std::string>{"at (root): the tool's schema nests too deeply here to check (more than 256 "
                                       "levels; a $ref loop?)"});
        const auto mutual = compile(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},)"
                                    R"("properties":{"x":{"$ref":"#/$defs/a"}}})");
        const auto found = errors(mutual, R"({"x":1})");
        REQUIRE(found.size() == 1);
        CHECK(found[0].starts_with("at /x: the tool's schema nests too deeply"));
        CHECK(errors(mutual, R"({"y":1})").empty());
        // A loop through not/if still stops.
        CHECK(errors(R"({"not":{"$ref":"#"}})", "1").size() == 1);
        CHECK(errors(R"({"if":{"$ref":"#"}})", "1").size() == 1);
    }
    SUBCASE("a recursive schema against a deep instance")
    {
        const std::string deep = nested("[", "1", "]", 400);
        CHECK(errors(R"({"items":{"$ref":"#"}})", deep).size() == 1);
        CHECK(errors(R"({"items":{"$ref":"#"}})", nested("[", "1", "]", 100)).empty());
    }
    SUBCASE("exponential fan-out through shared definitions")
    {
        std::string defs = R"({"$defs":{"d0":{"type":"integer"})";
        for (int i = 1; i <= 40; ++i)
            defs += ",\"d" + std::to_string(i) + R"(":{"allOf":[{"$ref":"#/$defs/d)" + std::to_string(i - 1) +
                    R"("},{"$ref":"#/$defs/d)" + std::to_string(i - 1) + R"("}]})";
        defs += R"(},"$ref":"#/$defs/d40"})";
        const auto s = compile(defs);
        const auto start = std::chrono::steady_clock::now();
        const auto found = errors(s, "1");
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
        CHECK(found == std::vector<std::string>{
                           "at (root): the arguments are too complex to check against the tool's schema (more than "
                           "1000000 steps)"});
    }
    SUBCASE("a huge instance against uniqueItems")
    {
        std::string many = "[";
        for (int i = 0; i < 20000; ++i)
            many += (i ? "," : "") + std::to_string(i);
        CHECK(errors(R"({"uniqueItems":true})", many + "]").empty());
        CHECK(errors(R"({"uniqueItems":true})", many + ",19999.0]") ==
              std::vector<std::string>{"at (root): expected unique items, but items 19999 and 20000 are equal"});
    }
    SUBCASE("too many subschemas")
    {
        std::string wide = R"({"anyOf":[)";
        for (int i = 0; i < 200; ++i)
            wide += (i ? "," : "") + std::string("{}");
        wide += "]}";
        CHECK(compile_error(wide, {.max_subschemas = 100}).ends_with("the schema has more than 100 subschemas"));
        CHECK(compile_error(wide) == "(compiled)");
    }
    SUBCASE("huge numbers in the schema")
    {
        CHECK(valid(R"({"maxLength":1e300,"minItems":0.0,"maximum":1e308,"multipleOf":1e-300})", R"("x")"));
        CHECK(valid(R"({"maxItems":18446744073709551615})", "[1]"));
        CHECK(valid(R"({"multipleOf":1e-300})", "0"));
    }
}

TEST_CASE("json schema: max_errors")
{
    std::string args = "{";
    for (int i = 0; i < 30; ++i)
        args += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":1");
    args += "}";
    const std::string_view schema = R"({"additionalProperties":{"type":"string"}})";
    CHECK(errors(schema, args).size() == 10);
    CHECK(compile(schema, {.max_errors = 3}).validate(parse(args)).size() == 3);
    CHECK(compile(schema, {.max_errors = 0}).validate(parse(args)).size() == 1);
    CHECK(compile(schema, {.max_errors = 100}).validate(parse(args)).size() == 30);
}

TEST_CASE("json schema: a default schema accepts anything; compiled ones are shared across threads")
{
    CHECK(JsonSchema{}.validate(parse(R"({"a":[1,2]})")).empty());

    const JsonSchema s = compile(kPydantic);
    const JsonSchema copy = s; // shares the compiled form
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            const auto good = parse(R"({"points":[{"x":1,"y":2}],"tags":["abc"]})");
            const auto bad = parse(R"({"points":[{"x":1}],"tags":["ABC"]})");
            for (int i = 0; i < 200; ++i) {
                const auto& schema = t % 2 ? copy : s;
                if (!schema.validate(good).empty() || schema.validate(bad).size() != 2)
                    ++failures[t];
            }
        });
    }
    for (auto& th : threads)
        th.join();
    CHECK(failures == std::vector<int>(4, 0));
}
