#include "stirrup/exec/e2b/detail/connect.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/detail/base64.hpp"

namespace stirrup::detail::e2b {
namespace json = boost::json;

namespace {

json::value parse_json(std::string_view text, const char* what)
{
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec)
        throw ProtocolError(std::string("invalid JSON in ") + what + ": " + ec.message());
    return v;
}

// proto3 JSON: the lowerCamelCase name, or the original snake_case one.
const json::value* field(const json::object& o, std::string_view camel, std::string_view snake = {})
{
    if (const auto* v = o.if_contains(camel); v && !v->is_null())
        return v;
    if (!snake.empty())
        if (const auto* v = o.if_contains(snake); v && !v->is_null())
            return v;
    return nullptr;
}

// An integer field: a JSON number or a decimal string (int64 are strings).
std::optional<std::int64_t> integer(const json::value& v)
{
    if (v.is_int64())
        return v.get_int64();
    if (v.is_uint64())
        return v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? std::optional<std::int64_t>(static_cast<std::int64_t>(v.get_uint64()))
                   : std::nullopt;
    if (v.is_double()) {
        const double d = v.get_double();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18)
            return static_cast<std::int64_t>(d);
        return std::nullopt;
    }
    if (v.is_string()) {
        const auto s = std::string_view(v.get_string());
        std::int64_t out = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc{} && end == s.data() + s.size() && !s.empty())
            return out;
    }
    return std::nullopt;
}

// `bytes` fields: standard base64, padded or not; URL-safe accepted too.
std::string decode_bytes(const json::value& v)
{
    if (!v.is_string())
        throw ProtocolError("a bytes field is not a string");
    std::string s(v.get_string());
    for (auto& c : s) {
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
    }
    auto decoded = detail::base64::decode(s);
    if (!decoded)
        throw ProtocolError("a bytes field is not valid base64");
    return std::move(*decoded);
}

std::string string_or_empty(const json::value* v)
{
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

} // namespace

std::string encode_envelope(std::string_view payload, std::uint8_t flags)
{
    if (payload.size() > std::numeric_limits<std::uint32_t>::max())
        throw ProtocolError("a Connect message over 4 GiB");
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(5 + payload.size());
    out += static_cast<char>(flags);
    out += static_cast<char>((n >> 24) & 0xff);
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
    out.append(payload);
    return out;
}

void EnvelopeDecoder::fail(std::string message)
{
    failed_ = true;
    failure_ = std::move(message);
    throw ProtocolError(failure_);
}

void EnvelopeDecoder::feed(std::string_view bytes, const Sink& sink)
{
    if (failed_)
        throw ProtocolError(failure_);
    while (!bytes.empty()) {
        if (ended_)
            fail("data after the Connect end-stream message");
        if (!in_payload_) {
            const unsigned char b = static_cast<unsigned char>(bytes.front());
            bytes.remove_prefix(1);
            if (header_filled_ == 0) {
                if (b & envelope_compressed)
                    fail("a compressed Connect message (no compression was negotiated)");
                if (b & ~envelope_end_stream)
                    fail("a Connect envelope with reserved flag bits set");
            }
            header_[header_filled_++] = b;
            if (header_filled_ < 5)
                continue;
            length_ = (std::uint32_t{header_[1]} << 24) | (std::uint32_t{header_[2]} << 16) |
                      (std::uint32_t{header_[3]} << 8) | std::uint32_t{header_[4]};
            if (length_ > max_message_)
                fail("a Connect message of " + std::to_string(length_) + " bytes, over the limit of " +
                     std::to_string(max_message_));
            in_payload_ = true;
            payload_.clear();
        }
        const std::size_t take = std::min<std::size_t>(bytes.size(), length_ - payload_.size());
        payload_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (payload_.size() < length_)
            continue;
        Envelope e{header_[0], std::move(payload_)};
        payload_ = {};
        header_filled_ = 0;
        in_payload_ = false;
        ++envelopes_;
        if (e.end_stream())
            ended_ = true;
        sink(std::move(e));
    }
}

std::optional<ConnectError> parse_end_stream(std::string_view text)
{
    const json::value v = parse_json(text, "the Connect end-stream message");
    if (!v.is_object())
        throw ProtocolError("the Connect end-stream message is not a JSON object");
    const auto* err = v.get_object().if_contains("error");
    if (!err)
        return std::nullopt;
    if (!err->is_object())
        throw ProtocolError("the Connect end-stream error is not an object");
    const auto& e = err->get_object();
    const auto* code = e.if_contains("code");
    if (!code || !code->is_string() || code->get_string().empty())
        throw ProtocolError("the Connect end-stream error has no code");
    return ConnectError{std::string(code->get_string()), string_or_empty(e.if_contains("message"))};
}

std::string_view code_for_http_status(int status) noexcept
{
    switch (status) {
    case 400:
        return "invalid_argument";
    case 401:
        return "unauthenticated";
    case 403:
        return "permission_denied";
    case 404:
        return "not_found";
    case 409:
        return "already_exists";
    case 413:
    case 429:
        return "resource_exhausted";
    case 499:
        return "canceled";
    case 500:
        return "internal";
    case 501:
    case 505:
        return "unimplemented";
    case 502:
    case 503:
        return "unavailable";
    case 504:
        return "deadline_exceeded";
    default:
        return "unknown";
    }
}

ConnectError parse_unary_error(int http_status, std::string_view body)
{
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    std::string message;
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        message = string_or_empty(o.if_contains("message"));
        // A Connect error has a string code; envd's plain HTTP errors (401
        // from its auth, the proxy's 502) have a number there.
        if (const auto* code = o.if_contains("code"); code && code->is_string() && !code->get_string().empty())
            return {std::string(code->get_string()), std::move(message)};
    }
    if (message.empty()) {
        std::string_view b = body;
        while (!b.empty() && (b.back() == '\n' || b.back() == '\r' || b.back() == ' '))
            b.remove_suffix(1);
        message = b.empty() ? "HTTP status " + std::to_string(http_status) : std::string(b.substr(0, 2000));
    }
    return {std::string(code_for_http_status(http_status)), std::move(message)};
}

ProcessEvent parse_process_event(std::string_view text)
{
    const json::value v = parse_json(text, "a process event");
    if (!v.is_object())
        throw ProtocolError("a process event is not a JSON object");
    ProcessEvent out;
    const auto* ev = field(v.get_object(), "event");
    if (!ev)
        return out;
    if (!ev->is_object())
        throw ProtocolError("a process event's \"event\" is not an object");
    const auto& e = ev->get_object();
    if (const auto* start = field(e, "start")) {
        if (!start->is_object())
            throw ProtocolError("a start event is not an object");
        out.kind = ProcessEvent::Kind::start;
        if (const auto* pid = field(start->get_object(), "pid")) {
            const auto n = integer(*pid);
            if (!n || *n < 0 || *n > std::numeric_limits<std::uint32_t>::max())
                throw ProtocolError("a start event with an invalid pid");
            out.pid = static_cast<std::uint32_t>(*n);
        }
        return out;
    }
    if (const auto* data = field(e, "data")) {
        if (!data->is_object())
            throw ProtocolError("a data event is not an object");
        out.kind = ProcessEvent::Kind::data;
        const auto& d = data->get_object();
        if (const auto* s = field(d, "stdout")) {
            out.stream = 1;
            out.bytes = decode_bytes(*s);
        } else if (const auto* s2 = field(d, "stderr")) {
            out.stream = 2;
            out.bytes = decode_bytes(*s2);
        } else if (const auto* s3 = field(d, "pty")) {
            out.stream = 3;
            out.bytes = decode_bytes(*s3);
        }
        return out;
    }
    if (const auto* end = field(e, "end")) {
        if (!end->is_object())
            throw ProtocolError("an end event is not an object");
        out.kind = ProcessEvent::Kind::end;
        const auto& d = end->get_object();
        if (const auto* code = field(d, "exitCode", "exit_code")) {
            const auto n = integer(*code);
            if (!n || *n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max())
                throw ProtocolError("an end event with an invalid exit code");
            out.exit_code = static_cast<int>(*n);
        }
        if (const auto* exited = field(d, "exited"); exited && exited->is_bool())
            out.exited = exited->get_bool();
        out.status = string_or_empty(field(d, "status"));
        if (const auto* error = field(d, "error"); error && error->is_string())
            out.error = std::string(error->get_string());
        return out;
    }
    if (field(e, "keepalive", "keep_alive"))
        out.kind = ProcessEvent::Kind::keepalive;
    return out;
}

void StartStreamReader::feed(std::string_view bytes, const OutputSink& sink)
{
    decoder_.feed(bytes, [&](Envelope&& env) {
        if (env.end_stream()) {
            error_ = parse_end_stream(env.payload);
            return;
        }
        ProcessEvent ev = parse_process_event(env.payload);
        if (ev.kind == ProcessEvent::Kind::unknown)
            return;
        if (ev.kind == ProcessEvent::Kind::start) {
            if (pid_)
                throw ProtocolError("a second start event in a process stream");
            pid_ = ev.pid;
            return;
        }
        // The SDKs refuse a stream that does not open with the start event.
        if (!pid_)
            throw ProtocolError("a process stream that does not begin with a start event");
        switch (ev.kind) {
        case ProcessEvent::Kind::data:
            if (!end_ && !ev.bytes.empty() && (ev.stream == 1 || ev.stream == 2))
                sink(ev.stream, ev.bytes);
            break;
        case ProcessEvent::Kind::keepalive:
            ++keepalives_;
            break;
        case ProcessEvent::Kind::end:
            if (!end_)
                end_ = std::move(ev);
            break;
        default:
            break;
        }
    });
}

namespace {

json::object kill_signal(json::object selector)
{
    json::object o;
    o["process"] = std::move(selector);
    o["signal"] = "SIGNAL_SIGKILL";
    return o;
}

} // namespace

std::string start_request_json(std::string_view command, std::string_view tag,
                               const std::map<std::string, std::string>& envs, std::optional<std::string_view> cwd)
{
    json::object process;
    process["cmd"] = "/bin/bash";
    json::array args;
    args.emplace_back("-l");
    args.emplace_back("-c");
    args.emplace_back(command);
    process["args"] = std::move(args);
    if (!envs.empty()) {
        json::object e;
        for (const auto& [k, val] : envs)
            e[k] = val;
        process["envs"] = std::move(e);
    }
    if (cwd)
        process["cwd"] = *cwd;
    json::object req;
    req["process"] = std::move(process);
    // Omitted, stdin means true (an open pipe the command could wait on).
    req["stdin"] = false;
    if (!tag.empty())
        req["tag"] = tag;
    return json::serialize(req);
}

std::string kill_by_pid_json(std::uint32_t pid)
{
    json::object sel;
    sel["pid"] = pid;
    return json::serialize(kill_signal(std::move(sel)));
}

std::string kill_by_tag_json(std::string_view tag)
{
    json::object sel;
    sel["tag"] = tag;
    return json::serialize(kill_signal(std::move(sel)));
}

namespace {

bool content_type_is(std::string_view ct, std::string_view type)
{
    const auto semi = ct.find(';');
    std::string_view base = ct.substr(0, semi);
    while (!base.empty() && base.back() == ' ')
        base.remove_suffix(1);
    if (!detail::ascii::iequals(base, type))
        return false;
    if (semi == std::string_view::npos)
        return true;
    std::string_view params = ct.substr(semi + 1);
    while (!params.empty() && params.front() == ' ')
        params.remove_prefix(1);
    return detail::ascii::iequals(params, "charset=utf-8") || detail::ascii::iequals(params, "charset=utf8");
}

} // namespace

bool is_connect_stream_content_type(std::string_view ct) noexcept
{
    return content_type_is(ct, "application/connect+json");
}

bool is_json_content_type(std::string_view ct) noexcept
{
    return content_type_is(ct, "application/json");
}

} // namespace stirrup::detail::e2b
