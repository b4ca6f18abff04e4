// The E2B backend against the fake E2B server over TLS: lifecycle and
// metadata, commands (exit codes, output, timeouts that kill, cancellation
// that kills), Stirrup's E2B cases (allowlist re-quoting, realpath output
// resolution, outputs outside /home/user rejected), files, and keep-alive.
// Every test ends with no live sandbox and no running process on the fake.

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/format_result.hpp"
#include "stirrup/exec/e2b/e2b.hpp"
#include "stirrup/net/http_client.hpp"
#include "support/eventually.hpp"
#include "support/fake_e2b.hpp"
#include "support/run_sync.hpp"

using namespace std::chrono_literals;
using stirrup::CommandResult;
using stirrup::E2BCodeExec;
using stirrup::E2BCodeExecOptions;
using stirrup::test::check_fake_e2b_clean;
using stirrup::test::eventually;
using stirrup::test::FakeE2B;
using stirrup::test::fresh_fake_e2b;
using stirrup::test::run_sync;
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::vector<json::object> requests_on(FakeE2B& fake, const std::string& route)
{
    std::vector<json::object> out;
    const json::value all = fake.requests();
    for (const auto& r : all.as_array())
        if (r.at("route") == route.c_str())
            out.push_back(r.as_object());
    return out;
}

// Runs `fn(env)` between start and stop on one io_context.
template <class F>
void with_sandbox(E2BCodeExecOptions options, F&& fn)
{
    auto env = E2BCodeExec::make(std::move(options));
    run_sync([&]() -> asio::awaitable<void> {
        co_await env->start();
        std::exception_ptr failure;
        try {
            co_await fn(*env);
        } catch (...) {
            failure = std::current_exception();
        }
        co_await env->stop();
        if (failure)
            std::rethrow_exception(failure);
    });
}

} // namespace

TEST_CASE("e2b: a session's sandbox: created with its owner's metadata, commands run, killed on stop")
{
    auto& fake = fresh_fake_e2b();
    auto options = fake.provider_options();
    options.metadata = {{"team", "qa"}, {"stirrup.session", "spoofed"}};
    options.env_vars = {{"GREETING", "hello"}};
    auto env = E2BCodeExec::make(options);
    std::string sandbox_id;
    run_sync([&]() -> asio::awaitable<void> {
        co_await env->start();
        sandbox_id = env->sandbox_id().value();
        const json::value listed_value = fake.sandboxes();
        const auto& listed = listed_value.as_array();
        REQUIRE(listed.size() == 1);
        const auto& sb = listed[0].as_object();
        CHECK(sb.at("sandboxID") == sandbox_id.c_str());
        CHECK(sb.at("alias") == "base");
        const auto& md = sb.at("metadata").as_object();
        CHECK(md.at("team") == "qa");
        CHECK(md.at("stirrup.session") == env->session_id().c_str()); // ours win
        CHECK(md.at("stirrup.library") == "stirrup-cpp");
        CHECK(md.at("org.stirrup") == "1");
        CHECK(std::string(md.at("stirrup.owner").as_string()).find(std::to_string(::getpid()) + "@") == 0);

        CommandResult r = co_await env->run_command("echo hi; echo \"$GREETING\" >&2; pwd");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "hi\n/home/user\n");
        CHECK(r.stderr_text == "hello\n");
        CHECK_FALSE(r.error_kind);

        r = co_await env->run_command("echo out; echo boom >&2; exit 3");
        CHECK(r.exit_code == 3);
        CHECK(r.stdout_text == "out\n");
        CHECK(r.stderr_text == "boom\n");
        CHECK_FALSE(r.error_kind);
        co_await env->stop();
    });
    CHECK_FALSE(env->sandbox_id());
    const auto stats = fake.stats();
    CHECK(stats.at("created") == 1);
    CHECK(stats.at("killed") == 1);
    check_fake_e2b_clean(fake);

    // What went over the wire: Stirrup's create, and envd's headers.
    const auto creates = requests_on(fake, "POST /sandboxes");
    REQUIRE(creates.size() == 1);
    const auto& body = creates[0].at("body").as_object();
    CHECK(body.at("templateID") == "base");
    CHECK(body.at("timeout") == 600);
    CHECK(body.at("secure") == true);
    CHECK(body.at("envVars").at("GREETING") == "hello");
    CHECK(creates[0].at("headers").at("x-api-key") == fake.api_key().c_str());
    const auto starts = requests_on(fake, "POST /process.Process/Start");
    REQUIRE(starts.size() == 2);
    const auto& h = starts[0].at("headers").as_object();
    CHECK(h.at("e2b-sandbox-id") == sandbox_id.c_str());
    CHECK(h.at("e2b-sandbox-port") == "49983");
    CHECK(h.contains("x-access-token"));
    CHECK(h.at("connect-timeout-ms") == "300000");
    CHECK(h.at("content-type") == "application/connect+json");
    CHECK(h.at("connect-protocol-version") == "1");
    CHECK(h.at("keepalive-ping-interval") == "50");
    CHECK_FALSE(h.contains("accept-encoding"));
    const auto& start = starts[0].at("body").as_object();
    CHECK(start.at("process").at("cmd") == "/bin/bash");
    CHECK(start.at("stdin") == false);
}

TEST_CASE("e2b: one TLS handshake per session and one request per command over keep-alive")
{
    auto& fake = fresh_fake_e2b();
    const auto before = fake.stats();
    with_sandbox(fake.provider_options(), [](E2BCodeExec& env) -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) {
            const CommandResult r = co_await env.run_command("true");
            CHECK(r.exit_code == 0);
        }
        CHECK(env.http_client()->stats().tls_handshakes == 1);
        CHECK(env.http_client()->stats().connections_opened == 1);
    });
    const auto after = fake.stats();
    // The session's handshake, and the one of this stats request itself.
    CHECK(after.at("tls_handshakes").to_number<int>() - before.at("tls_handshakes").to_number<int>() == 2);
    // create, 5 starts, kill
    CHECK(after.at("requests").to_number<int>() == 7);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: Stirrup's allowlist re-quoting round trip")
{
    auto& fake = fresh_fake_e2b();
    auto options = fake.provider_options();
    options.allowed_commands = {"^echo\\b", "^printf\\b"};
    with_sandbox(options, [&](E2BCodeExec& env) -> asio::awaitable<void> {
        fake.clear_requests();
        CommandResult r = co_await env.run_command("echo 'allowed'");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "allowed\n");
        // Quoting cannot smuggle shell syntax: every argument reaches echo literally.
        r = co_await env.run_command("echo '$(whoami)' \"it's\" 'a;b' ''");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "$(whoami) it's a;b \n");
        r = co_await env.run_command("printf '%s|' 'two words' 'new\nline'");
        CHECK(r.stdout_text == "two words|new\nline|");
        r = co_await env.run_command("rm -rf /");
        CHECK(r.error_kind == "command_not_allowed");
        CHECK(r.stderr_text == "Command not allowed: 'rm -rf /'");
        r = co_await env.run_command("echo hi; id");
        CHECK(r.error_kind == "command_not_allowed");
    });
    const auto starts = requests_on(fake, "POST /process.Process/Start");
    REQUIRE(starts.size() == 3);
    CHECK(starts[0].at("body").at("process").at("args").as_array()[2] == "'echo' allowed");
    CHECK(starts[1].at("body").at("process").at("args").as_array()[2] == "'echo' '$(whoami)' 'it'\"'\"'s' 'a;b' ''");
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: a command over its timeout is killed and returns its partial output")
{
    auto& fake = fresh_fake_e2b();
    with_sandbox(fake.provider_options(), [&](E2BCodeExec& env) -> asio::awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        CommandResult r = co_await env.run_command("echo started; sleep 30 & sleep 30; echo never", 1s);
        CHECK(std::chrono::steady_clock::now() - t0 < 4s);
        CHECK(r.error_kind == "timeout");
        CHECK(r.stdout_text == "started\n");
        CHECK(r.stderr_text == "Command timed out after 1 seconds");
        CHECK(stirrup::detail::format_result(r).find("<error_kind>timeout</error_kind>") != std::string::npos);
        // The sandbox is still usable.
        r = co_await env.run_command("echo after");
        CHECK(r.stdout_text == "after\n");
    });
    const auto starts = requests_on(fake, "POST /process.Process/Start");
    REQUIRE(starts.size() >= 1);
    CHECK(starts[0].at("headers").at("connect-timeout-ms") == "1000");
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: cancelling a command SIGKILLs it in the sandbox")
{
    using namespace asio::experimental::awaitable_operators;
    auto& fake = fresh_fake_e2b();
    bool aborted = false;
    with_sandbox(fake.provider_options(), [&](E2BCodeExec& env) -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 500ms);
        try {
            auto which = co_await (env.run_command("echo x; sleep 60") || timer.async_wait(asio::use_awaitable));
            CHECK(which.index() == 1);
            aborted = true;
        } catch (const boost::system::system_error& e) {
            aborted = e.code() == asio::error::operation_aborted;
        }
        CHECK(eventually([&] { return fake.running_processes() == 0; }));
        const auto kills = requests_on(fake, "POST /process.Process/SendSignal");
        REQUIRE(kills.size() == 1);
        CHECK(kills[0].at("body").at("signal") == "SIGNAL_SIGKILL");
        CHECK(kills[0].at("body").at("process").as_object().contains("pid"));
        const CommandResult r = co_await env.run_command("echo still-here");
        CHECK(r.stdout_text == "still-here\n");
    });
    CHECK(aborted);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: files: write, read, exists, is_directory, list, upload, missing files")
{
    auto& fake = fresh_fake_e2b();
    const fs::path host = fs::temp_directory_path() / ("stirrup-e2b-files-" + std::to_string(::getpid()));
    fs::remove_all(host);
    fs::create_directories(host / "dir" / "sub");
    std::ofstream(host / "one.txt") << "one";
    std::ofstream(host / "dir" / "a.txt") << "A";
    std::ofstream(host / "dir" / "sub" / "b.txt") << "B";
    with_sandbox(fake.provider_options(), [&](E2BCodeExec& env) -> asio::awaitable<void> {
        const std::string binary("\0\x01\xff\xfe text\r\n", 11);
        co_await env.write_file("out/data.bin", binary);
        CHECK(co_await env.read_file("out/data.bin") == binary);
        CHECK(co_await env.read_file("/home/user/out/data.bin") == binary);
        CHECK(co_await env.file_exists("out/data.bin"));
        CHECK_FALSE(co_await env.file_exists("out"));
        CHECK(co_await env.is_directory("out"));
        CHECK_FALSE(co_await env.is_directory("out/data.bin"));
        CHECK_FALSE(co_await env.file_exists("missing"));
        CHECK_FALSE(co_await env.is_directory("missing"));
        CHECK_THROWS_AS(co_await env.read_file("missing.txt"), stirrup::FileNotFoundError);
        const CommandResult r = co_await env.run_command("cat out/data.bin | wc -c");
        CHECK(r.stdout_text == "11\n");

        const auto up = co_await env.upload_files(
            stirrup::test::strings((host / "one.txt").string(), (host / "dir").string(), (host / "nope").string()));
        CHECK(up.uploaded.size() == 3);
        CHECK(up.failed.size() == 1);
        std::vector<std::string> dests;
        for (const auto& u : up.uploaded)
            dests.push_back(u.dest_path);
        CHECK(dests ==
              stirrup::test::strings("/home/user/one.txt", "/home/user/dir/a.txt", "/home/user/dir/sub/b.txt"));
        CHECK(co_await env.list_files("dir") == stirrup::test::strings("a.txt", "sub/b.txt"));
        CHECK(co_await env.list_files("/home/user/dir/") == stirrup::test::strings("a.txt", "sub/b.txt"));
        CHECK((co_await env.list_files("missing")).empty());
        CHECK((co_await env.list_files("one.txt")).empty());
    });
    const auto writes = requests_on(fake, "POST /files");
    REQUIRE_FALSE(writes.empty());
    CHECK(writes[0].at("headers").at("content-type") == "application/octet-stream");
    CHECK(writes[0].at("query").at("path") == "/home/user/out/data.bin");
    fs::remove_all(host);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: files go as multipart to envd before 0.5.7")
{
    auto& fake = fresh_fake_e2b();
    fake.set_faults(R"({"envd_version":"0.5.6"})");
    with_sandbox(fake.provider_options(), [&](E2BCodeExec& env) -> asio::awaitable<void> {
        CHECK(env.envd_version() == "0.5.6");
        co_await env.write_file("m/part.txt", "multi\r\npart \"quoted\"");
        CHECK(co_await env.read_file("m/part.txt") == "multi\r\npart \"quoted\"");
    });
    const auto writes = requests_on(fake, "POST /files");
    REQUIRE(writes.size() == 1);
    CHECK(std::string(writes[0].at("headers").at("content-type").as_string())
              .rfind("multipart/form-data; boundary=", 0) == 0);
    fake.clear_faults();
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: Stirrup's output resolution: realpath under /home/user, outside rejected")
{
    auto& fake = fresh_fake_e2b();
    const fs::path out = fs::temp_directory_path() / ("stirrup-e2b-out-" + std::to_string(::getpid()));
    fs::remove_all(out);
    with_sandbox(fake.provider_options(), [&](E2BCodeExec& env) -> asio::awaitable<void> {
        const CommandResult setup =
            co_await env.run_command("mkdir -p res && echo report > res/report.txt && ln -s res/report.txt link.txt && "
                                     "ln -s /etc/passwd escape.txt && mkdir adir && echo top > /home/user/top.txt");
        REQUIRE(setup.exit_code == 0);
        const auto saved = co_await env.save_output_files(
            stirrup::test::strings("res/report.txt", "link.txt", "/home/user/top.txt", "escape.txt", "/etc/passwd",
                                   "adir", "missing.txt", "../x"),
            out);
        REQUIRE(saved.saved.size() == 3);
        CHECK(saved.saved[0].source_path == "res/report.txt");
        CHECK(std::ifstream(out / "res" / "report.txt").good());
        CHECK(std::ifstream(out / "link.txt").good());
        CHECK(std::ifstream(out / "top.txt").good());
        CHECK(saved.failed.at("escape.txt").rfind("E2B output source is outside E2B execution root: escape.txt", 0) ==
              0);
        CHECK(saved.failed.at("/etc/passwd") == "Output source path is outside known execution roots: /etc/passwd");
        CHECK(saved.failed.at("adir") == "Path is not a file (type: dir)");
        CHECK(saved.failed.at("missing.txt") == "Could not resolve E2B output source: missing.txt");
        CHECK(saved.failed.at("../x") == "Output source path contains traversal: ../x");
        CHECK_FALSE(fs::exists(out / "escape.txt"));
        CHECK_FALSE(fs::exists(out / "adir"));
    });
    std::ifstream in(out / "link.txt");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK(text == "report\n");
    fs::remove_all(out);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: the lifetime can be extended")
{
    auto& fake = fresh_fake_e2b();
    auto options = fake.provider_options();
    options.lifetime = 60s;
    with_sandbox(options, [&](E2BCodeExec& env) -> asio::awaitable<void> {
        co_await env.extend_lifetime(3600s);
        const auto sets = requests_on(fake, "POST /sandboxes/{id}/timeout");
        REQUIRE(sets.size() == 1);
        CHECK(sets[0].at("body").at("timeout") == 3600);
    });
    CHECK(requests_on(fake, "POST /sandboxes")[0].at("body").at("timeout") == 60);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: a provider destroyed without stop kills its sandbox in the background")
{
    auto& fake = fresh_fake_e2b();
    std::vector<std::string> warnings;
    auto options = fake.provider_options();
    options.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
    auto env = E2BCodeExec::make(options);
    run_sync([&]() -> asio::awaitable<void> {
        co_await env->start();
        CHECK(fake.live_sandboxes() == 1);
        // Dropped while its loop still runs (its HTTP client belongs to it).
        env.reset();
    });
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("stop() was not awaited") != std::string::npos);
    check_fake_e2b_clean(fake);
}

TEST_CASE("e2b: a missing API key is a configuration error before any request")
{
    auto& fake = fresh_fake_e2b();
    auto options = fake.provider_options();
    options.api_key = "";
    ::unsetenv("E2B_API_KEY");
    auto env = E2BCodeExec::make(options);
    CHECK_THROWS_WITH_AS(run_sync([&] { return env->start(); }), doctest::Contains("E2B_API_KEY"),
                         stirrup::ConfigError);
    CHECK(fake.stats().at("requests") == 0);
}
