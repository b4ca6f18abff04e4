// Run metadata: FinishCall::paths, token totals, merge_metadata (Stirrup's
// `+` on metadata models) and aggregate_metadata's nested JSON.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "stirrup/agent/run_result.hpp"

using namespace stirrup;
namespace json = boost::json;

namespace {

ToolMetadata meta(std::string_view json_text)
{
    ToolMetadata m;
    m.values = json::parse(json_text).as_object();
    return m;
}

ToolMetadata sub_agent(RunMetadata run, std::vector<std::vector<ChatMessage>> history = {})
{
    auto child = std::make_shared<SubAgentMetadata>();
    child->run_metadata = std::move(run);
    child->message_history = std::move(history);
    ToolMetadata m;
    m.sub_agent = std::move(child);
    return m;
}

std::vector<ChatMessage> group(std::string text)
{
    UserMessage message;
    message.content = std::move(text);
    return {message};
}

std::string first_text(const std::vector<ChatMessage>& messages)
{
    return content_text(std::get<UserMessage>(messages.front()).content);
}

} // namespace

TEST_CASE("FinishCall::paths returns params[\"paths\"] only when it is a list of strings")
{
    FinishCall call{"finish", json::parse(R"({"reason":"ok","paths":["a.txt","out/b.md"]})").as_object()};
    CHECK(call.paths() == std::vector<std::string>{"a.txt", "out/b.md"});

    call.params = json::parse(R"({"reason":"ok"})").as_object();
    CHECK(call.paths().empty());
    call.params = json::parse(R"({"paths":"a.txt"})").as_object();
    CHECK(call.paths().empty());
    call.params = json::parse(R"({"paths":["a.txt",3]})").as_object();
    CHECK(call.paths().empty());
    call.params = json::parse(R"({"paths":[]})").as_object();
    CHECK(call.paths().empty());
}

TEST_CASE("RunMetadata::total_tokens sums every turn's usage")
{
    RunMetadata run;
    CHECK(run.total_tokens() == TokenUsage{});
    run.token_usage = {{100, 10, 1}, {200, 20, 0}, {300, 30, 3}};
    CHECK(run.total_tokens() == TokenUsage{600, 60, 4});
}

TEST_CASE("merge_metadata sums numbers, keeping integers integral")
{
    ToolMetadata a = meta(R"({"num_uses":1,"big":18446744073709551615,"u":5,"seconds":1.5,"mixed":2})");
    a.values["u"] = std::uint64_t{5};
    ToolMetadata b = meta(R"({"num_uses":2,"big":0,"u":7,"seconds":2,"mixed":0.25,"new":4})");
    b.values["u"] = std::uint64_t{7};
    merge_metadata(a, b);
    CHECK(a.values.at("num_uses").is_int64());
    CHECK(a.values.at("num_uses").get_int64() == 3);
    CHECK(a.values.at("u").is_uint64());
    CHECK(a.values.at("u").get_uint64() == 12);
    CHECK(a.values.at("big").is_uint64());
    CHECK(a.values.at("big").get_uint64() == 18446744073709551615ULL);
    CHECK(a.values.at("seconds").is_double());
    CHECK(a.values.at("seconds").get_double() == 3.5);
    CHECK(a.values.at("mixed").is_double());
    CHECK(a.values.at("mixed").get_double() == 2.25);
    CHECK(a.values.at("new").get_int64() == 4);
    CHECK(a.values.size() == 6);
}

TEST_CASE("merge_metadata concatenates arrays, deep-merges objects, and otherwise keeps the last value")
{
    ToolMetadata a = meta(R"({
        "pages": ["a", "b"],
        "by_host": {"x.org": {"hits": 1, "urls": ["x1"]}, "y.org": {"hits": 2}},
        "last_url": "x1",
        "truncated": true,
        "status": null,
        "kind": 3,
        "only_a": "kept"
    })");
    const ToolMetadata b = meta(R"({
        "pages": ["c"],
        "by_host": {"x.org": {"hits": 4, "urls": ["x2"]}, "z.org": {"hits": 1}},
        "last_url": "z1",
        "truncated": false,
        "status": "done",
        "kind": "text"
    })");
    merge_metadata(a, b);
    const json::value expected = json::parse(R"({
        "pages": ["a", "b", "c"],
        "by_host": {"x.org": {"hits": 5, "urls": ["x1", "x2"]}, "y.org": {"hits": 2}, "z.org": {"hits": 1}},
        "last_url": "z1",
        "truncated": false,
        "status": "done",
        "kind": "text",
        "only_a": "kept"
    })");
    CHECK(json::value(a.values) == expected);
    // A boolean is a value, not a number: true + true stays a boolean.
    ToolMetadata t = meta(R"({"flag":true})");
    merge_metadata(t, meta(R"({"flag":true})"));
    CHECK(t.values.at("flag").is_bool());
}

TEST_CASE("merge_metadata adds sub-agent metadata: histories and lists concatenated, model_speed last")
{
    RunMetadata first;
    first.tools["code_exec"] = {ToolMetadata::use_count(1)};
    first.tools["fetch"] = {meta(R"({"num_uses":1})")};
    first.token_usage = {{10, 1, 0}};
    first.tool_durations["code_exec"] = {0.5};
    first.model_speed = ModelSpeed{"model-a", 1, 10, 2.0, 5.0};

    RunMetadata second;
    second.tools["code_exec"] = {ToolMetadata::use_count(2)};
    second.tools["view_image"] = {};
    second.token_usage = {{20, 2, 1}, {30, 3, 0}};
    second.tool_durations["code_exec"] = {1.5, 2.5};
    second.tool_durations["view_image"] = {0.25};
    second.model_speed = ModelSpeed{"model-b", 2, 40, 4.0, 10.0};

    ToolMetadata a = sub_agent(first, {group("one")});
    const auto original = a.sub_agent;
    const ToolMetadata b = sub_agent(second, {group("two"), group("three")});
    merge_metadata(a, b);

    REQUIRE(a.sub_agent);
    const auto& sum = *a.sub_agent;
    REQUIRE(sum.message_history.size() == 3);
    CHECK(first_text(sum.message_history[0]) == "one");
    CHECK(first_text(sum.message_history[1]) == "two");
    CHECK(first_text(sum.message_history[2]) == "three");
    const auto& run = sum.run_metadata;
    REQUIRE(run.tools.at("code_exec").size() == 2);
    CHECK(run.tools.at("code_exec")[0].values.at("num_uses").get_int64() == 1);
    CHECK(run.tools.at("code_exec")[1].values.at("num_uses").get_int64() == 2);
    CHECK(run.tools.at("fetch").size() == 1);
    CHECK(run.tools.count("view_image") == 1);
    CHECK(run.tools.at("view_image").empty());
    CHECK(run.token_usage == std::vector<TokenUsage>{{10, 1, 0}, {20, 2, 1}, {30, 3, 0}});
    CHECK(run.tool_durations.at("code_exec") == std::vector<double>{0.5, 1.5, 2.5});
    CHECK(run.tool_durations.at("view_image") == std::vector<double>{0.25});
    REQUIRE(run.model_speed);
    CHECK(run.model_speed->model_slug == "model-b");

    // The summed object is new: the first call's own metadata is unchanged.
    CHECK(original != a.sub_agent);
    CHECK(original->message_history.size() == 1);
    CHECK(original->run_metadata.token_usage.size() == 1);
    CHECK(original->run_metadata.model_speed->model_slug == "model-a");
}

TEST_CASE("merge_metadata keeps the earlier model_speed when the later run has none")
{
    RunMetadata first;
    first.model_speed = ModelSpeed{"model-a", 1, 10, 2.0, 5.0};
    ToolMetadata a = sub_agent(first);
    merge_metadata(a, sub_agent(RunMetadata{}));
    REQUIRE(a.sub_agent->run_metadata.model_speed);
    CHECK(a.sub_agent->run_metadata.model_speed->model_slug == "model-a");

    // One side without a sub-agent: the other side's is taken as is.
    ToolMetadata plain = meta(R"({"num_uses":1})");
    const ToolMetadata with_child = sub_agent(first);
    merge_metadata(plain, with_child);
    CHECK(plain.sub_agent == with_child.sub_agent);
    CHECK(plain.values.at("num_uses").get_int64() == 1);
}

TEST_CASE("merge_run_metadata appends per-turn metadata in order")
{
    RunMetadata into;
    into.tools["code_exec"] = {ToolMetadata::use_count(1)};
    RunMetadata turn;
    turn.tools["code_exec"] = {ToolMetadata::use_count(1)};
    turn.tools["finish"] = {};
    turn.token_usage = {{5, 1, 0}};
    turn.tool_durations["code_exec"] = {0.1};
    merge_run_metadata(into, turn);
    CHECK(into.tools.at("code_exec").size() == 2);
    CHECK(into.tools.count("finish") == 1);
    CHECK(into.token_usage.size() == 1);
    CHECK(into.tool_durations.at("code_exec").size() == 1);
    CHECK_FALSE(into.model_speed);
}

TEST_CASE("aggregate_metadata folds each tool's list and skips empty lists and private keys")
{
    RunMetadata run;
    run.tools["code_exec"] = {ToolMetadata::use_count(1), ToolMetadata::use_count(1), ToolMetadata::use_count(1)};
    run.tools["web_fetch"] = {meta(R"({"num_uses":1,"pages":["a"],"bytes":100})"),
                              meta(R"({"num_uses":1,"pages":["b"],"bytes":50.5})")};
    run.tools["unknown_tool"] = {};
    run.tools["_internal"] = {ToolMetadata::use_count(1)};
    run.token_usage = {{1000, 50, 5}, {2000, 60, 0}};
    run.tool_durations["code_exec"] = {1.0};
    run.model_speed = ModelSpeed{"m", 2, 115, 1.0, 115.0};

    const json::value expected = json::parse(R"({
        "code_exec": {"num_uses": 3},
        "web_fetch": {"num_uses": 2, "pages": ["a", "b"], "bytes": 150.5},
        "token_usage": [{"input": 3000, "answer": 110, "reasoning": 5}]
    })");
    CHECK(json::value(aggregate_metadata(run)) == expected);
}

TEST_CASE("aggregate_metadata leaves token_usage out when the total is zero")
{
    RunMetadata run;
    run.tools["code_exec"] = {ToolMetadata::use_count(1)};
    run.token_usage = {{0, 0, 0}};
    CHECK(json::value(aggregate_metadata(run)) == json::parse(R"({"code_exec":{"num_uses":1}})"));
    CHECK(aggregate_metadata(RunMetadata{}).empty());
}

TEST_CASE("aggregate_metadata nests a two-level sub-agent tree and rolls every level's tokens into the root")
{
    // researcher (called twice) -> fetcher (called once, from the first call).
    RunMetadata fetcher;
    fetcher.tools["web_fetch"] = {meta(R"({"num_uses":1,"pages":["p1"]})")};
    fetcher.tools["finish"] = {};
    fetcher.token_usage = {{100, 20, 0}};

    RunMetadata researcher_1;
    researcher_1.tools["code_exec"] = {ToolMetadata::use_count(1)};
    researcher_1.tools["fetcher"] = {sub_agent(fetcher)};
    researcher_1.token_usage = {{10, 2, 1}};

    RunMetadata researcher_2;
    researcher_2.tools["code_exec"] = {ToolMetadata::use_count(2)};
    researcher_2.token_usage = {{5, 1, 0}};

    RunMetadata root;
    root.tools["code_exec"] = {ToolMetadata::use_count(1), ToolMetadata::use_count(1)};
    root.tools["researcher"] = {sub_agent(researcher_1), sub_agent(researcher_2)};
    root.tools["finish"] = {ToolMetadata::use_count(1)};
    root.token_usage = {{1000, 50, 5}, {2000, 60, 0}};

    const json::value expected = json::parse(R"({
        "code_exec": {"num_uses": 2},
        "finish": {"num_uses": 1},
        "researcher": {
            "code_exec": {"num_uses": 3},
            "fetcher": {
                "web_fetch": {"num_uses": 1, "pages": ["p1"]},
                "token_usage": {"input": 100, "answer": 20, "reasoning": 0}
            },
            "token_usage": {"input": 15, "answer": 3, "reasoning": 1}
        },
        "token_usage": [{"input": 3115, "answer": 133, "reasoning": 6}]
    })");
    const json::object aggregated = aggregate_metadata(root);
    CHECK(json::value(aggregated) == expected);
    INFO(json::serialize(aggregated));
    // Tools appear in name order, the rolled-up total last.
    std::vector<std::string> keys;
    for (const auto& [key, value] : aggregated)
        keys.emplace_back(key);
    CHECK(keys == std::vector<std::string>{"code_exec", "finish", "researcher", "token_usage"});
}

TEST_CASE("aggregate_metadata counts tokens of a sub-agent even when the root used none")
{
    RunMetadata child;
    child.token_usage = {{7, 3, 0}};
    RunMetadata root;
    // A failed sub-agent call carries an empty SubAgentMetadata.
    root.tools["helper"] = {sub_agent(RunMetadata{}), sub_agent(child)};
    const json::value expected = json::parse(R"({
        "helper": {"token_usage": {"input": 7, "answer": 3, "reasoning": 0}},
        "token_usage": [{"input": 7, "answer": 3, "reasoning": 0}]
    })");
    CHECK(json::value(aggregate_metadata(root)) == expected);
}
