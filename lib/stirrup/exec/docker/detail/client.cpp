#include "stirrup/exec/docker/detail/client.hpp"

#include <filesystem>

#include <cstdlib>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/detail/ascii.hpp"
#include "stirrup/core/detail/deadline.hpp"
#include "stirrup/core/detail/text.hpp"
#include "stirrup/net/detail/url.hpp"
#include "stirrup/net/http_client.hpp"

namespace stirrup::detail::docker {
namespace json = boost::json;

namespace {

std::string trimmed(std::string_view s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    while (!s.empty() && (s.front() == '\n' || s.front() == '\r' || s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    return std::string(s);
}

// The engine's {"message": ...}; a body that is not that (a Go plain-text
// error, a proxy's page) is kept as it is.
std::string engine_message(std::string_view body)
{
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (!ec && v.is_object())
        if (const json::value* m = v.as_object().if_contains("message"); m && m->is_string())
            return trimmed(m->as_string());
    if (body.size() > 4096)
        return trimmed(body.substr(0, 4096)) + "...";
    return trimmed(body);
}

json::object parse_object(std::string_view body, const std::string& what)
{
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object())
        throw MessageError("Docker engine: " + what +
                           ": the reply is not a JSON object: " + trimmed(body.substr(0, 200)));
    return std::move(v.as_object());
}

std::string string_field(const json::object& o, std::string_view key)
{
    if (const json::value* v = o.if_contains(key); v && v->is_string())
        return std::string(v->as_string());
    return {};
}

// The Id of what a create call (container, exec) made: 201 and {"Id": ...}.
std::string created_id(int status, const std::string& body, const std::string& what)
{
    if (status != 201)
        throw ApiError(status, engine_message(body), what);
    std::string id = string_field(parse_object(body, what), "Id");
    if (id.empty())
        throw MessageError("Docker engine: " + what + ": no Id in " + body);
    return id;
}

std::string join_query(const std::vector<std::pair<std::string, std::string>>& params)
{
    std::string q;
    for (const auto& [k, v] : params) {
        q += q.empty() ? '?' : '&';
        q += k;
        q += '=';
        q += net::detail::percent_encode(v);
    }
    return q;
}

// A request to the engine, never retried: its POSTs are not idempotent (a
// retried create makes a second container). `content_type`: none when empty.
net::HttpRequest engine_request(std::string method, std::string url, Milliseconds timeout,
                                std::string content_type = {}, std::string body = {})
{
    net::HttpRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    if (!content_type.empty())
        req.headers.emplace_back("Content-Type", std::move(content_type));
    req.body = std::move(body);
    req.max_retries = 0;
    req.timeout = timeout;
    return req;
}

// The next piece of a streamed body, or nullopt at its end; throws
// HttpTransportError(timed_out) when the engine stays silent for `idle`.
awaitable<std::optional<std::string>> read_within(net::HttpStream& s, Milliseconds idle)
{
    awaitable<std::optional<std::string>> read = s.read_some();
    auto raced = co_await detail::race_for(std::move(read), idle);
    if (raced.timed_out)
        throw net::HttpTransportError(std::make_error_code(std::errc::timed_out),
                                      "no data for " + std::to_string(idle.count() / 1000) + " s");
    if (raced.failure)
        std::rethrow_exception(raced.failure);
    co_return std::move(*raced.value);
}

// The (short) error body of a streamed request.
awaitable<std::string> read_rest(net::HttpStream& s)
{
    std::string body;
    for (;;) {
        const std::optional<std::string> piece = co_await s.read_some();
        if (!piece)
            break;
        body += *piece;
    }
    co_return body;
}

// "ClientOptions::control_timeout is 30 s": what bounded a call that timed out.
std::string option_text(const char* option, Milliseconds t)
{
    return "ClientOptions::" + std::string(option) + " is " + detail::text::seconds_text(t) + " s";
}

// `bound` (an option_text), when given, is said for a call that timed out.
[[noreturn]] void throw_unavailable(const net::HttpTransportError& e, const Endpoint& ep, const std::string& what,
                                    const std::string& bound = {})
{
    const std::string limit = bound.empty() || e.code() != std::errc::timed_out ? std::string() : "; " + bound;
    throw EngineUnavailableError(e.code(), "Docker engine at " + ep.url + " failed during " + what + " (" + e.what() +
                                               limit + "); is Docker running?");
}

} // namespace

std::pair<std::string, std::string> split_image_reference(std::string_view image)
{
    if (const auto at = image.find('@'); at != std::string_view::npos)
        return {std::string(image), ""};
    const auto slash = image.rfind('/');
    const auto colon = image.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
        return {std::string(image.substr(0, colon)), std::string(image.substr(colon + 1))};
    return {std::string(image), "latest"};
}

struct Client::Reply {
    int status = 0;
    std::string body;
    net::Headers headers;

    std::optional<std::string_view> header(std::string_view name) const
    {
        for (const auto& [k, v] : headers)
            if (detail::ascii::iequals(k, name))
                return std::string_view(v);
        return std::nullopt;
    }
};

Client::Client(boost::asio::any_io_executor ex, Endpoint endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options))
{
    net::HttpClientOptions http;
    http.retry.max_retries = 0;
    http.use_env_proxy = false;
    http.timeouts.connect = options_.connect_timeout;
    http.timeouts.request = options_.request_timeout;
    // Exec output may legitimately stay silent for as long as a command runs:
    // every call and stream read here is bounded by its own deadline instead.
    http.timeouts.idle = std::chrono::hours(24 * 365);
    http.tls.verify = endpoint_.tls_verify;
    http.tls.ca_file = endpoint_.ca_file;
    // As the docker CLI: the client certificate is presented when its files
    // exist (an engine run with --tlsverify demands it), and silently not
    // otherwise (DOCKER_TLS against an engine that does not ask for one).
    std::error_code ec;
    if (endpoint_.cert_file && endpoint_.key_file && std::filesystem::exists(*endpoint_.cert_file, ec) &&
        std::filesystem::exists(*endpoint_.key_file, ec)) {
        http.tls.cert_file = endpoint_.cert_file;
        http.tls.key_file = endpoint_.key_file;
    }
    http.user_agent = "stirrup-cpp";
    http_ = std::make_unique<net::HttpClient>(std::move(ex), std::move(http));
    if (options_.pinned_api_version)
        version_ = api_version_for(*options_.pinned_api_version, options_.max_api_version, options_.min_api_version);
}

Client::~Client() = default;

std::shared_ptr<Client> Client::from_env(boost::asio::any_io_executor ex, ClientOptions options)
{
    const auto getenv = [](std::string_view name) -> std::optional<std::string> {
        if (const char* v = std::getenv(std::string(name).c_str()))
            return std::string(v);
        return std::nullopt;
    };
    if (auto pinned = getenv("DOCKER_API_VERSION"); pinned && !pinned->empty() && !options.pinned_api_version)
        options.pinned_api_version = *pinned;
    return std::make_shared<Client>(std::move(ex), endpoint_from_env(getenv), std::move(options));
}

bool Client::is_local() const noexcept
{
    return endpoint_.url.rfind("unix://", 0) == 0;
}

std::string Client::url_for(std::string_view versioned_path) const
{
    if (is_local())
        return endpoint_.url + ":" + std::string(versioned_path);
    return endpoint_.url + std::string(versioned_path);
}

awaitable<void> Client::ping()
{
    net::HttpRequest req = engine_request("GET", url_for("/_ping"), options_.control_timeout);
    net::HttpResponse resp;
    try {
        resp = co_await http_->request(std::move(req));
    } catch (const net::HttpTransportError& e) {
        throw_unavailable(e, endpoint_, "GET /_ping", option_text("control_timeout", options_.control_timeout));
    }
    if (resp.status != 200)
        throw ApiError(resp.status, engine_message(resp.body), "GET /_ping");
    const auto server = resp.header("Api-Version");
    const std::string chosen =
        api_version_for(server ? *server : std::string_view{}, options_.max_api_version, options_.min_api_version);
    std::lock_guard lock(version_mutex_);
    if (version_.empty())
        version_ = chosen;
}

awaitable<std::string> Client::api_version()
{
    {
        std::lock_guard lock(version_mutex_);
        if (!version_.empty())
            co_return version_;
    }
    co_await ping();
    std::lock_guard lock(version_mutex_);
    co_return version_;
}

awaitable<Client::Reply> Client::call(std::string method, std::string path, std::string body, std::string content_type,
                                      std::string what)
{
    const std::string version = co_await api_version();
    // A tar upload is a transfer, whose time grows with its size; every other
    // call here is a control call, which a well engine answers at once.
    const bool transfer = content_type == "application/x-tar";
    const Milliseconds timeout = transfer ? options_.request_timeout : options_.control_timeout;
    const std::string bound = option_text(transfer ? "request_timeout" : "control_timeout", timeout);
    net::HttpRequest req = engine_request(std::move(method), url_for(api_path(version, path)), timeout,
                                          std::move(content_type), std::move(body));
    Reply reply;
    try {
        net::HttpResponse resp = co_await http_->request(std::move(req));
        reply.status = resp.status;
        reply.body = std::move(resp.body);
        reply.headers = std::move(resp.headers);
    } catch (const net::HttpTransportError& e) {
        throw_unavailable(e, endpoint_, what, bound);
    }
    co_return reply;
}

awaitable<std::optional<json::object>> Client::image_inspect(std::string name)
{
    return inspect("/images/" + name + "/json", "inspecting image " + name);
}

awaitable<std::optional<json::object>> Client::inspect(std::string path, std::string what)
{
    Reply r = co_await call("GET", std::move(path), "", "", what);
    if (r.status == 404)
        co_return std::nullopt;
    if (r.status != 200)
        throw ApiError(r.status, engine_message(r.body), what);
    co_return parse_object(r.body, what);
}

awaitable<std::vector<StreamMessage>> Client::json_messages(std::string method, std::string path, std::string body,
                                                            std::string content_type, std::string what,
                                                            std::function<void(const StreamMessage&)> on_message)
{
    const std::string version = co_await api_version();
    net::HttpRequest req = engine_request(std::move(method), url_for(api_path(version, path)), options_.request_timeout,
                                          std::move(content_type), std::move(body));

    // Only what build_failure needs is kept: step headers and failures.
    std::vector<StreamMessage> kept;
    JsonLineSplitter splitter;
    const auto on_line = [&](std::string_view line) {
        StreamMessage m = parse_stream_message(line);
        if (on_message)
            on_message(m);
        if (m.failed() || (m.stream && m.stream->find("Step ") != std::string::npos))
            kept.push_back(std::move(m));
    };
    try {
        net::HttpStream s = co_await http_->stream(std::move(req));
        if (s.status() != 200) {
            const std::string err = co_await read_rest(s);
            throw ApiError(s.status(), engine_message(err), what);
        }
        for (;;) {
            const std::optional<std::string> piece = co_await read_within(s, options_.stream_idle_timeout);
            if (!piece)
                break;
            splitter.feed(*piece, on_line);
        }
        splitter.finish(on_line);
    } catch (const net::HttpTransportError& e) {
        throw_unavailable(e, endpoint_, what);
    }
    co_return kept;
}

awaitable<void> Client::pull(std::string image)
{
    auto [from, tag] = split_image_reference(image);
    std::vector<std::pair<std::string, std::string>> q{{"fromImage", from}};
    if (!tag.empty())
        q.emplace_back("tag", tag);
    const std::string what = "pulling image " + image;
    auto msgs = co_await json_messages("POST", "/images/create" + join_query(q), "", "", what, nullptr);
    if (auto failure = build_failure(msgs))
        throw StreamFailure("Docker engine: " + what + " failed: " + *failure);
}

awaitable<std::string> Client::build(std::string context_tar, BuildParams params)
{
    std::vector<std::pair<std::string, std::string>> q;
    for (const auto& t : params.tags)
        q.emplace_back("t", t);
    q.emplace_back("dockerfile", params.dockerfile);
    q.emplace_back("rm", "1");
    q.emplace_back("forcerm", "1");
    if (!params.network_mode.empty())
        q.emplace_back("networkmode", params.network_mode);
    if (!params.build_args.empty()) {
        json::object args;
        for (const auto& [k, v] : params.build_args)
            args[k] = v;
        q.emplace_back("buildargs", json::serialize(args));
    }
    if (!params.labels.empty()) {
        json::object labels;
        for (const auto& [k, v] : params.labels)
            labels[k] = v;
        q.emplace_back("labels", json::serialize(labels));
    }
    std::string image_id;
    auto on_message = [&](const StreamMessage& m) {
        if (m.aux_id)
            image_id = *m.aux_id;
        if (m.stream && params.on_output)
            params.on_output(*m.stream);
    };
    const std::string what = "building image from " + params.dockerfile;
    auto msgs = co_await json_messages("POST", "/build" + join_query(q), std::move(context_tar), "application/x-tar",
                                       what, on_message);
    if (auto failure = build_failure(msgs))
        throw StreamFailure("Docker engine: " + what + " failed: " + *failure);
    if (image_id.empty())
        throw StreamFailure("Docker engine: " + what + ": the build stream ended without an image ID");
    co_return image_id;
}

awaitable<bool> Client::image_remove(std::string name, bool force)
{
    const std::string what = "removing image " + name;
    Reply r = co_await call("DELETE", "/images/" + name + (force ? "?force=1" : ""), "", "", what);
    if (r.status == 404)
        co_return false;
    if (r.status != 200)
        throw ApiError(r.status, engine_message(r.body), what);
    co_return true;
}

awaitable<std::string> Client::container_create(json::object config, std::string name)
{
    std::string path = "/containers/create";
    if (!name.empty())
        path += "?name=" + net::detail::percent_encode(name);
    const std::string what = "creating a container";
    Reply r = co_await call("POST", path, json::serialize(config), "application/json", what);
    co_return created_id(r.status, r.body, what);
}

awaitable<void> Client::container_start(std::string id)
{
    const std::string what = "starting container " + id;
    Reply r = co_await call("POST", "/containers/" + id + "/start", "", "", what);
    if (r.status != 204 && r.status != 304)
        throw ApiError(r.status, engine_message(r.body), what);
}

awaitable<std::optional<json::object>> Client::container_inspect(std::string id)
{
    return inspect("/containers/" + id + "/json", "inspecting container " + id);
}

awaitable<bool> Client::container_remove(std::string id, bool force, bool volumes)
{
    const std::string what = "removing container " + id;
    std::string path = "/containers/" + id + "?force=" + (force ? "1" : "0") + "&v=" + (volumes ? "1" : "0");
    Reply r = co_await call("DELETE", path, "", "", what);
    if (r.status == 204)
        co_return true;
    if (r.status == 404)
        co_return false;
    const std::string message = engine_message(r.body);
    // AutoRemove or a concurrent remover got there first.
    if (r.status == 409 && message.find("already in progress") != std::string::npos)
        co_return false;
    throw ApiError(r.status, message, what);
}

awaitable<json::array> Client::containers_by_label(std::vector<std::string> labels)
{
    json::array label_filter;
    for (auto& l : labels)
        label_filter.emplace_back(l);
    json::object filters;
    filters["label"] = std::move(label_filter);
    const std::string what = "listing containers";
    Reply r = co_await call(
        "GET", "/containers/json?all=1&filters=" + net::detail::percent_encode(json::serialize(filters)), "", "", what);
    if (r.status != 200)
        throw ApiError(r.status, engine_message(r.body), what);
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_array())
        throw MessageError("Docker engine: " + what + ": the reply is not a JSON array");
    co_return std::move(v.as_array());
}

awaitable<std::string> Client::exec_create(std::string container_id, ExecConfig config)
{
    json::object body;
    body["AttachStdin"] = false;
    body["AttachStdout"] = true;
    body["AttachStderr"] = true;
    body["Tty"] = false;
    json::array cmd;
    for (auto& c : config.cmd)
        cmd.emplace_back(c);
    body["Cmd"] = std::move(cmd);
    if (!config.env.empty()) {
        json::array env;
        for (auto& e : config.env)
            env.emplace_back(e);
        body["Env"] = std::move(env);
    }
    if (!config.working_dir.empty())
        body["WorkingDir"] = config.working_dir;
    if (!config.user.empty())
        body["User"] = config.user;
    const std::string what = "creating an exec in container " + container_id;
    Reply r =
        co_await call("POST", "/containers/" + container_id + "/exec", json::serialize(body), "application/json", what);
    co_return created_id(r.status, r.body, what);
}

awaitable<void> Client::exec_start(std::string exec_id, OutputSink sink)
{
    const std::string version = co_await api_version();
    // Without Upgrade headers the engine answers 200 and sends the raw
    // multiplexed stream until it closes the connection: an ordinary
    // close-delimited body that the HTTP client reads as it is. The timeout
    // runs until the headers: they come before the process runs.
    net::HttpRequest req =
        engine_request("POST", url_for(api_path(version, "/exec/" + exec_id + "/start")), options_.request_timeout,
                       "application/json", R"({"Detach":false,"Tty":false})");
    const std::string what = "running exec " + exec_id;
    FrameDecoder decoder;
    try {
        net::HttpStream s = co_await http_->stream(std::move(req));
        if (s.status() != 200 && s.status() != 101) {
            const std::string err = co_await read_rest(s);
            throw ApiError(s.status(), engine_message(err), what);
        }
        for (;;) {
            const std::optional<std::string> piece = co_await s.read_some();
            if (!piece)
                break;
            decoder.feed(*piece, sink);
        }
    } catch (const net::HttpTransportError& e) {
        throw_unavailable(e, endpoint_, what);
    }
    if (!decoder.at_boundary())
        throw FrameError("Docker engine: " + what + ": the output stream ended in the middle of a frame (offset " +
                         std::to_string(decoder.offset()) + "); did the engine stop?");
}

awaitable<ExecState> Client::exec_inspect(std::string exec_id)
{
    const std::string what = "inspecting exec " + exec_id;
    Reply r = co_await call("GET", "/exec/" + exec_id + "/json", "", "", what);
    if (r.status != 200)
        throw ApiError(r.status, engine_message(r.body), what);
    const json::object o = parse_object(r.body, what);
    ExecState st;
    if (const json::value* v = o.if_contains("ExitCode"); v && v->is_int64())
        st.exit_code = static_cast<int>(v->as_int64());
    if (const json::value* v = o.if_contains("Running"); v && v->is_bool())
        st.running = v->as_bool();
    if (const json::value* v = o.if_contains("Pid"); v && v->is_int64())
        st.pid = v->as_int64();
    co_return st;
}

awaitable<void> Client::archive_put(std::string container_id, std::string dir, std::string tar)
{
    const std::string what = "copying files into " + dir + " in container " + container_id;
    Reply r = co_await call("PUT",
                            "/containers/" + container_id + "/archive?path=" + net::detail::percent_encode(dir) +
                                "&noOverwriteDirNonDir=true",
                            std::move(tar), "application/x-tar", what);
    if (r.status != 200)
        throw ApiError(r.status, engine_message(r.body), what);
}

awaitable<std::optional<PathStat>> Client::archive_get(std::string container_id, std::string path,
                                                       detail::tar::ArchiveReader::Sink sink)
{
    const std::string version = co_await api_version();
    net::HttpRequest req = engine_request("GET",
                                          url_for(api_path(version, "/containers/" + container_id + "/archive?path=" +
                                                                        net::detail::percent_encode(path))),
                                          options_.request_timeout);
    const std::string what = "copying " + path + " out of container " + container_id;
    detail::tar::ArchiveReader reader;
    std::optional<PathStat> stat;
    try {
        net::HttpStream s = co_await http_->stream(std::move(req));
        if (s.status() != 200) {
            const std::string err = co_await read_rest(s);
            if (s.status() == 404)
                co_return std::nullopt;
            throw ApiError(s.status(), engine_message(err), what);
        }
        if (auto h = s.header("X-Docker-Container-Path-Stat"))
            stat = decode_path_stat(*h);
        for (;;) {
            const std::optional<std::string> piece = co_await read_within(s, options_.stream_idle_timeout);
            if (!piece)
                break;
            if (!reader.finished())
                reader.feed(*piece, sink);
        }
    } catch (const net::HttpTransportError& e) {
        throw_unavailable(e, endpoint_, what);
    }
    if (!reader.finished())
        throw detail::tar::TarError("Docker engine: " + what + ": the archive ended early");
    if (!stat)
        stat = PathStat{};
    co_return stat;
}

awaitable<std::optional<PathStat>> Client::archive_stat(std::string container_id, std::string path)
{
    const std::string what = "looking up " + path + " in container " + container_id;
    Reply r = co_await call(
        "HEAD", "/containers/" + container_id + "/archive?path=" + net::detail::percent_encode(path), "", "", what);
    if (r.status == 404)
        co_return std::nullopt;
    if (r.status != 200)
        throw ApiError(r.status, engine_message(r.body), what);
    const auto h = r.header("X-Docker-Container-Path-Stat");
    if (!h)
        throw MessageError("Docker engine: " + what + ": no X-Docker-Container-Path-Stat header");
    co_return decode_path_stat(*h);
}

} // namespace stirrup::detail::docker

namespace stirrup::docker {

ApiError::ApiError(int status, std::string message, const std::string& call)
    : Error("Docker engine: " + call + " failed (HTTP " + std::to_string(status) + "): " + message), status_(status),
      engine_message_(std::move(message))
{
}

std::shared_ptr<Client> client_from_env(boost::asio::any_io_executor ex, ClientOptions options)
{
    return Client::from_env(std::move(ex), std::move(options));
}

} // namespace stirrup::docker
