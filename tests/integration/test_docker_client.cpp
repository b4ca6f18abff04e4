// The Docker Engine API client against the real engine: version
// negotiation, typed errors, exec streams (with the engine's own errors
// inside them), archives, and an engine that dies or hangs mid-call, through
// a unix-socket proxy that this test controls.

#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <list>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/detail/exec_rules.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using stirrup::test::docker_options;
using stirrup::test::run_sync;
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using unix_socket = asio::local::stream_protocol::socket;

namespace {

// Forwards every connection to the engine's socket until told to die (close
// everything, stop listening) or to hang (stop forwarding, keep connections).
class EngineProxy {
public:
    explicit EngineProxy(std::string name)
        : path_(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".sock")), acceptor_(io_),
          hang_timer_(io_)
    {
        fs::remove(path_);
        acceptor_.open();
        acceptor_.bind(asio::local::stream_protocol::endpoint(path_.string()));
        acceptor_.listen();
        hang_timer_.expires_at(asio::steady_timer::time_point::max());
        asio::co_spawn(io_, accept_loop(this), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }

    ~EngineProxy()
    {
        die();
        thread_.join();
    }

    stirrup::detail::docker::Endpoint endpoint() const
    {
        stirrup::detail::docker::Endpoint e;
        e.url = "unix://" + path_.string();
        return e;
    }

    // The engine's process is gone: connections reset, nothing listens.
    void die()
    {
        asio::post(io_, [this] {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            for (auto& s : sockets_)
                s->close(ignored);
            hang_timer_.cancel();
            io_.stop();
        });
        std::error_code ec;
        fs::remove(path_, ec);
    }

    // The engine stops answering but keeps its connections open.
    void hang() { hanging_ = true; }

private:
    static asio::awaitable<void> pump(EngineProxy* self, std::shared_ptr<unix_socket> from,
                                      std::shared_ptr<unix_socket> to)
    {
        std::array<char, 16384> buf;
        try {
            for (;;) {
                const std::size_t n = co_await from->async_read_some(asio::buffer(buf), asio::use_awaitable);
                if (self->hanging_)
                    co_await self->hang_timer_.async_wait(asio::use_awaitable);
                co_await asio::async_write(*to, asio::buffer(buf.data(), n), asio::use_awaitable);
            }
        } catch (...) {
        }
        boost::system::error_code ignored;
        to->shutdown(asio::socket_base::shutdown_send, ignored);
    }

    static asio::awaitable<void> accept_loop(EngineProxy* self)
    {
        for (;;) {
            auto client = std::make_shared<unix_socket>(self->io_);
            auto [ec] = co_await self->acceptor_.async_accept(*client, asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return;
            auto engine = std::make_shared<unix_socket>(self->io_);
            auto [cec] = co_await engine->async_connect(asio::local::stream_protocol::endpoint("/var/run/docker.sock"),
                                                        asio::as_tuple(asio::use_awaitable));
            if (cec)
                continue;
            self->sockets_.push_back(client);
            self->sockets_.push_back(engine);
            asio::co_spawn(self->io_, pump(self, client, engine), asio::detached);
            asio::co_spawn(self->io_, pump(self, engine, client), asio::detached);
        }
    }

    fs::path path_;
    asio::io_context io_;
    asio::local::stream_protocol::acceptor acceptor_;
    asio::steady_timer hang_timer_;
    std::list<std::shared_ptr<unix_socket>> sockets_;
    std::atomic<bool> hanging_{false};
    std::thread thread_;
};

// A bare container made with the client itself, removed at the end.
struct BareContainer {
    std::string id;

    BareContainer()
    {
        test::require_docker_engine();
        id = run_sync([]() { return create(); });
    }
    ~BareContainer() { test::remove_container(id); }

    static awaitable<std::string> create()
    {
        const auto ex = co_await asio::this_coro::executor;
        auto client = docker::Client::from_env(ex);
        json::object config;
        config["Image"] = test::docker_test_image();
        json::array cmd;
        cmd.emplace_back("sleep");
        cmd.emplace_back("infinity");
        config["Cmd"] = std::move(cmd);
        config["WorkingDir"] = "/workspace";
        json::object labels;
        labels["stirrup.test"] = "client";
        config["Labels"] = std::move(labels);
        json::object host;
        host["NetworkMode"] = "none";
        host["Init"] = true;
        config["HostConfig"] = std::move(host);
        const std::string id = co_await client->container_create(config);
        co_await client->container_start(id);
        co_return id;
    }
};

struct ExecOutput {
    std::string out, err;
    int exit_code = -1;
};

awaitable<ExecOutput> run_exec(docker::Client& client, std::string container, std::vector<std::string> cmd)
{
    stirrup::detail::docker::ExecConfig config;
    config.cmd = std::move(cmd);
    const std::string exec_id = co_await client.exec_create(container, config);
    ExecOutput o;
    stirrup::detail::docker::OutputSink sink = [&o](stirrup::detail::docker::StreamId s, std::string_view piece) {
        (s == stirrup::detail::docker::StreamId::stderr_stream ? o.err : o.out).append(piece);
    };
    co_await client.exec_start(exec_id, sink);
    const stirrup::detail::docker::ExecState st = co_await client.exec_inspect(exec_id);
    o.exit_code = st.exit_code.value_or(-1);
    co_return o;
}

} // namespace

TEST_CASE("docker client: version negotiation and the engine's errors")
{
    test::require_docker_engine();
    run_sync([]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        auto client = docker::Client::from_env(ex);
        CHECK(client->is_local());
        // Debian's engine serves 1.41, below our maximum.
        CHECK(co_await client->api_version() == "1.41");

        docker::ClientOptions pinned;
        pinned.pinned_api_version = "1.40";
        docker::Client old(ex, client->endpoint(), pinned);
        CHECK(co_await old.api_version() == "1.40");
        CHECK(co_await old.image_inspect(test::docker_test_image()));

        CHECK_FALSE(co_await client->image_inspect("stirrup-no-such-image:none"));
        CHECK_FALSE(co_await client->container_inspect("stirrup-no-such-container"));
        CHECK_FALSE(co_await client->container_remove("stirrup-no-such-container"));

        json::object config;
        config["Image"] = "stirrup-no-such-image:none";
        int status = 0;
        std::string message;
        try {
            co_await client->container_create(config);
        } catch (const docker::ApiError& e) {
            status = e.status();
            message = e.engine_message();
        }
        CHECK(status == 404);
        CHECK(message == "No such image: stirrup-no-such-image:none");

        status = 0;
        stirrup::detail::docker::ExecConfig exec;
        exec.cmd.push_back("true");
        try {
            co_await client->exec_create("stirrup-no-such-container", exec);
        } catch (const docker::ApiError& e) {
            status = e.status();
            message = e.what();
        }
        CHECK(status == 404);
        CHECK(message.find("No such container: stirrup-no-such-container") != std::string::npos);
    });
}

TEST_CASE("docker client: exec output is demultiplexed, and the engine's errors arrive in the stream")
{
    BareContainer c;
    run_sync([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        auto client = docker::Client::from_env(ex);
        auto o = co_await run_exec(
            *client, c.id, test::strings("sh", "-c", "printf out1; printf err1 >&2; head -c 100000 /dev/zero; exit 3"));
        CHECK(o.exit_code == 3);
        CHECK(o.out.size() == 4 + 100000);
        CHECK(o.out.substr(0, 4) == "out1");
        CHECK(o.err == "err1");

        o = co_await run_exec(*client, c.id, test::strings("/nonexistent-binary"));
        CHECK(o.exit_code == 126);
        CHECK(o.out.rfind("OCI runtime exec failed", 0) == 0);
        CHECK(o.out.substr(o.out.size() - 2) == "\r\n");
        const CommandResult r = stirrup::detail::docker::exec_command_result(o.exit_code, o.out, o.err, 10s);
        CHECK(r.error_kind == "execution_error");
        CHECK(r.stderr_text.find("/nonexistent-binary") != std::string::npos);
    });
}

TEST_CASE("docker client: archives in and out, and path stats")
{
    BareContainer c;
    run_sync([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        auto client = docker::Client::from_env(ex);
        std::vector<stirrup::detail::tar::Entry> entries(2);
        entries[0].path = "dir";
        entries[0].type = stirrup::detail::tar::Entry::Type::directory;
        entries[0].mode = 0755;
        entries[1].path = "dir/hello.txt";
        entries[1].data = "hello";
        entries[1].mode = 0600;
        entries[1].uid = 1000;
        entries[1].gid = 1000;
        co_await client->archive_put(c.id, "/workspace", stirrup::detail::tar::write_archive(entries));

        const auto st = co_await client->archive_stat(c.id, "/workspace/dir/hello.txt");
        REQUIRE(st);
        CHECK(st->is_regular());
        CHECK(st->size == 5);
        CHECK(st->permissions() == 0600);
        const auto dir = co_await client->archive_stat(c.id, "/workspace/dir");
        REQUIRE(dir);
        CHECK(dir->is_dir());
        CHECK_FALSE(co_await client->archive_stat(c.id, "/workspace/nope"));

        std::vector<std::string> names;
        std::string data;
        auto sink = [&](const stirrup::detail::tar::Entry& e, std::string_view piece, bool last) {
            data.append(piece);
            if (last)
                names.push_back(e.path + ":" + std::to_string(e.uid));
        };
        const auto got = co_await client->archive_get(c.id, "/workspace/dir", sink);
        REQUIRE(got);
        CHECK(got->name == "dir");
        CHECK(names == test::strings("dir/:0", "dir/hello.txt:1000"));
        CHECK(data == "hello");
        CHECK_FALSE(co_await client->archive_get(c.id, "/workspace/nope", sink));

        // Extraction needs an existing directory; the engine says so.
        int status = 0;
        try {
            co_await client->archive_put(c.id, "/workspace/missing-dir", stirrup::detail::tar::write_archive(entries));
        } catch (const docker::ApiError& e) {
            status = e.status();
        }
        CHECK(status == 404);
    });
}

TEST_CASE("docker: an engine that has gone gives a clear error, not a hang")
{
    EngineProxy proxy("stirrup-dying-engine");
    std::string id;
    std::string error;
    std::vector<std::string> warnings;
    run_sync([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        auto o = docker_options();
        o.client = std::make_shared<docker::Client>(ex, proxy.endpoint());
        o.on_warning = [&](std::string_view m) { warnings.emplace_back(m); };
        auto env = DockerCodeExec::from_image(test::docker_test_image(), o);
        co_await env->start();
        id = *env->container_id();
        asio::steady_timer timer(ex, 1s);
        try {
            auto which = co_await (env->run_command("sleep 30") || timer.async_wait(asio::use_awaitable));
            (void)which;
        } catch (const std::exception&) {
        }
        // A cancelled command (its kill exec went through), then the engine dies.
        proxy.die();
        try {
            co_await env->run_command("echo never");
        } catch (const docker::EngineUnavailableError& e) {
            error = e.what();
        }
        co_await env->stop();
    });
    INFO(error);
    CHECK(error.find("is Docker running?") != std::string::npos);
    CHECK_FALSE(warnings.empty());
    // The real engine still has the container: the reaper's job, here the test's.
    REQUIRE_FALSE(id.empty());
    CHECK(test::inspect_container(id));
    test::remove_container(id);
}

TEST_CASE("docker: an engine that dies during a streamed exec ends the command with an error")
{
    EngineProxy proxy("stirrup-dying-engine-2");
    std::string id;
    std::string error;
    run_sync([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        auto o = docker_options();
        o.client = std::make_shared<docker::Client>(ex, proxy.endpoint());
        o.on_warning = [](std::string_view) {};
        auto env = DockerCodeExec::from_image(test::docker_test_image(), o);
        co_await env->start();
        id = *env->container_id();
        asio::steady_timer timer(ex, 1500ms);
        auto kill_later = [&]() -> awaitable<void> {
            co_await timer.async_wait(asio::use_awaitable);
            proxy.die();
        };
        try {
            co_await (env->run_command("echo started; sleep 30") && kill_later());
        } catch (const docker::EngineUnavailableError& e) {
            error = e.what();
        } catch (const std::exception& e) {
            error = std::string("unexpected: ") + e.what();
        }
        co_await env->stop();
    });
    INFO(error);
    CHECK(error.find("is Docker running?") != std::string::npos);
    test::remove_container(id);
}

TEST_CASE("docker client: a hung engine times out with a clear error")
{
    BareContainer c;
    EngineProxy proxy("stirrup-hung-engine");
    std::string error;
    std::error_code code;
    run_sync([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        docker::ClientOptions options;
        options.control_timeout = 1s;
        docker::Client client(ex, proxy.endpoint(), options);
        CHECK(co_await client.container_inspect(c.id));
        proxy.hang();
        try {
            co_await client.container_inspect(c.id);
        } catch (const docker::EngineUnavailableError& e) {
            error = e.what();
            code = e.code();
        }
    });
    INFO(error);
    CHECK(code == std::errc::timed_out);
    CHECK(error.find("inspecting container") != std::string::npos);
    CHECK(error.find("ClientOptions::control_timeout is 1 s") != std::string::npos);
}

TEST_CASE("docker client: control calls to an engine that accepts and never answers fail after control_timeout")
{
    // No engine needed: a socket that accepts connections and says nothing,
    // as a paused engine does.
    const fs::path path = fs::temp_directory_path() / ("stirrup-silent-engine-" + std::to_string(::getpid()) + ".sock");
    fs::remove(path);
    asio::io_context io;
    asio::local::stream_protocol::acceptor silent(io, asio::local::stream_protocol::endpoint(path.string()));
    std::vector<unix_socket> held;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            for (;;)
                held.push_back(co_await silent.async_accept(asio::use_awaitable));
        },
        asio::detached);
    std::thread server([&] { io.run(); });

    stirrup::detail::docker::Endpoint endpoint;
    endpoint.url = "unix://" + path.string();
    for (const bool pinned : {false, true}) {
        CAPTURE(pinned);
        std::string error;
        std::error_code code;
        const auto started = std::chrono::steady_clock::now();
        run_sync([&]() -> awaitable<void> {
            docker::ClientOptions options;
            options.control_timeout = 1s; // request_timeout stays at its 120 s
            if (pinned)
                options.pinned_api_version = "1.44"; // no /_ping first: the call itself waits
            docker::Client client(co_await asio::this_coro::executor, endpoint, options);
            try {
                co_await client.container_inspect("c0ffee");
            } catch (const docker::EngineUnavailableError& e) {
                error = e.what();
                code = e.code();
            }
        });
        const auto took = std::chrono::steady_clock::now() - started;
        INFO(error);
        CHECK(code == std::errc::timed_out);
        CHECK(error.find(pinned ? "failed during inspecting container c0ffee" : "failed during GET /_ping") !=
              std::string::npos);
        CHECK(error.find("ClientOptions::control_timeout is 1 s") != std::string::npos);
        CHECK(took < 20s); // 1 s, and far from request_timeout
    }
    asio::post(io, [&] { silent.close(); });
    server.join();
    fs::remove(path);
}

TEST_CASE("docker client: a build stream that goes silent times out with a clear error")
{
    test::require_docker_engine();
    std::error_code code;
    std::string error;
    run_sync([&]() -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        docker::ClientOptions options;
        options.stream_idle_timeout = 1s;
        auto client = docker::Client(ex, docker::Client::from_env(ex)->endpoint(), options);
        std::vector<stirrup::detail::tar::Entry> context(1);
        context[0].path = "Dockerfile";
        context[0].data = "FROM " + test::docker_test_image() + "\nRUN sleep 4\n";
        stirrup::detail::docker::BuildParams params;
        params.network_mode = "none";
        try {
            co_await client.build(stirrup::detail::tar::write_archive(context), params);
        } catch (const docker::EngineUnavailableError& e) {
            code = e.code();
            error = e.what();
        }
    });
    INFO(error);
    CHECK(code == std::errc::timed_out);
    CHECK(error.find("building image") != std::string::npos);
    CHECK(error.find("no data for 1 s") != std::string::npos);
}
