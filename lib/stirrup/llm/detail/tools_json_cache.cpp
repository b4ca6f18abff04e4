#include "stirrup/llm/detail/tools_json_cache.hpp"

#include <algorithm>

#include "stirrup/llm/detail/chat_completions_format.hpp"

namespace stirrup::detail {

namespace {

bool same(const std::vector<ToolDefinition>& a, const std::vector<ToolDefinition>& b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const ToolDefinition& x, const ToolDefinition& y) {
        return x.name == y.name && x.description == y.description && x.parameters_schema == y.parameters_schema;
    });
}

} // namespace

ToolsJsonCache::ToolsJsonCache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

std::shared_ptr<const std::string> ToolsJsonCache::get(const std::vector<ToolDefinition>& tools)
{
    {
        std::lock_guard lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (!same(it->tools, tools))
                continue;
            entries_.splice(entries_.begin(), entries_, it);
            return it->json;
        }
    }
    // Written outside the lock: two threads may both write a new set once.
    auto json = std::make_shared<const std::string>(detail::chat::tools_to_json(tools));
    std::lock_guard lock(mutex_);
    entries_.push_front(Entry{tools, json});
    if (entries_.size() > capacity_)
        entries_.pop_back();
    return json;
}

std::size_t ToolsJsonCache::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

} // namespace stirrup::detail
