#include "stirrup/exec/docker/detail/messages.hpp"

#include <limits>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/detail/base64.hpp"

namespace stirrup::detail::docker {
namespace json = boost::json;
namespace {

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim_space(std::string_view s)
{
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// For error messages: the start of a reply that could be long or binary.
std::string excerpt(std::string_view s)
{
    constexpr std::size_t limit = 200;
    std::string out(s.substr(0, limit));
    if (s.size() > limit)
        out += "...";
    return out;
}

json::object parse_object(std::string_view text, std::string_view what)
{
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec)
        throw MessageError(std::string(what) + " is not valid JSON (" + ec.message() + "): " + excerpt(text));
    if (!v.is_object())
        throw MessageError(std::string(what) + " is not a JSON object: " + excerpt(text));
    return std::move(v.as_object());
}

std::optional<std::string> string_field(const json::object& o, std::string_view key)
{
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string())
        return std::nullopt;
    return std::string(v->as_string());
}

std::optional<std::int64_t> integer(const json::value& v)
{
    if (v.is_int64())
        return v.as_int64();
    if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(v.as_uint64());
    return std::nullopt;
}

} // namespace

void JsonLineSplitter::emit(const std::function<void(std::string_view)>& on_line)
{
    std::string line = std::move(current_);
    current_.clear();
    depth_ = 0;
    in_string_ = escaped_ = text_line_ = false;
    const std::string_view trimmed = trim_space(line);
    if (!trimmed.empty())
        on_line(trimmed);
}

void JsonLineSplitter::feed(std::string_view bytes, const std::function<void(std::string_view line)>& on_line)
{
    for (const char c : bytes) {
        if (depth_ == 0 && !text_line_) {
            // Between messages.
            if (is_space(c))
                continue;
            current_.push_back(c);
            if (c == '{' || c == '[')
                depth_ = 1;
            else
                text_line_ = true;
            continue;
        }
        if (text_line_) {
            if (c == '\n')
                emit(on_line);
            else
                current_.push_back(c);
        } else if (in_string_) {
            if (c == '\n') {
                // JSON strings hold no raw newline: this object is broken.
                // Pass it on as it is (its parse fails) and resynchronize.
                emit(on_line);
                continue;
            }
            current_.push_back(c);
            if (escaped_)
                escaped_ = false;
            else if (c == '\\')
                escaped_ = true;
            else if (c == '"')
                in_string_ = false;
        } else {
            current_.push_back(c);
            if (c == '"') {
                in_string_ = true;
            } else if (c == '{' || c == '[') {
                ++depth_;
            } else if (c == '}' || c == ']') {
                if (--depth_ == 0)
                    emit(on_line);
            }
        }
        if (current_.size() > max_line_) {
            current_.clear();
            depth_ = 0;
            in_string_ = escaped_ = text_line_ = false;
            throw MessageError("a message in the Docker engine's JSON stream is longer than " +
                               std::to_string(max_line_) + " bytes");
        }
    }
}

void JsonLineSplitter::finish(const std::function<void(std::string_view)>& on_line)
{
    emit(on_line);
}

StreamMessage parse_stream_message(std::string_view line)
{
    const json::object o = parse_object(line, "Docker stream message");
    StreamMessage m;
    m.stream = string_field(o, "stream");
    m.status = string_field(o, "status");
    m.progress = string_field(o, "progress");
    m.id = string_field(o, "id");
    if (const json::value* e = o.if_contains("error"); e != nullptr && !e->is_null())
        m.error = e->is_string() ? std::string(e->as_string()) : json::serialize(*e);
    if (const json::value* d = o.if_contains("errorDetail"); d != nullptr && !d->is_null()) {
        if (const json::object* detail = d->if_object()) {
            m.error_detail_message = string_field(*detail, "message");
            if (const json::value* code = detail->if_contains("code"))
                m.error_code = integer(*code);
        }
        if (!m.error)
            m.error = m.error_detail_message ? *m.error_detail_message
                                             : "the engine reported an error without a message: " + json::serialize(*d);
    }
    if (const json::value* aux = o.if_contains("aux"); aux != nullptr && aux->is_object())
        m.aux_id = string_field(aux->as_object(), "ID");
    return m;
}

std::optional<std::string> build_failure(const std::vector<StreamMessage>& msgs)
{
    std::string step;
    for (const StreamMessage& m : msgs) {
        if (m.failed()) {
            std::string text(trim_space(*m.error));
            if (step.empty())
                return text;
            return step + ": " + text;
        }
        if (!m.stream)
            continue;
        // A stream message may hold several lines; the step header is the
        // one that starts with "Step ".
        std::string_view rest = *m.stream;
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            const std::string_view line = trim_space(rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (line.substr(0, 5) == "Step ")
                step = std::string(line);
        }
    }
    return std::nullopt;
}

PathStat decode_path_stat(std::string_view header_value)
{
    const std::string_view value = detail::ascii::trim(header_value);
    const std::optional<std::string> text = detail::base64::decode(value);
    if (!text)
        throw MessageError("X-Docker-Container-Path-Stat is not base64: " + excerpt(value));
    const json::object o = parse_object(*text, "X-Docker-Container-Path-Stat");

    const auto field = [&](std::string_view key) -> const json::value* {
        const json::value* v = o.if_contains(key);
        return v == nullptr || v->is_null() ? nullptr : v;
    };
    const auto wrong = [&](std::string_view key) {
        return MessageError("X-Docker-Container-Path-Stat has a bad \"" + std::string(key) + "\": " + excerpt(*text));
    };
    const auto str = [&](std::string_view key, std::string& out) {
        if (const json::value* v = field(key)) {
            if (!v->is_string())
                throw wrong(key);
            out = std::string(v->as_string());
        }
    };

    PathStat st;
    str("name", st.name);
    str("mtime", st.mtime);
    str("linkTarget", st.link_target);
    if (const json::value* v = field("size")) {
        const auto n = integer(*v);
        if (!n)
            throw wrong("size");
        st.size = *n;
    }
    if (const json::value* v = field("mode")) {
        const auto n = integer(*v);
        if (!n || *n < 0 || *n > std::numeric_limits<std::uint32_t>::max())
            throw wrong("mode");
        st.mode = static_cast<std::uint32_t>(*n);
    }
    return st;
}

} // namespace stirrup::detail::docker
