#include "stirrup/agent/detail/console_summary.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "stirrup/core/detail/text.hpp"

namespace stirrup::detail::console {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Metadata values are tool-made text: bounded and made safe for a terminal.
std::string safe(std::string_view text, std::size_t max_chars)
{
    return visible(cut(detail::text::sanitize_utf8(text), max_chars));
}

std::optional<std::int64_t> integer(const json::value* v)
{
    if (v == nullptr)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64())
        return static_cast<std::int64_t>(v->get_uint64());
    return std::nullopt;
}

template <class Map>
const typename Map::mapped_type* find(const Map& map, const std::string& key)
{
    const auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
}

// One branch per tool: "name: n call(s), avg x.xxs", then the other folded
// metadata fields, then a sub-agent's own tools.
void add_tools(TreeNode& parent, const RunMetadata& metadata, const std::set<std::string>& exclude,
               const Painter& painter)
{
    std::set<std::string> names;
    for (const auto& [name, list] : metadata.tools)
        names.insert(name);
    for (const auto& [name, durations] : metadata.tool_durations)
        names.insert(name);
    for (const auto& name : names) {
        if (exclude.contains(name))
            continue;
        const auto* list = find(metadata.tools, name);
        const auto* durations = find(metadata.tool_durations, name);
        std::optional<ToolMetadata> folded;
        if (list != nullptr && !list->empty()) {
            folded = list->front();
            for (std::size_t i = 1; i < list->size(); ++i)
                merge_metadata(*folded, (*list)[i]);
        }
        std::int64_t calls =
            static_cast<std::int64_t>(std::max(list ? list->size() : 0, durations ? durations->size() : 0));
        if (folded) {
            if (auto uses = integer(folded->values.if_contains("num_uses")))
                calls = *uses;
        }
        std::string label = painter.paint(safe(name, 200), sgr::magenta);
        if (calls > 0)
            label += ": " + with_thousands(calls) + " call(s)";
        if (durations != nullptr && !durations->empty()) {
            double sum = 0;
            for (const double d : *durations)
                sum += d;
            label += ", avg " + fixed(sum / static_cast<double>(durations->size()), 2) + "s";
        }
        TreeNode node{std::move(label), {}};
        if (folded) {
            for (const auto& [key, value] : folded->values) {
                if (key == "num_uses" || value.is_null())
                    continue;
                node.children.push_back(
                    {painter.paint(safe(key, 200) + ":", sgr::dim) + " " + safe(display_value(value), 200), {}});
            }
            if (folded->sub_agent) {
                const auto& child = folded->sub_agent->run_metadata;
                add_tools(node, child, {}, painter);
                if (!child.token_usage.empty())
                    node.children.push_back({painter.paint("token_usage:", sgr::dim) + " " +
                                                 with_thousands(child.total_tokens().total()) + " tokens",
                                             {}});
            }
        }
        parent.children.push_back(std::move(node));
    }
}

// Every run's model speed in the tree, merged per model (root first). Each
// call's entry is visited, not the folded one, because folding keeps only
// the last model_speed of a sub-agent.
void collect_speeds(const RunMetadata& metadata, std::vector<ModelSpeed>& rows)
{
    if (const auto& speed = metadata.model_speed) {
        auto it = std::find_if(rows.begin(), rows.end(),
                               [&](const ModelSpeed& row) { return row.model_slug == speed->model_slug; });
        if (it == rows.end()) {
            rows.push_back(*speed);
        } else {
            it->num_calls += speed->num_calls;
            it->output_tokens += speed->output_tokens;
            it->duration += speed->duration;
            it->e2e_otps = it->duration > 0 ? static_cast<double>(it->output_tokens) / it->duration : 0;
        }
    }
    for (const auto& [name, list] : metadata.tools)
        for (const auto& entry : list)
            if (entry.sub_agent)
                collect_speeds(entry.sub_agent->run_metadata, rows);
}

std::string pad_left(const std::string& s, std::size_t width)
{
    const std::size_t w = display_width(s);
    return w >= width ? s : std::string(width - w, ' ') + s;
}

std::string pad_right(const std::string& s, std::size_t width)
{
    const std::size_t w = display_width(s);
    return w >= width ? s : s + std::string(width - w, ' ');
}

// How a saved file is shown: under the output directory, whether the save
// reported it relative to the working directory (host saves: "out/x") or to
// the output directory.
std::string shown_path(const std::optional<fs::path>& output_dir, const std::string& output_path)
{
    const fs::path path(output_path);
    if (!output_dir || output_dir->empty() || path.is_absolute())
        return path.generic_string();
    const fs::path dir = output_dir->lexically_normal();
    const fs::path rel = path.lexically_normal().lexically_relative(dir);
    if (!rel.empty() && *rel.begin() != "..")
        return path.generic_string();
    return (*output_dir / path).generic_string();
}

std::vector<std::string> paths_lines(const SessionReport& report, const FinishCall* finish, const Painter& painter)
{
    std::vector<std::string> lines;
    if (report.output_files != nullptr && report.output_files->has_value()) {
        const auto& files = **report.output_files;
        for (const auto& saved : files.saved)
            lines.push_back(painter.paint("✓", sgr::green) + " " +
                            painter.paint(safe(shown_path(report.output_dir, saved.output_path), 500), sgr::green) +
                            " (" + human_size(saved.size) + ")");
        for (const auto& [source, reason] : files.failed)
            lines.push_back(painter.paint("✗", sgr::red) + " " + safe(source, 500) + ": " +
                            painter.paint(safe(reason, 500), sgr::red));
    } else if (finish != nullptr) {
        // Nothing was saved (no output_dir): list what the model named.
        for (const auto& path : finish->paths())
            lines.push_back(painter.paint(safe(shown_path(report.output_dir, path), 500), sgr::green));
    }
    return lines;
}

std::vector<std::string> token_lines(const TokenUsage& total, const Painter& painter)
{
    std::vector<std::pair<std::string, std::int64_t>> rows{{"Input", total.input}, {"Answer", total.answer}};
    if (total.reasoning > 0)
        rows.emplace_back("Reasoning", total.reasoning);
    std::size_t count_width = with_thousands(total.total()).size();
    for (const auto& [label, n] : rows)
        count_width = std::max(count_width, with_thousands(n).size());
    const std::size_t label_width = 10;
    std::vector<std::string> lines;
    for (const auto& [label, n] : rows)
        lines.push_back(painter.paint(pad_right(label, label_width), sgr::cyan) +
                        painter.paint(pad_left(with_thousands(n), count_width), sgr::green));
    std::string rule;
    for (std::size_t i = 0; i < label_width + count_width; ++i)
        rule += "─";
    lines.push_back(painter.paint(rule, sgr::dim));
    lines.push_back(painter.paint(pad_right("Total", label_width), sgr::bold) +
                    painter.paint(pad_left(with_thousands(total.total()), count_width), sgr::bold));
    return lines;
}

std::vector<std::string> speed_lines(const std::vector<ModelSpeed>& rows, const Painter& painter)
{
    std::vector<std::vector<std::string>> cells{{"Model", "E2E OTPS", "Calls", "Time(s)"}};
    for (const auto& row : rows)
        cells.push_back(
            {safe(row.model_slug, 100), fixed(row.e2e_otps, 2), with_thousands(row.num_calls), fixed(row.duration, 2)});
    std::vector<std::size_t> widths(4, 0);
    for (const auto& r : cells)
        for (std::size_t c = 0; c < 4; ++c)
            widths[c] = std::max(widths[c], display_width(r[c]));
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto& r = cells[i];
        std::string line = pad_right(r[0], widths[0]);
        for (std::size_t c = 1; c < 4; ++c)
            line += "  " + pad_left(r[c], widths[c]);
        lines.push_back(painter.paint(line, i == 0 ? sgr::bold : std::string_view{}));
    }
    return lines;
}

} // namespace

std::string session_summary(const LogScope& scope, const SessionReport& report, const Painter& painter)
{
    const FinishCall* finish = report.finish != nullptr && report.finish->has_value() ? &**report.finish : nullptr;
    std::string out;

    if (finish != nullptr) {
        const auto* reason = finish->params.if_contains("reason");
        std::vector<std::string> lines;
        if (reason != nullptr && reason->is_string() && !reason->get_string().empty())
            lines = wrap(visible(detail::text::sanitize_utf8(reason->get_string())), painter.body_width());
        else
            lines.push_back(painter.paint("No reason provided", sgr::dim));
        out += painter.panel("Reason", sgr::bold, sgr::cyan, lines);
    }

    if (report.metadata != nullptr) {
        const RunMetadata& metadata = *report.metadata;
        // The finish tool is shown by the Reason panel.
        std::set<std::string> exclude{"finish"};
        if (finish != nullptr)
            exclude.insert(finish->tool_name);
        TreeNode tools{"🔧 " + painter.paint("Tools", sgr::bold), {}};
        add_tools(tools, metadata, exclude, painter);
        if (!tools.children.empty())
            out += painter.panel("Tool Usage", sgr::bold, sgr::magenta, render_tree(tools, painter));
    }

    if (auto lines = paths_lines(report, finish, painter); !lines.empty())
        out += painter.panel("Paths", sgr::bold, sgr::cyan, lines);

    if (report.metadata != nullptr) {
        const json::object aggregated = aggregate_metadata(*report.metadata);
        if (const auto* usage = aggregated.if_contains("token_usage");
            usage != nullptr && usage->is_array() && !usage->get_array().empty()) {
            const auto& total = usage->get_array().front().get_object();
            const TokenUsage rolled{total.at("input").to_number<std::int64_t>(),
                                    total.at("answer").to_number<std::int64_t>(),
                                    total.at("reasoning").to_number<std::int64_t>()};
            out += painter.panel("Token Usage", sgr::bold, sgr::green, token_lines(rolled, painter));
        }
        std::vector<ModelSpeed> speeds;
        collect_speeds(*report.metadata, speeds);
        if (!speeds.empty())
            out += painter.panel("Model Speed", sgr::bold, sgr::blue, speed_lines(speeds, painter));
    }

    out += painter.rule("", {}, sgr::dim);

    if (finish == nullptr && report.metadata != nullptr && !report.error) {
        std::vector<std::string> lines{
            painter.paint("Maximum turns reached", sgr::bold),
            "",
            painter.paint("Turns used: ", sgr::dim) + painter.paint(std::to_string(scope.max_turns), "1;31"),
            "",
            "The agent was not able to finish the task. Consider increasing the max_turns parameter.",
        };
        out += painter.panel("⚠ Max Turns Exceeded", "1;31", sgr::red, lines);
    }
    return out;
}

} // namespace stirrup::detail::console
