// The chat client's cache of written tool definitions (llm/tools_json_cache):
// the same text as tools_to_json, shared between equal sets, rewritten when
// anything in a definition changes, bounded, and never keeping a failure.

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/llm/detail/tools_json_cache.hpp"

using namespace stirrup;

namespace {

std::vector<ToolDefinition> tools(const std::string& schema)
{
    return {{"calc", "Calculate", schema}, {"ping", "No args", std::nullopt}};
}

} // namespace

TEST_CASE("tools JSON cache: written once per distinct set, as tools_to_json writes it")
{
    detail::ToolsJsonCache cache(2);
    const auto a = tools(R"({"type": "object", "properties": {"x": {"default": 0.7}}})");
    const auto first = cache.get(a);
    CHECK(*first == detail::chat::tools_to_json(a));
    CHECK(
        *first ==
        R"([{"type":"function","function":{"name":"calc","description":"Calculate","parameters":{"type":"object","properties":{"x":{"default":0.7}}}}},{"type":"function","function":{"name":"ping","description":"No args"}}])");
    CHECK(cache.get(a) == first); // the same text, not written again
    CHECK(cache.size() == 1);

    // Any field of any definition makes another set.
    auto renamed = a;
    renamed[1].name = "pong";
    auto described = a;
    described[0].description = "Compute";
    auto schemaless = a;
    schemaless[0].parameters_schema.reset();
    for (const auto* other : {&renamed, &described, &schemaless}) {
        const auto text = cache.get(*other);
        CHECK(text != first);
        CHECK(*text == detail::chat::tools_to_json(*other));
    }
    // Capacity 2: the set used least recently is gone, and written again.
    CHECK(cache.size() == 2);
    const auto again = cache.get(a);
    CHECK(again != first);
    CHECK(*again == *first);
}

TEST_CASE("tools JSON cache: a bad schema throws every time and is not kept")
{
    detail::ToolsJsonCache cache;
    const std::vector<ToolDefinition> bad{{"t", "d", std::string("[]")}};
    CHECK_THROWS_WITH_AS(cache.get(bad), "tool 't': parameters schema is not a JSON object", ConfigError);
    CHECK_THROWS_AS(cache.get(bad), ConfigError);
    CHECK(cache.size() == 0);
}

TEST_CASE("tools JSON cache: shared by threads")
{
    detail::ToolsJsonCache cache(4);
    std::vector<std::vector<ToolDefinition>> sets;
    for (int i = 0; i < 6; ++i)
        sets.push_back(tools(R"({"type":"object","title":")" + std::to_string(i) + "\"}"));
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                const auto& set = sets[static_cast<std::size_t>((i + t) % 6)];
                if (*cache.get(set) != detail::chat::tools_to_json(set))
                    ++wrong[static_cast<std::size_t>(t)];
            }
        });
    for (auto& th : threads)
        th.join();
    CHECK(wrong == std::vector<int>(4, 0));
    CHECK(cache.size() == 4);
}
