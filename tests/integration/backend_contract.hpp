#pragma once
// The backend contract: what every CodeExecProvider must do, whatever runs
// the commands. Each backend invokes the whole suite from its own file:
//
//     STIRRUP_BACKEND_CONTRACT(LocalBackend);
//
// where the backend type provides
//
//     static std::unique_ptr<CodeExecProvider> make(const CodeExecOptions&);  // not started
//     static std::string resource(CodeExecProvider&);    // what a started provider holds
//     static bool released(const std::string& resource); // true once that is gone
//
// and TYPE_TO_STRING names it in the test list. Behaviour that differs on
// purpose (exact timeout texts, partial output on timeout, where uploads are
// reported) stays in the backend's own tests.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/exec/provider.hpp"
#include "support/processes.hpp"
#include "support/run_sync.hpp"

namespace stirrup::test::contract {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A host directory for uploads and saved outputs, unique per test process.
struct HostDir {
    fs::path path;
    explicit HostDir(const std::string& name)
        : path(fs::temp_directory_path() / ("stirrup-contract-" + name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~HostDir() { fs::remove_all(path); }
    HostDir(const HostDir&) = delete;
    HostDir& operator=(const HostDir&) = delete;
};

inline void write_host(const fs::path& p, const std::string& data)
{
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

inline std::string slurp_host(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A 1x1 PNG.
inline const std::string& tiny_png()
{
    static const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
                                 "\0\0\0\nIDATx\x9c\x63\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xae\x42\x60\x82",
                                 67);
    return png;
}

/// A number for `sleep` unique to this process and call, so a process count
/// cannot see another test's (or another suite run's) sleepers.
inline std::string unique_sleep()
{
    static int n = 0;
    return std::to_string(900000 + (::getpid() % 9000) * 10 + (n++ % 10)) + "." + std::to_string(::getpid());
}

/// Runs `body` against a started provider of backend B and always stops it;
/// then checks that the provider let go of what it held.
template <class B, class Body>
void with_backend(const CodeExecOptions& options, Body body)
{
    std::string held;
    run_sync([&]() -> awaitable<void> {
        auto env = B::make(options);
        co_await env->start();
        held = B::resource(*env);
        std::exception_ptr failure;
        try {
            co_await body(*env);
        } catch (...) {
            failure = std::current_exception();
        }
        co_await env->stop();
        if (failure)
            std::rethrow_exception(failure);
    });
    CHECK_MESSAGE(B::released(held), "still held after stop: " << held);
}

template <class B, class Body>
void with_backend(Body body)
{
    with_backend<B>(CodeExecOptions{}, std::move(body));
}

inline CodeExecOptions allowing(std::vector<std::string> patterns)
{
    CodeExecOptions o;
    o.allowed_commands = std::move(patterns);
    return o;
}

} // namespace stirrup::test::contract

TEST_CASE_TEMPLATE_DEFINE("contract: a command's stdout, stderr and exit code", B, contract_command_result)
{
    using namespace stirrup;
    stirrup::test::contract::with_backend<B>([](CodeExecProvider& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo 'hello world'");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "hello world\n");
        CHECK(r.stderr_text == "");
        CHECK_FALSE(r.error_kind.has_value());

        r = co_await env.run_command("echo out; echo err >&2; exit 3");
        CHECK(r.exit_code == 3);
        CHECK(r.stdout_text == "out\n");
        CHECK(r.stderr_text == "err\n");
        CHECK_FALSE(r.error_kind.has_value());

        // Commands run in the working directory, where relative paths of the
        // file API point, with stdin closed (`cat` must not wait).
        co_await env.write_file("here.txt", "found\n");
        r = co_await env.run_command("cat here.txt; cat");
        CHECK(r.stdout_text == "found\n");

        // Invalid UTF-8 is replaced as Python's errors='replace' does.
        r = co_await env.run_command(R"(printf 'a\xffb\xe2\x82')");
        CHECK(r.stdout_text == "a\xEF\xBF\xBD"
                               "b\xEF\xBF\xBD");
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: a provider that is not started refuses work", B, contract_not_started)
{
    using namespace stirrup;
    auto env = B::make(CodeExecOptions{});
    CHECK_THROWS_AS(
        stirrup::test::run_sync([&]() -> awaitable<CommandResult> { co_return co_await env->run_command("true"); }),
        NotStartedError);
    // stop() on a provider that never started is a no-op.
    stirrup::test::run_sync([&]() -> awaitable<void> { co_await env->stop(); });
}

TEST_CASE_TEMPLATE_DEFINE("contract: a timeout is a result and kills the command's descendants", B, contract_timeout)
{
    using namespace stirrup;
    using namespace std::chrono_literals;
    const std::string marker = stirrup::test::contract::unique_sleep();
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo partial; sleep " + marker + " & sleep " + marker + " & wait", 1500ms);
        CHECK(r.error_kind == "timeout");
        CHECK(r.exit_code != 0);
        CHECK(r.stderr_text.find("Command timed out after 1.5 seconds") != std::string::npos);
        CHECK(stirrup::test::processes_left_with_cmdline("sleep " + marker) == 0);

        r = co_await env.run_command("echo still usable");
        CHECK(r.stdout_text == "still usable\n");
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: the default timeout is the provider's shell_timeout", B, contract_shell_timeout)
{
    using namespace stirrup;
    using namespace std::chrono_literals;
    CodeExecOptions o;
    o.shell_timeout = 1s;
    stirrup::test::contract::with_backend<B>(o, [](CodeExecProvider& env) -> awaitable<void> {
        auto r = co_await env.run_command("sleep 30");
        CHECK(r.error_kind == "timeout");
        CHECK(r.stderr_text.find("Command timed out after 1 seconds") != std::string::npos);
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: cancelling a command kills it and the provider stays usable", B,
                          contract_cancellation)
{
    using namespace stirrup;
    using namespace std::chrono_literals;
    using namespace boost::asio::experimental::awaitable_operators;
    const std::string marker = stirrup::test::contract::unique_sleep();
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 1500ms);
        auto which = co_await (env.run_command("sleep " + marker + " & sleep " + marker + " & wait") ||
                               timer.async_wait(boost::asio::use_awaitable));
        CHECK(which.index() == 1);
        CHECK(stirrup::test::processes_left_with_cmdline("sleep " + marker) == 0);
        auto r = co_await env.run_command("echo usable");
        CHECK(r.stdout_text == "usable\n");
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: stop kills background jobs and releases the environment", B, contract_stop)
{
    using namespace stirrup;
    const std::string marker = stirrup::test::contract::unique_sleep();
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        auto r = co_await env.run_command("sleep " + marker + " > /dev/null 2>&1 & echo started");
        CHECK(r.stdout_text == "started\n");
        co_await env.stop();
        CHECK_FALSE(env.started());
        co_await env.stop(); // idempotent; with_backend stops a third time
    });
    CHECK(stirrup::test::processes_left_with_cmdline("sleep " + marker) == 0);
}

TEST_CASE_TEMPLATE_DEFINE("contract: the allowlist runs argv verbatim and rejects before running", B,
                          contract_allowlist)
{
    using namespace stirrup;
    const auto o = stirrup::test::contract::allowing({"^echo\\b", "^printf\\b"});
    stirrup::test::contract::with_backend<B>(o, [](CodeExecProvider& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo 'a;b' \"c|d\" '$HOME' '*' 'x  y'");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "a;b c|d $HOME * x  y\n");
        CHECK_FALSE(r.error_kind.has_value());

        r = co_await env.run_command("echo allowed; printf bypassed > forbidden.txt");
        CHECK(r.error_kind == "command_not_allowed");
        CHECK(r.exit_code == 1);
        CHECK_FALSE(co_await env.file_exists("forbidden.txt"));

        r = co_await env.run_command("cat /etc/passwd");
        CHECK(r.error_kind == "command_not_allowed");
        CHECK(r.stderr_text == "Command not allowed: 'cat /etc/passwd'");
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: commands run concurrently on one provider", B, contract_concurrency)
{
    using namespace stirrup;
    // A rendezvous instead of a stopwatch: each command waits until all ten
    // have started, which only happens if they really run at once.
    stirrup::test::contract::with_backend<B>([](CodeExecProvider& env) -> awaitable<void> {
        using namespace boost::asio::experimental::awaitable_operators;
        std::vector<CommandResult> results(10);
        auto one = [&](int i) -> awaitable<void> {
            results[static_cast<std::size_t>(i)] = co_await env.run_command(
                "touch ready." + std::to_string(i) +
                "; for k in $(seq 300); do [ $(ls ready.* | wc -l) -ge 10 ] && break; sleep 0.05; done; "
                "ls ready.* | wc -l");
        };
        co_await (one(0) && one(1) && one(2) && one(3) && one(4) && one(5) && one(6) && one(7) && one(8) && one(9));
        for (const auto& r : results)
            CHECK(r.stdout_text == "10\n");
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: output is bounded in memory", B, contract_bounded_output)
{
    using namespace stirrup;
    stirrup::test::contract::with_backend<B>([](CodeExecProvider& env) -> awaitable<void> {
        auto r = co_await env.run_command("head -c 3000000 /dev/zero | tr '\\0' a; echo END");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text.size() == 40'000);
        CHECK(r.stdout_dropped_chars == 3'000'004 - 40'000);
        CHECK(r.stdout_text.substr(r.stdout_text.size() - 4) == "END\n");
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: file primitives, nested paths, binary data and long names", B, contract_files)
{
    using namespace stirrup;
    stirrup::test::contract::with_backend<B>([](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        co_await env.write_file("a/b/c.txt", "nested\n");
        CHECK(co_await env.read_file("a/b/c.txt") == "nested\n");
        const CommandResult pwd = co_await env.run_command("pwd");
        const std::string& cwd = pwd.stdout_text;
        REQUIRE(cwd.size() > 1);
        const std::string root = cwd.substr(0, cwd.size() - 1);
        CHECK(co_await env.read_file(root + "/a/b/c.txt") == "nested\n");
        CHECK(co_await env.file_exists("a/b/c.txt"));
        CHECK_FALSE(co_await env.file_exists("a/b"));
        CHECK(co_await env.is_directory("a/b"));
        CHECK(co_await env.is_directory("."));
        CHECK_FALSE(co_await env.is_directory("a/b/c.txt"));
        CHECK_FALSE(co_await env.file_exists("missing.txt"));
        CHECK_FALSE(co_await env.is_directory("missing"));

        auto r = co_await env.run_command("cat a/b/c.txt && mkdir -p out/deep && printf report > out/deep/r.txt");
        CHECK(r.stdout_text == "nested\n");
        CHECK(co_await env.read_file("out/deep/r.txt") == "report");

        // Overwriting keeps a file a file; every byte survives.
        const std::string binary("\0\x01\xff\r\n", 5);
        co_await env.write_file("a/b/c.txt", binary);
        CHECK(co_await env.read_file("a/b/c.txt") == binary);
        r = co_await env.run_command("wc -c < a/b/c.txt");
        CHECK(r.stdout_text == "5\n");

        // Longer than a ustar header holds, and not ASCII.
        const std::string long_path = std::string(120, 'd') + "/" + std::string(150, 'f') + "-\xc3\xbcml.txt";
        co_await env.write_file(long_path, "long");
        CHECK(co_await env.read_file(long_path) == "long");

        CHECK(co_await env.list_files(".") == strings("a/b/c.txt", long_path, "out/deep/r.txt"));
        CHECK(co_await env.list_files("out") == strings("deep/r.txt"));
        std::vector<std::string> none = co_await env.list_files("missing");
        CHECK(none.empty());
        none = co_await env.list_files("out/deep/r.txt");
        CHECK(none.empty());

        co_await env.write_file("pic.png", stirrup::test::contract::tiny_png());
        const ImageFile image = co_await env.view_image("pic.png");
        CHECK(image.mime_type == "image/png");
        CHECK(image.data == stirrup::test::contract::tiny_png());
        CHECK_THROWS_AS(co_await env.view_image("a/b/c.txt"), PathError);
        CHECK_THROWS_AS(co_await env.view_image("missing.png"), FileNotFoundError);
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: missing files, escapes and symlinks", B, contract_escapes)
{
    using namespace stirrup;
    stirrup::test::contract::HostDir out("escape");
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        CHECK_THROWS_AS(co_await env.read_file("missing.txt"), FileNotFoundError);
        CHECK_THROWS_AS(co_await env.read_file("/etc/passwd"), PathError);
        CHECK_THROWS_AS(co_await env.read_file("../../../../etc/passwd"), PathError);
        CHECK_THROWS_AS(co_await env.write_file("../escape.txt", "x"), PathError);
        CHECK_THROWS_AS(co_await env.write_file("/etc/stirrup-should-not-exist", "x"), PathError);

        // Relative links to /usr: the local backend refuses commands that
        // name /etc, /tmp, /home... (Stirrup's absolute-path heuristic).
        auto r = co_await env.run_command(
            "ln -s ../../../../../../../usr/bin/env leak.txt && mkdir -p real && echo inside > real/f.txt && "
            "ln -s real alias && ln -s ../../../../../../../usr outdir");
        INFO(r.stderr_text);
        REQUIRE(r.exit_code == 0);
        CHECK_THROWS_AS(co_await env.read_file("leak.txt"), PathError);
        CHECK_THROWS_AS(co_await env.read_file("outdir/bin/env"), PathError);
        CHECK_THROWS_AS(co_await env.write_file("outdir/evil", "x"), PathError);
        CHECK(co_await env.read_file("alias/f.txt") == "inside\n");

        auto saved =
            co_await env.save_output_files(strings("leak.txt", "alias/f.txt", "nested/../escape.txt"), out.path);
        REQUIRE(saved.failed.count("leak.txt") == 1);
        CHECK(saved.failed["leak.txt"].find("outside execution environment") != std::string::npos);
        REQUIRE(saved.failed.count("nested/../escape.txt") == 1);
        CHECK(saved.failed["nested/../escape.txt"].find("traversal") != std::string::npos);
        REQUIRE(saved.saved.size() == 1);
        CHECK(stirrup::test::contract::slurp_host(out.path / "alias/f.txt") == "inside\n");
        CHECK_FALSE(std::filesystem::exists(out.path / "leak.txt"));
    });
    CHECK_FALSE(std::filesystem::exists("/etc/stirrup-should-not-exist"));
    CHECK_FALSE(std::filesystem::exists("/usr/evil"));
}

TEST_CASE_TEMPLATE_DEFINE("contract: uploads and saved outputs keep the directory structure", B, contract_transfers)
{
    using namespace stirrup;
    using stirrup::test::contract::slurp_host;
    using stirrup::test::contract::write_host;
    stirrup::test::contract::HostDir src("upload");
    write_host(src.path / "single.txt", "one\n");
    write_host(src.path / "tree/x.txt", "x\n");
    write_host(src.path / "tree/sub/y.txt", "y\n");
    write_host(src.path / "tree/sub/deeper/z.txt", "z\n");
    stirrup::test::contract::HostDir out("save");
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        auto up = co_await env.upload_files(
            strings((src.path / "single.txt").string(), (src.path / "tree").string(), (src.path / "nope").string()));
        REQUIRE(up.failed.size() == 1);
        CHECK(up.failed.begin()->second == "File or directory does not exist");
        REQUIRE(up.uploaded.size() == 4);
        CHECK(up.uploaded[0].source_path == (src.path / "single.txt").string());
        CHECK(up.uploaded[0].size == 4);
        // Where it went is the backend's to say (relative or absolute), but it must read back.
        CHECK(co_await env.read_file(up.uploaded[0].dest_path) == "one\n");
        auto r = co_await env.run_command("cat single.txt tree/x.txt tree/sub/y.txt tree/sub/deeper/z.txt");
        CHECK(r.stdout_text == "one\nx\ny\nz\n");

        up = co_await env.upload_files(strings((src.path / "tree").string()), std::string("inputs"));
        CHECK(up.uploaded.size() == 3);
        CHECK(co_await env.read_file("inputs/sub/deeper/z.txt") == "z\n");

        up = co_await env.upload_files(strings((src.path / "single.txt").string()), std::string("../outside"));
        CHECK(up.uploaded.empty());
        CHECK(up.failed.size() == 1);

        r = co_await env.run_command("mkdir -p left right && echo L > left/report.txt && echo R > right/report.txt && "
                                     "echo top > output.txt");
        REQUIRE(r.exit_code == 0);
        const CommandResult pwd = co_await env.run_command("pwd");
        const std::string& cwd = pwd.stdout_text;
        const std::string absolute = cwd.substr(0, cwd.size() - 1) + "/right/report.txt";
        auto saved = co_await env.save_output_files(
            strings("left/report.txt", absolute, "output.txt", "./output.txt", "missing.txt", "left"), out.path);
        CHECK(saved.saved.size() == 3);
        CHECK(saved.failed.size() == 3);
        REQUIRE(saved.failed.count("./output.txt") == 1);
        CHECK(saved.failed["./output.txt"].find("collision") != std::string::npos);
        CHECK(saved.failed.count("missing.txt") == 1);
        CHECK(saved.failed.count("left") == 1);
        CHECK(slurp_host(out.path / "left/report.txt") == "L\n");
        CHECK(slurp_host(out.path / "right/report.txt") == "R\n");
        CHECK(slurp_host(out.path / "output.txt") == "top\n");
        // Saving copies: the sources stay.
        CHECK(co_await env.file_exists("output.txt"));
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: transfers to and from a local environment", B, contract_cross_provider)
{
    using namespace stirrup;
    stirrup::test::contract::with_backend<B>([](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        LocalCodeExec local;
        co_await local.start();
        std::exception_ptr failure;
        try {
            co_await env.run_command("mkdir -p results/deep && echo data > results/deep/d.txt");
            auto saved = co_await env.save_output_files_to(local, strings("results/deep/d.txt"), "received");
            CHECK(saved.failed.empty());
            CHECK(co_await local.read_file("received/results/deep/d.txt") == "data\n");

            co_await local.write_file("dir/in.txt", "from local\n");
            auto up = co_await env.upload_files_from(local, strings("dir", "missing"));
            CHECK(up.failed.size() == 1);
            CHECK(co_await env.read_file("dir/in.txt") == "from local\n");

            auto checked = co_await env.validate_output_files(strings("results/deep/d.txt", "nope.txt"));
            CHECK(checked.saved.size() == 1);
            CHECK(checked.failed.count("nope.txt") == 1);
        } catch (...) {
            failure = std::current_exception();
        }
        co_await local.stop();
        if (failure)
            std::rethrow_exception(failure);
    });
}

// ---- what a hostile environment tries --------------------------------------

TEST_CASE_TEMPLATE_DEFINE("contract: files leaving the environment are bounded in size", B, contract_bounded_files)
{
    using namespace stirrup;
    stirrup::test::contract::HostDir out("bounded");
    CodeExecOptions options;
    options.transfer_limits = TransferLimits{.max_file_bytes = 1000, .max_session_bytes = 1500};
    stirrup::test::contract::with_backend<B>(options, [&](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        auto r = co_await env.run_command(
            "truncate -s 100G huge && head -c 1001 /dev/zero > over && head -c 1000 /dev/zero > a && "
            "head -c 600 /dev/zero > b && echo small > c");
        REQUIRE(r.exit_code == 0);
        // A 100 GiB sparse file costs the environment nothing; the host refuses it before copying.
        CHECK_THROWS_AS(co_await env.read_file("huge"), FileTooLargeError);
        CHECK_THROWS_AS(co_await env.read_file("over"), FileTooLargeError);
        const std::string a = co_await env.read_file("a");
        CHECK(a.size() == 1000);
        auto saved = co_await env.save_output_files(strings("huge", "over", "a", "b", "c"), out.path);
        REQUIRE(saved.failed.count("huge") == 1);
        CHECK(saved.failed["huge"] == "File is too large: 107374182400 bytes (the limit is 1000 bytes per file)");
        CHECK(saved.failed["over"] == "File is too large: 1001 bytes (the limit is 1000 bytes per file)");
        REQUIRE(saved.failed.count("b") == 1);
        CHECK(saved.failed["b"].find("Session output limit reached") != std::string::npos);
        CHECK(saved.saved.size() == 2); // a and c: 1006 of 1500 bytes
        CHECK_FALSE(std::filesystem::exists(out.path / "huge"));
        CHECK_FALSE(std::filesystem::exists(out.path / "b"));
        CHECK(std::filesystem::file_size(out.path / "a") == 1000);
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: saved files never keep setuid, setgid, sticky or world-write bits", B,
                          contract_safe_modes)
{
    using namespace stirrup;
    stirrup::test::contract::HostDir out("modes");
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        auto r = co_await env.run_command(
            "printf '#!/bin/sh\\nid\\n' > suid && chmod 6777 suid && echo d > plain && chmod 1666 plain");
        REQUIRE(r.exit_code == 0);
        auto saved = co_await env.save_output_files(strings("suid", "plain"), out.path);
        REQUIRE(saved.failed.empty());
        for (const char* name : {"suid", "plain"}) {
            const auto mode = static_cast<unsigned>(std::filesystem::status(out.path / name).permissions());
            CAPTURE(name);
            CAPTURE(mode);
            CHECK((mode & 07000) == 0); // no setuid, setgid, sticky
            CHECK((mode & 0002) == 0);  // nobody else may write it
        }
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: a NUL byte in a command is a tool error naming it, and nothing runs", B,
                          contract_nul_byte)
{
    using namespace stirrup;
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        const CommandResult r = co_await env.run_command(std::string("echo a\0; touch pwned", 20));
        CHECK(r.exit_code == 1);
        CHECK(r.error_kind == "invalid_argument");
        CHECK(r.stderr_text.find("NUL byte") != std::string::npos);
        CHECK(r.stdout_text.empty());
        CHECK_FALSE(co_await env.file_exists("pwned"));
    });
}

TEST_CASE_TEMPLATE_DEFINE("contract: an uploaded tree's symlinks, loops and FIFOs are judged, never fatal", B,
                          contract_hostile_inputs)
{
    using namespace stirrup;
    using stirrup::test::contract::write_host;
    namespace fs = std::filesystem;
    stirrup::test::contract::HostDir src("inputs");
    const fs::path in = src.path / "in";
    write_host(in / "a.txt", "a\n");
    write_host(in / "sub/b.txt", "b\n");
    write_host(src.path / "other/o.txt", "other\n");
    fs::create_symlink("a.txt", in / "link-in");
    fs::create_symlink("../other/o.txt", in / "link-out");
    fs::create_symlink("/etc/hostname", in / "link-abs");
    fs::create_symlink("missing", in / "broken");
    fs::create_directory_symlink("sub", in / "dir-link");
    fs::create_directory_symlink(".", in / "loop");
    REQUIRE(::mkfifo((in / "fifo").c_str(), 0644) == 0);
    fs::create_symlink(in / "a.txt", src.path / "top-link");
    stirrup::test::contract::with_backend<B>([&](CodeExecProvider& env) -> awaitable<void> {
        using stirrup::test::strings;
        auto up = co_await env.upload_files(strings(in.string(), (src.path / "top-link").string()));
        CHECK(up.failed.empty());
        CHECK(up.skipped.size() == 5);
        CHECK(up.skipped.at((in / "link-out").string()).find("outside the uploaded directory") != std::string::npos);
        CHECK(up.skipped.at((in / "link-abs").string()).find("outside the uploaded directory") != std::string::npos);
        CHECK(up.skipped.at((in / "broken").string()).find("broken") != std::string::npos);
        CHECK(up.skipped.at((in / "loop").string()).find("loop") != std::string::npos);
        CHECK(up.skipped.at((in / "fifo").string()).find("FIFO") != std::string::npos);
        CHECK(co_await env.read_file("in/link-in") == "a\n");
        CHECK(co_await env.read_file("in/dir-link/b.txt") == "b\n");
        CHECK(co_await env.read_file("top-link") == "a\n"); // its own name, not a.txt
        CHECK_FALSE(co_await env.file_exists("other/o.txt"));
        CHECK_FALSE(co_await env.file_exists("in/link-out"));
        CHECK(up.uploaded.size() == 5); // a.txt, sub/b.txt, link-in, dir-link/b.txt, top-link
    });
}

/// Runs the whole contract against backend type B.
#define STIRRUP_BACKEND_CONTRACT(B)                                                                                    \
    TEST_CASE_TEMPLATE_INVOKE(contract_command_result, B);                                                             \
    TEST_CASE_TEMPLATE_INVOKE(contract_not_started, B);                                                                \
    TEST_CASE_TEMPLATE_INVOKE(contract_timeout, B);                                                                    \
    TEST_CASE_TEMPLATE_INVOKE(contract_shell_timeout, B);                                                              \
    TEST_CASE_TEMPLATE_INVOKE(contract_cancellation, B);                                                               \
    TEST_CASE_TEMPLATE_INVOKE(contract_stop, B);                                                                       \
    TEST_CASE_TEMPLATE_INVOKE(contract_allowlist, B);                                                                  \
    TEST_CASE_TEMPLATE_INVOKE(contract_concurrency, B);                                                                \
    TEST_CASE_TEMPLATE_INVOKE(contract_bounded_output, B);                                                             \
    TEST_CASE_TEMPLATE_INVOKE(contract_files, B);                                                                      \
    TEST_CASE_TEMPLATE_INVOKE(contract_escapes, B);                                                                    \
    TEST_CASE_TEMPLATE_INVOKE(contract_transfers, B);                                                                  \
    TEST_CASE_TEMPLATE_INVOKE(contract_cross_provider, B);                                                             \
    TEST_CASE_TEMPLATE_INVOKE(contract_bounded_files, B);                                                              \
    TEST_CASE_TEMPLATE_INVOKE(contract_safe_modes, B);                                                                 \
    TEST_CASE_TEMPLATE_INVOKE(contract_nul_byte, B);                                                                   \
    TEST_CASE_TEMPLATE_INVOKE(contract_hostile_inputs, B)
