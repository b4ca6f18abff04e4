#include "stirrup/exec/e2b/detail/rules.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "stirrup/exec/output_paths.hpp"
#include "stirrup/pycompat/detail/shlex.hpp"

namespace stirrup::detail::e2b {
namespace json = boost::json;

namespace {

std::string strip_trailing_slashes(std::string s)
{
    while (!s.empty() && s.back() == '/')
        s.pop_back();
    return s;
}

std::optional<std::string> non_empty(std::optional<std::string> s)
{
    if (s && s->empty())
        return std::nullopt;
    return s;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

json::object object_of(const std::map<std::string, std::string>& m)
{
    json::object o;
    for (const auto& [k, v] : m)
        o[k] = v;
    return o;
}

const json::value* present(const json::object& o, std::string_view a, std::string_view b = {})
{
    if (const auto* v = o.if_contains(a); v && !v->is_null())
        return v;
    if (!b.empty())
        if (const auto* v = o.if_contains(b); v && !v->is_null())
            return v;
    return nullptr;
}

std::optional<std::string> opt_string(const json::object& o, std::string_view a, std::string_view b = {})
{
    const auto* v = present(o, a, b);
    if (v && v->is_string())
        return std::string(v->get_string());
    return std::nullopt;
}

EntryInfo::Type parse_type(const json::value* v)
{
    if (!v)
        return EntryInfo::Type::unspecified;
    if (v->is_string()) {
        const std::string_view s = v->get_string();
        if (s == "FILE_TYPE_FILE")
            return EntryInfo::Type::file;
        if (s == "FILE_TYPE_DIRECTORY")
            return EntryInfo::Type::directory;
        if (s == "FILE_TYPE_SYMLINK")
            return EntryInfo::Type::symlink;
        return EntryInfo::Type::unspecified;
    }
    if (v->is_int64() || v->is_uint64()) {
        const auto n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64() & 0xff);
        if (n == 1)
            return EntryInfo::Type::file;
        if (n == 2)
            return EntryInfo::Type::directory;
        if (n == 3)
            return EntryInfo::Type::symlink;
    }
    return EntryInfo::Type::unspecified;
}

EntryInfo parse_entry(const json::value& v)
{
    if (!v.is_object())
        throw ResponseError("envd answered with a file entry that is not an object");
    const auto& o = v.get_object();
    EntryInfo e;
    e.name = opt_string(o, "name").value_or("");
    e.path = opt_string(o, "path").value_or("");
    e.type = parse_type(present(o, "type"));
    if (const auto* size = present(o, "size")) {
        if (size->is_int64())
            e.size = size->get_int64();
        else if (size->is_uint64())
            e.size = static_cast<std::int64_t>(std::min<std::uint64_t>(size->get_uint64(), INT64_MAX));
        else if (size->is_string()) {
            const std::string_view s = size->get_string();
            std::from_chars(s.data(), s.data() + s.size(), e.size);
        }
    }
    return e;
}

json::value parse_object_body(std::string_view body, const char* what)
{
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object())
        throw ResponseError(std::string("E2B answered ") + what + " that is not a JSON object");
    return v;
}

bool is_e2b_domain(std::string_view d)
{
    return d == "e2b.app" || d == "e2b.dev" || d == "e2b.pro" || d == "e2b-staging.dev";
}

} // namespace

Endpoints resolve_endpoints(std::optional<std::string> api_url, std::optional<std::string> domain,
                            std::optional<std::string> sandbox_url, std::optional<std::string> api_key,
                            const std::function<std::optional<std::string>(const char*)>& getenv)
{
    auto env = [&](const char* name) { return non_empty(getenv(name)); };
    Endpoints e;
    e.domain = non_empty(std::move(domain)).value_or(env("E2B_DOMAIN").value_or(std::string(default_domain)));
    e.api_url = strip_trailing_slashes(
        non_empty(std::move(api_url)).value_or(env("E2B_API_URL").value_or("https://api." + e.domain)));
    if (auto s = non_empty(std::move(sandbox_url)).value_or(env("E2B_SANDBOX_URL").value_or("")); !s.empty())
        e.sandbox_url = strip_trailing_slashes(std::move(s));
    e.api_key = non_empty(std::move(api_key)).value_or(env("E2B_API_KEY").value_or(""));
    return e;
}

std::string envd_base_url(const Endpoints& endpoints, std::string_view sandbox_id,
                          const std::optional<std::string>& sandbox_domain)
{
    if (endpoints.sandbox_url)
        return *endpoints.sandbox_url;
    const std::string domain = sandbox_domain && !sandbox_domain->empty() ? *sandbox_domain : endpoints.domain;
    if (is_e2b_domain(domain))
        return "https://sandbox." + domain;
    return "https://" + std::string(envd_port) + "-" + std::string(sandbox_id) + "." + domain;
}

HeaderList envd_headers(std::string_view sandbox_id, const std::optional<std::string>& access_token)
{
    HeaderList h;
    h.emplace_back("E2b-Sandbox-Id", std::string(sandbox_id));
    h.emplace_back("E2b-Sandbox-Port", std::string(envd_port));
    if (access_token && !access_token->empty())
        h.emplace_back("X-Access-Token", *access_token);
    return h;
}

std::string create_request_json(const CreateRequest& r)
{
    json::object o;
    o["templateID"] = r.template_id;
    o["timeout"] = r.timeout_seconds;
    if (r.secure)
        o["secure"] = *r.secure;
    if (r.allow_internet_access)
        o["allow_internet_access"] = *r.allow_internet_access;
    o["metadata"] = object_of(r.metadata);
    o["envVars"] = object_of(r.env_vars);
    return json::serialize(o);
}

std::int64_t lifetime_seconds(Milliseconds t) noexcept
{
    const auto ms = t.count();
    if (ms <= 1000)
        return 1;
    return (ms + 999) / 1000;
}

bool valid_sandbox_id(std::string_view id) noexcept
{
    if (id.empty() || id.size() > 128)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

SandboxInfo parse_sandbox(std::string_view body)
{
    const json::value v = parse_object_body(body, "a sandbox");
    const auto& o = v.get_object();
    SandboxInfo s;
    s.sandbox_id = opt_string(o, "sandboxID", "sandbox_id").value_or("");
    if (!valid_sandbox_id(s.sandbox_id))
        throw ResponseError("E2B answered a create without a valid sandboxID");
    s.template_id = opt_string(o, "templateID", "template_id").value_or("");
    s.envd_version = opt_string(o, "envdVersion", "envd_version").value_or("");
    if (s.envd_version.empty())
        throw ResponseError("E2B answered a create without envdVersion (sandbox " + s.sandbox_id + ")");
    s.envd_access_token = opt_string(o, "envdAccessToken", "envd_access_token");
    s.domain = opt_string(o, "domain");
    if (s.domain && s.domain->empty())
        s.domain.reset();
    return s;
}

ApiErrorBody parse_api_error(int status, std::string_view body)
{
    ApiErrorBody e;
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        e.message = opt_string(o, "message").value_or("");
        e.error_code = opt_string(o, "error_code");
    }
    if (e.message.empty()) {
        const auto t = trim(body);
        e.message = t.empty() ? "HTTP " + std::to_string(status) : std::string(t.substr(0, 2000));
    }
    return e;
}

bool version_at_least(std::string_view version, std::string_view minimum) noexcept
{
    auto parts = [](std::string_view v, int out[3]) {
        if (!v.empty() && v.front() == 'v')
            v.remove_prefix(1);
        for (int i = 0; i < 3; ++i) {
            out[i] = 0;
            if (v.empty())
                continue;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out[i]);
            if (ec != std::errc{})
                return i > 0;
            v.remove_prefix(static_cast<std::size_t>(end - v.data()));
            if (!v.empty() && v.front() == '.')
                v.remove_prefix(1);
            else
                v = {}; // "-rc1" and the like: the numbers so far decide
        }
        return true;
    };
    int a[3], b[3];
    if (!parts(version, a) || !parts(minimum, b))
        return false;
    return std::lexicographical_compare(b, b + 3, a, a + 3) || std::equal(a, a + 3, b);
}

bool supports_octet_stream_upload(std::string_view envd_version) noexcept
{
    return version_at_least(envd_version, "0.5.7");
}

std::pair<std::string, std::string> multipart_upload(std::string_view path, std::string_view data,
                                                     std::string_view boundary)
{
    std::string filename;
    for (char c : path) {
        // A quote or a line break would end the header; escape as browsers do.
        if (c == '"')
            filename += "%22";
        else if (c == '\r')
            filename += "%0D";
        else if (c == '\n')
            filename += "%0A";
        else
            filename += c;
    }
    std::string body;
    body.reserve(data.size() + 256);
    body += "--";
    body += boundary;
    body += "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"";
    body += filename;
    body += "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    body += data;
    body += "\r\n--";
    body += boundary;
    body += "--\r\n";
    return {"multipart/form-data; boundary=" + std::string(boundary), std::move(body)};
}

std::string sandbox_path(std::string_view path)
{
    if (!path.empty() && path.front() == '/')
        return std::string(path);
    if (path.empty() || path == ".")
        return std::string(home_dir);
    if (path == "~")
        return std::string(home_dir);
    if (path.size() >= 2 && path.substr(0, 2) == "~/")
        path.remove_prefix(2);
    return std::string(home_dir) + "/" + std::string(path);
}

bool inside_home(std::string_view path)
{
    const std::string p = posix_normalize(path);
    if (p == home_dir)
        return true;
    if (p.size() <= home_dir.size() || p.compare(0, home_dir.size(), home_dir) != 0 || p[home_dir.size()] != '/')
        return false;
    // A normalised path keeps "..": "/home/user/../x" is outside.
    for (std::size_t i = 0; i < p.size();) {
        const auto next = p.find('/', i);
        const auto part = std::string_view(p).substr(i, next == std::string::npos ? std::string::npos : next - i);
        if (part == "..")
            return false;
        if (next == std::string::npos)
            break;
        i = next + 1;
    }
    return true;
}

std::string_view type_name(EntryInfo::Type t) noexcept
{
    switch (t) {
    case EntryInfo::Type::file:
        return "file";
    case EntryInfo::Type::directory:
        return "dir";
    case EntryInfo::Type::symlink:
        return "symlink";
    default:
        return "unknown";
    }
}

EntryInfo parse_stat_response(std::string_view body)
{
    const json::value v = parse_object_body(body, "a Stat");
    const auto* entry = present(v.get_object(), "entry");
    if (!entry)
        throw ResponseError("envd answered a Stat without an entry");
    return parse_entry(*entry);
}

std::vector<EntryInfo> parse_list_dir_response(std::string_view body)
{
    const json::value v = parse_object_body(body, "a ListDir");
    std::vector<EntryInfo> out;
    const auto* entries = present(v.get_object(), "entries");
    if (!entries) // an empty list is omitted
        return out;
    if (!entries->is_array())
        throw ResponseError("envd answered a ListDir whose entries are not an array");
    for (const auto& e : entries->get_array())
        out.push_back(parse_entry(e));
    return out;
}

std::vector<std::string> relative_files(const std::vector<EntryInfo>& entries, std::string_view dir)
{
    std::string prefix = posix_normalize(dir);
    if (prefix != "/")
        prefix += '/';
    std::vector<std::string> out;
    for (const auto& e : entries) {
        if (e.type != EntryInfo::Type::file)
            continue;
        const std::string p = posix_normalize(e.path);
        if (p.size() > prefix.size() && p.compare(0, prefix.size(), prefix) == 0)
            out.push_back(p.substr(prefix.size()));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string quote_argv_for_shell(const std::vector<std::string>& argv)
{
    if (argv.empty())
        return {};
    std::string out = "'";
    for (char c : argv.front()) {
        if (c == '\'')
            out += "'\"'\"'";
        else
            out += c;
    }
    out += "'";
    if (argv.size() > 1) {
        out += ' ';
        out += detail::shell::join(std::vector<std::string>(argv.begin() + 1, argv.end()));
    }
    return out;
}

std::optional<std::string> parse_realpath_output(std::string_view out)
{
    // Exactly one path, terminated by NUL: "p\0". Python's split("\0") with
    // empty parts dropped must give one element.
    std::vector<std::string_view> parts;
    while (!out.empty()) {
        const auto nul = out.find('\0');
        const auto part = out.substr(0, nul);
        if (!part.empty())
            parts.push_back(part);
        if (nul == std::string_view::npos)
            break;
        out.remove_prefix(nul + 1);
    }
    if (parts.size() != 1)
        return std::nullopt;
    return std::string(parts.front());
}

std::string realpath_command(std::string_view path)
{
    return "realpath -ze -- " + detail::shell::quote(path);
}

} // namespace stirrup::detail::e2b
