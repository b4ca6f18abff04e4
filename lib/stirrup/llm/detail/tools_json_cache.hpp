#pragma once
// Tool definitions as request JSON, written once per distinct set. An agent
// sends the same tools on every turn, and writing them means parsing and
// printing every parameters schema again: a client keeps the text of the
// last few sets it wrote.

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "stirrup/core/messages.hpp"

namespace stirrup::detail {

class ToolsJsonCache {
public:
    explicit ToolsJsonCache(std::size_t capacity = 16);

    /// detail::chat::tools_to_json(tools); equal definitions share one text. Throws
    /// what tools_to_json throws (a failure is not kept). Thread-safe.
    std::shared_ptr<const std::string> get(const std::vector<ToolDefinition>& tools);

    std::size_t size() const;

private:
    struct Entry {
        std::vector<ToolDefinition> tools;
        std::shared_ptr<const std::string> json;
    };
    mutable std::mutex mutex_;
    std::size_t capacity_;
    std::list<Entry> entries_; ///< most recently used first
};

} // namespace stirrup::detail
