// libFuzzer target for the MCP client's JSON Schema validator. Input: a
// schema's JSON text, a NUL byte, an instance's JSON text (both as a server
// and a model could send them); inputs that are not two JSON texts are
// skipped.
// Invariants: compile throws nothing but ConfigError; validate throws
// nothing, returns at most max_errors one-line messages that start with
// "at ", gives the same answer twice and through a copy, and its verdict and
// first message do not depend on max_errors (validation stops at the first
// error when one is all it may report). For a schema without references,
// {"not": schema} accepts exactly what the schema rejects, unless a limit or
// a pattern too complex to match left either without an answer.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fuzz_harness.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/tools/mcp/detail/json_schema.hpp"

namespace {

using stirrup::detail::mcp::JsonSchema;
using stirrup::detail::mcp::SchemaLimits;
using stirrup::fuzz::require;
namespace json = boost::json;

std::optional<json::value> parse(std::string_view text)
{
    json::parse_options options;
    options.max_depth = 200; // past the compiler's max_depth, to reach its check
    boost::system::error_code ec;
    json::value v = json::parse(text, ec, {}, options);
    if (ec)
        return std::nullopt;
    return v;
}

std::optional<JsonSchema> compile(const json::value& schema, const SchemaLimits& limits)
{
    try {
        return JsonSchema::compile(schema, limits);
    } catch (const stirrup::ConfigError&) {
        return std::nullopt;
    }
}

// An error that says the validator could not decide, rather than that the
// instance is wrong.
bool undecided(const std::vector<std::string>& errors)
{
    for (const auto& e : errors)
        if (e.find("could not be checked") != std::string::npos || e.find("nests too deeply") != std::string::npos ||
            e.find("too complex to check") != std::string::npos)
            return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 8192)
        return 0; // larger inputs only slow the search down
    const std::string_view in = stirrup::fuzz::as_text(data, size);
    const auto nul = in.find('\0');
    if (nul == std::string_view::npos)
        return 0;
    const auto schema_json = parse(in.substr(0, nul));
    const auto instance = parse(in.substr(nul + 1));
    if (!schema_json || !instance)
        return 0;

    // Small enough that fuzzed schemas reach the limits often.
    const SchemaLimits limits{.max_depth = 32, .max_errors = 5, .max_subschemas = 2000, .max_steps = 20000};
    const auto schema = compile(*schema_json, limits);
    if (!schema)
        return 0;

    const auto errors = schema->validate(*instance);
    require(errors.size() <= limits.max_errors);
    for (const auto& e : errors)
        require(e.starts_with("at ") && e.find('\n') == std::string::npos && e.find('\r') == std::string::npos);
    require(schema->validate(*instance) == errors);
    const JsonSchema copy = *schema;
    require(copy.validate(*instance) == errors);

    SchemaLimits one = limits;
    one.max_errors = 1;
    const auto first = compile(*schema_json, one);
    require(first.has_value());
    const auto first_errors = first->validate(*instance);
    require(first_errors.size() == (errors.empty() ? 0 : 1));
    if (!errors.empty())
        require(first_errors.front() == errors.front());

    if (in.substr(0, nul).find('$') == std::string_view::npos && !undecided(errors)) {
        json::object wrapper;
        wrapper["not"] = *schema_json;
        const auto negated = compile(wrapper, limits);
        if (negated) {
            const auto negated_errors = negated->validate(*instance);
            if (!undecided(negated_errors))
                require(negated_errors.empty() != errors.empty());
        }
    }
    return 0;
}
