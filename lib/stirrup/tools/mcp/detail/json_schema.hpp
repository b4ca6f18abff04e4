#pragma once
// JSON Schema validation of a model's tool-call arguments against an MCP
// tool's inputSchema, before the call is sent: a mistake comes back to the
// model at once, as a tool error that names the place, instead of as
// whatever the server makes of it. Pure (no I/O), so it is fuzzed on its own.
//
// Drafts 2020-12 and 07 (what zod-to-json-schema, pydantic and hand-written
// servers emit): type, enum, const; properties, required, additionalProperties,
// patternProperties, propertyNames, min/maxProperties, dependentRequired,
// dependentSchemas, dependencies; items (schema, or the draft-07 array form),
// prefixItems, additionalItems, min/maxItems, uniqueItems, contains,
// min/maxContains; min/maxLength (code points), pattern; minimum, maximum,
// exclusiveMinimum/Maximum (draft-04 booleans and numbers), multipleOf;
// allOf, anyOf, oneOf, not, if/then/else; local $ref, boolean schemas.
// Annotations (format included) and unknown keywords are ignored.
//
// The server validates again, so wherever the two could disagree this side
// leans to accepting: "integer" accepts 3.0, multipleOf with a fractional
// divisor allows rounding error, OpenAPI's `nullable: true` adds null to the
// types, draft-03's boolean `required` is ignored, and a pattern using
// Unicode property escapes (\p{...}, which Boost.Regex cannot evaluate
// without ICU) is not checked. Patterns are ECMAScript's, translated to
// Boost.Regex's Perl syntax where the two differ (\d \w \s . ^ $ \u).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

namespace stirrup::detail::mcp {

/// Bounds on what a schema (from a server that may be hostile) and the
/// instance (from a model) can cost.
struct SchemaLimits {
    /// Deepest nesting of subschemas in the schema document.
    std::size_t max_depth = 64;
    /// Most messages validate() returns (at least one is kept).
    std::size_t max_errors = 10;
    /// Longest `pattern` or patternProperties key, in code points.
    std::size_t max_pattern_length = 1000;
    /// Most subschemas one schema may compile to.
    std::size_t max_subschemas = 10000;
    /// Deepest nesting of subschema applications in one validation: bounds
    /// the stack, and stops a $ref loop that never descends into the instance.
    std::size_t max_recursion = 256;
    /// Most subschema applications in one validation: bounds the time of a
    /// schema that references the same subschema many times over.
    std::size_t max_steps = 1'000'000;
};

/// A compiled schema: compiled once per tool (tools/list), then used for
/// every call. Immutable, so one object may validate on several threads;
/// copies share the compiled form.
class JsonSchema {
public:
    /// The schema `true`: accepts every instance.
    JsonSchema();

    /// Throws stirrup::ConfigError, naming the place in the schema
    /// ("#/properties/path/pattern"), for a schema it cannot use: not an
    /// object or a boolean, a keyword with a value of the wrong type, an
    /// invalid or too long regex, a $ref that is remote or does not resolve,
    /// nesting or size past `limits`.
    static JsonSchema compile(const boost::json::value& schema, SchemaLimits limits = {});

    /// Empty when `instance` is valid; otherwise at most max_errors messages
    /// like "at /items/0: expected integer, got string" (the place is a JSON
    /// pointer into the instance, "(root)" for the whole of it).
    std::vector<std::string> validate(const boost::json::value& instance) const;

private:
    struct Impl;
    explicit JsonSchema(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> impl_;
};

} // namespace stirrup::detail::mcp
