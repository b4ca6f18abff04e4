// Run metadata: folding tool metadata across calls (Stirrup's `+` on its
// metadata models) and aggregate_metadata's JSON summary of a run.

#include "stirrup/agent/run_result.hpp"

#include <algorithm>
#include <memory>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace stirrup {

namespace json = boost::json;

std::vector<std::string> FinishCall::paths() const
{
    // The finish tool's parameters were checked against its schema, so a
    // "paths" that is not a list of strings means the tool has no such
    // parameter: report none rather than a partial list.
    const auto* value = params.if_contains("paths");
    if (value == nullptr || !value->is_array())
        return {};
    std::vector<std::string> out;
    for (const auto& item : value->get_array()) {
        if (!item.is_string())
            return {};
        out.emplace_back(item.get_string());
    }
    return out;
}

TokenUsage RunMetadata::total_tokens() const
{
    TokenUsage total;
    for (const auto& usage : token_usage)
        total += usage;
    return total;
}

namespace {

// Python's bool is an int, but no metadata model adds flags, so booleans are
// treated as plain values (the last one wins) rather than counted.
bool is_number(const json::value& v)
{
    return v.is_int64() || v.is_uint64() || v.is_double();
}

json::value add_numbers(const json::value& a, const json::value& b)
{
    if (a.is_double() || b.is_double())
        return json::value(a.to_number<double>() + b.to_number<double>());
    // Boost.JSON parses integers above INT64_MAX as uint64: keep such a sum
    // unsigned while neither side is negative.
    const auto non_negative = [](const json::value& v) { return v.is_uint64() || v.get_int64() >= 0; };
    const auto as_uint = [](const json::value& v) {
        return v.is_uint64() ? v.get_uint64() : static_cast<std::uint64_t>(v.get_int64());
    };
    if ((a.is_uint64() || b.is_uint64()) && non_negative(a) && non_negative(b))
        return json::value(as_uint(a) + as_uint(b));
    return json::value(static_cast<std::int64_t>(as_uint(a) + as_uint(b)));
}

void merge_objects(json::object& into, const json::object& from);

json::value add_values(const json::value& a, const json::value& b)
{
    if (is_number(a) && is_number(b))
        return add_numbers(a, b);
    if (a.is_array() && b.is_array()) {
        json::array joined = a.get_array();
        for (const auto& item : b.get_array())
            joined.push_back(item);
        return joined;
    }
    if (a.is_object() && b.is_object()) {
        json::object merged = a.get_object();
        merge_objects(merged, b.get_object());
        return merged;
    }
    return b;
}

void merge_objects(json::object& into, const json::object& from)
{
    for (const auto& [key, value] : from) {
        if (auto* existing = into.if_contains(key))
            *existing = add_values(*existing, value);
        else
            into.emplace(key, value);
    }
}

ToolMetadata fold(const std::vector<ToolMetadata>& list)
{
    ToolMetadata folded = list.front();
    for (std::size_t i = 1; i < list.size(); ++i)
        merge_metadata(folded, list[i]);
    return folded;
}

json::object token_usage_json(const TokenUsage& usage)
{
    return {{"input", usage.input}, {"answer", usage.answer}, {"reasoning", usage.reasoning}};
}

// One level of the tree: the tools of `metadata`, each folded, sub-agents
// replaced by their own level. `total` collects the token usage of this level
// and every level below it.
json::object aggregate_level(const RunMetadata& metadata, bool is_root, TokenUsage& total)
{
    json::object level;
    for (const auto& [name, list] : metadata.tools) {
        if (list.empty() || name.starts_with('_'))
            continue;
        const ToolMetadata folded = fold(list);
        if (!folded.sub_agent) {
            level[name] = folded.values;
            continue;
        }
        // A sub-agent's own values (normally none) first, then its tools.
        json::object child = folded.values;
        json::object nested = aggregate_level(folded.sub_agent->run_metadata, false, total);
        for (auto& [key, value] : nested)
            child[key] = std::move(value);
        level[name] = std::move(child);
    }
    const TokenUsage own = metadata.total_tokens();
    total += own;
    // Stirrup keeps each sub-agent's folded token usage among its tools; the
    // root gets the rolled-up total instead (set by the caller).
    if (!is_root && !metadata.token_usage.empty())
        level["token_usage"] = token_usage_json(own);
    return level;
}

} // namespace

void merge_run_metadata(RunMetadata& into, const RunMetadata& from)
{
    for (const auto& [name, list] : from.tools) {
        auto& target = into.tools[name];
        target.insert(target.end(), list.begin(), list.end());
    }
    into.token_usage.insert(into.token_usage.end(), from.token_usage.begin(), from.token_usage.end());
    for (const auto& [name, durations] : from.tool_durations) {
        auto& target = into.tool_durations[name];
        target.insert(target.end(), durations.begin(), durations.end());
    }
    if (from.model_speed)
        into.model_speed = from.model_speed;
    into.model_queue_wait.calls += from.model_queue_wait.calls;
    into.model_queue_wait.total_seconds += from.model_queue_wait.total_seconds;
    into.model_queue_wait.max_seconds = std::max(into.model_queue_wait.max_seconds, from.model_queue_wait.max_seconds);
}

void merge_metadata(ToolMetadata& a, const ToolMetadata& b)
{
    merge_objects(a.values, b.values);
    if (!b.sub_agent)
        return;
    if (!a.sub_agent) {
        a.sub_agent = b.sub_agent;
        return;
    }
    // The pointee is shared with the calls' own results, so the sum is a new object.
    auto sum = std::make_shared<SubAgentMetadata>(*a.sub_agent);
    sum->message_history.insert(sum->message_history.end(), b.sub_agent->message_history.begin(),
                                b.sub_agent->message_history.end());
    merge_run_metadata(sum->run_metadata, b.sub_agent->run_metadata);
    a.sub_agent = std::move(sum);
}

json::object aggregate_metadata(const RunMetadata& metadata)
{
    TokenUsage total;
    json::object result = aggregate_level(metadata, true, total);
    if (total.total() > 0)
        result["token_usage"] = json::array{token_usage_json(total)};
    return result;
}

} // namespace stirrup
