#include "stirrup/net/detail/sse_parser.hpp"

#include <stdexcept>

namespace stirrup::net::detail {
namespace {

constexpr std::string_view bom = "\xEF\xBB\xBF";

} // namespace

void SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out)
{
    // The BOM may arrive split across feeds: hold its prefix until it is
    // either complete (dropped) or disproved (replayed as content).
    while (!bom_done_ && !bytes.empty()) {
        if (bytes.front() == bom[bom_matched_]) {
            bytes.remove_prefix(1);
            if (++bom_matched_ == bom.size())
                bom_done_ = true;
        } else {
            bom_done_ = true;
            const std::string held(bom.substr(0, bom_matched_));
            if (!held.empty())
                feed(held, out);
        }
    }
    if (bytes.empty())
        return;

    std::size_t pos = 0;
    if (skip_lf_) {
        skip_lf_ = false;
        if (bytes.front() == '\n')
            pos = 1;
    }
    while (pos < bytes.size()) {
        const std::size_t end = bytes.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) {
            if (partial_.size() + (bytes.size() - pos) > options_.max_event_size)
                throw SseEventTooLarge("server-sent event line too long");
            partial_.append(bytes.substr(pos));
            return;
        }
        if (partial_.empty()) {
            line(bytes.substr(pos, end - pos), out);
        } else {
            if (partial_.size() + (end - pos) > options_.max_event_size)
                throw SseEventTooLarge("server-sent event line too long");
            partial_.append(bytes.substr(pos, end - pos));
            line(partial_, out);
            partial_.clear();
        }
        pos = end + 1;
        if (bytes[end] == '\r') {
            if (pos == bytes.size())
                skip_lf_ = true; // a CRLF may be split across feeds
            else if (bytes[pos] == '\n')
                ++pos;
        }
    }
}

void SseParser::line(std::string_view l, std::vector<SseEvent>& out)
{
    if (l.empty()) {
        dispatch(out);
        return;
    }
    if (l.front() == ':')
        return;
    std::string_view field = l;
    std::string_view value;
    if (const auto colon = l.find(':'); colon != std::string_view::npos) {
        field = l.substr(0, colon);
        value = l.substr(colon + 1);
        if (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
    }
    if (field == "data") {
        if (data_.size() + value.size() + 1 > options_.max_event_size)
            throw SseEventTooLarge("server-sent event too large");
        data_.append(value);
        data_.push_back('\n');
        has_data_ = true;
    } else if (field == "event") {
        type_.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos)
            last_event_id_.assign(value);
    } else if (field == "retry") {
        if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos)
            return;
        std::uint64_t ms = 0;
        for (char c : value) {
            // A value past 2^64 ms cannot be meant; ignore it like an invalid one.
            if (ms > (UINT64_MAX - 9) / 10)
                return;
            ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
        }
        reconnection_time_ = ms;
        retry_ = ms;
    }
}

void SseParser::dispatch(std::vector<SseEvent>& out)
{
    if (!has_data_) {
        data_.clear();
        type_.clear();
        retry_.reset();
        return;
    }
    SseEvent e;
    data_.pop_back(); // the LF after the last data line
    e.data = std::move(data_);
    if (!type_.empty())
        e.type = std::move(type_);
    e.id = last_event_id_;
    e.retry = retry_;
    out.push_back(std::move(e));
    data_.clear();
    type_.clear();
    retry_.reset();
    has_data_ = false;
}

} // namespace stirrup::net::detail
