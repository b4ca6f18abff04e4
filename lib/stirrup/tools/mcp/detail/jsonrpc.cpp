#include "stirrup/tools/mcp/detail/jsonrpc.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace stirrup::detail::mcp {
namespace json = boost::json;

namespace {

bool valid_id(const json::value& id)
{
    // JSON-RPC allows numbers and strings; MCP forbids null in requests.
    return id.is_string() || id.is_int64() || id.is_uint64();
}

Message invalid(std::string why)
{
    Message m;
    m.problem = std::move(why);
    return m;
}

} // namespace

Message classify(const json::value& v)
{
    if (!v.is_object())
        return invalid("a JSON-RPC message must be an object");
    const auto& o = v.get_object();
    const auto* version = o.if_contains("jsonrpc");
    if (!version || !version->is_string() || version->get_string() != "2.0")
        return invalid("\"jsonrpc\" is not \"2.0\"");
    const auto* id = o.if_contains("id");
    const auto* method = o.if_contains("method");
    Message m;
    if (method) {
        if (!method->is_string())
            return invalid("\"method\" is not a string");
        m.method = std::string(method->get_string());
        if (const auto* p = o.if_contains("params"))
            m.payload = *p;
        if (id) {
            if (!valid_id(*id))
                return invalid("a request id must be a string or an integer");
            m.kind = MessageKind::request;
            m.id = *id;
        } else {
            m.kind = MessageKind::notification;
        }
        return m;
    }
    if (!id)
        return invalid("neither \"method\" nor \"id\"");
    if (const auto* error = o.if_contains("error")) {
        if (!id->is_null() && !valid_id(*id))
            return invalid("a response id must be a string or an integer");
        m.kind = MessageKind::error;
        m.id = *id;
        if (error->is_object()) {
            const auto& e = error->get_object();
            if (const auto* c = e.if_contains("code"); c && c->is_int64())
                m.error.code = c->get_int64();
            if (const auto* msg = e.if_contains("message"); msg && msg->is_string())
                m.error.message = std::string(msg->get_string());
            if (const auto* d = e.if_contains("data"))
                m.error.data = *d;
        } else {
            m.error.message = "malformed error object";
        }
        return m;
    }
    if (const auto* result = o.if_contains("result")) {
        if (!valid_id(*id))
            return invalid("a response id must be a string or an integer");
        m.kind = MessageKind::result;
        m.id = *id;
        m.payload = *result;
        return m;
    }
    return invalid("a response without \"result\" or \"error\"");
}

std::vector<Message> parse_messages(std::string_view text)
{
    std::vector<Message> out;
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) {
        out.push_back(invalid("not JSON (" + ec.message() + ")"));
        return out;
    }
    if (v.is_array()) {
        const auto& batch = v.get_array();
        if (batch.empty())
            out.push_back(invalid("an empty batch"));
        for (const auto& m : batch)
            out.push_back(classify(m));
        return out;
    }
    out.push_back(classify(v));
    return out;
}

std::string id_text(const json::value& id)
{
    return json::serialize(id);
}

// Written by hand around the serialized params: building a wrapper object
// would copy the whole params tree first (the arguments of every call).
std::string write_request(std::int64_t id, std::string_view method, const json::value& params)
{
    std::string out = R"({"jsonrpc":"2.0","id":)";
    out += std::to_string(id);
    out += R"(,"method":)";
    out += json::serialize(json::string_view(method));
    if (!params.is_null()) {
        out += R"(,"params":)";
        out += json::serialize(params);
    }
    out += '}';
    return out;
}

std::string write_notification(std::string_view method, const json::value& params)
{
    std::string out = R"({"jsonrpc":"2.0","method":)";
    out += json::serialize(json::string_view(method));
    if (!params.is_null()) {
        out += R"(,"params":)";
        out += json::serialize(params);
    }
    out += '}';
    return out;
}

std::string write_result(const json::value& id, const json::value& result)
{
    json::object o;
    o["jsonrpc"] = "2.0";
    o["id"] = id;
    o["result"] = result;
    return json::serialize(o);
}

std::string write_error(const json::value& id, int code, std::string_view message)
{
    json::object o;
    o["jsonrpc"] = "2.0";
    o["id"] = id;
    o["error"] = json::object{{"code", code}, {"message", message}};
    return json::serialize(o);
}

void LineFramer::feed(std::string_view bytes, std::vector<std::string>& out)
{
    while (!bytes.empty()) {
        const auto nl = bytes.find('\n');
        const std::string_view piece = nl == std::string_view::npos ? bytes : bytes.substr(0, nl);
        if (partial_.size() + piece.size() > max_)
            throw MessageTooLarge("a message longer than " + std::to_string(max_) + " bytes");
        partial_.append(piece);
        if (nl == std::string_view::npos)
            return;
        bytes.remove_prefix(nl + 1);
        if (!partial_.empty() && partial_.back() == '\r')
            partial_.pop_back();
        if (!partial_.empty())
            out.push_back(std::move(partial_));
        partial_.clear();
    }
}

} // namespace stirrup::detail::mcp
