// Files in and out of the local backend: Stirrup's upload/save suite, and
// transfers between two providers.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/local/local.hpp"
#include "support/helpers.hpp"
#include "support/local_env.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::test::run_sync;
using stirrup::test::strings;
using stirrup::test::with_local;
namespace fs = std::filesystem;

using stirrup::test::read_bytes;

namespace {

struct HostDir {
    fs::path path;
    explicit HostDir(const std::string& name)
        : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~HostDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& data)
{
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

} // namespace

TEST_CASE("save_output_files copies to the output dir and leaves the source")
{
    HostDir out("stirrup-save");
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.run_command("echo content > output.txt");
        auto r = co_await env.save_output_files(strings("output.txt", "missing.txt"), out.path);
        REQUIRE(r.saved.size() == 1);
        CHECK(r.saved[0].source_path == "output.txt");
        CHECK(fs::path(r.saved[0].output_path) == out.path / "output.txt");
        CHECK(r.saved[0].size == 8);
        CHECK(read_bytes(out.path / "output.txt") == "content\n");
        CHECK(fs::exists(*env.temp_dir() / "output.txt"));
        CHECK(r.failed.count("missing.txt") == 1);
    });
}

TEST_CASE("save_output_files rejects a second claim on one destination")
{
    HostDir out("stirrup-collide");
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.run_command("echo first > report.txt");
        const std::string absolute = (*env.temp_dir() / "report.txt").string();
        auto r = co_await env.save_output_files(strings("report.txt", absolute), out.path);
        CHECK(r.saved.size() == 1);
        REQUIRE(r.failed.count(absolute) == 1);
        CHECK(r.failed[absolute].find("collision") != std::string::npos);

        r = co_await env.save_output_files(strings("report.txt", "report.txt"), out.path);
        CHECK(r.saved.size() == 1);
        CHECK(r.failed.empty());
    });
}

TEST_CASE("save_output_files: bad paths fail alone, the batch goes on")
{
    HostDir out("stirrup-bad");
    HostDir secret("stirrup-secret");
    write(secret.path / "secret.txt", "host secret");
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.run_command("echo good > good.txt");
        fs::create_symlink(secret.path / "secret.txt", *env.temp_dir() / "leak.txt");
        auto r = co_await env.save_output_files(strings("nested/../escape.txt", "/etc/passwd", "leak.txt", "good.txt"),
                                                out.path);
        CHECK(r.failed["nested/../escape.txt"].find("traversal") != std::string::npos);
        CHECK(r.failed["/etc/passwd"].find("outside known execution roots") != std::string::npos);
        CHECK(r.failed["leak.txt"].find("outside execution environment") != std::string::npos);
        REQUIRE(r.saved.size() == 1);
        CHECK(r.saved[0].source_path == "good.txt");
        CHECK_FALSE(fs::exists(out.path / "leak.txt"));
    });
}

TEST_CASE("upload_files: files, directories, dest_dir and missing paths")
{
    HostDir src("stirrup-upload");
    write(src.path / "single.txt", "one");
    write(src.path / "tree/a.txt", "a");
    write(src.path / "tree/b.txt", "b");
    write(src.path / "tree/sub/c.txt", "c");
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.upload_files(strings((src.path / "single.txt").string()));
        REQUIRE(r.uploaded.size() == 1);
        CHECK(r.uploaded[0].dest_path == "single.txt");
        CHECK(r.uploaded[0].source_path == (src.path / "single.txt").string());
        CHECK(read_bytes(*env.temp_dir() / "single.txt") == "one");

        r = co_await env.upload_files(strings((src.path / "tree").string(), (src.path / "nope").string()));
        CHECK(r.uploaded.size() == 3);
        CHECK(r.failed.size() == 1);
        CHECK(r.failed.begin()->second == "File or directory does not exist");
        CHECK(read_bytes(*env.temp_dir() / "tree/sub/c.txt") == "c");

        r = co_await env.upload_files(strings((src.path / "tree").string()), "data");
        CHECK(r.uploaded.size() == 3);
        CHECK(read_bytes(*env.temp_dir() / "data/a.txt") == "a");
        CHECK(read_bytes(*env.temp_dir() / "data/sub/c.txt") == "c");

        r = co_await env.upload_files(strings((src.path / "single.txt").string()), "../outside");
        CHECK(r.uploaded.empty());
        CHECK(r.failed.size() == 1);
    });
}

TEST_CASE("file primitives: exists, is_directory, list, read, write, containment")
{
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("dir/sub/file.txt", "data");
        CHECK(co_await env.file_exists("dir/sub/file.txt"));
        CHECK_FALSE(co_await env.file_exists("dir/missing.txt"));
        CHECK_FALSE(co_await env.file_exists("dir"));
        CHECK(co_await env.is_directory("dir"));
        CHECK(co_await env.read_file("dir/sub/file.txt") == "data");
        CHECK(co_await env.read_file((*env.temp_dir() / "dir/sub/file.txt").string()) == "data");
        co_await env.write_file("dir/z.txt", "z");
        const auto expected = strings("sub/file.txt", "z.txt");
        CHECK(co_await env.list_files("dir") == expected);
        CHECK((co_await env.list_files("missing")).empty());

        bool threw = false;
        try {
            co_await env.read_file("missing.txt");
        } catch (const FileNotFoundError& e) {
            threw = std::string(e.what()) == "File not found: missing.txt";
        }
        CHECK(threw);
        threw = false;
        try {
            co_await env.file_exists("../../etc/passwd");
        } catch (const PathError& e) {
            threw = std::string(e.what()) == "Path is outside execution environment: ../../etc/passwd";
        }
        CHECK(threw);
        threw = false;
        try {
            co_await env.write_file("/etc/stirrup-should-not-exist", "x");
        } catch (const PathError&) {
            threw = true;
        }
        CHECK(threw);
        CHECK_FALSE(fs::exists("/etc/stirrup-should-not-exist"));
    });
}

TEST_CASE("transfers between two providers")
{
    run_sync([&]() -> awaitable<void> {
        LocalCodeExec a, b;
        co_await a.start();
        co_await b.start();
        co_await a.run_command(
            "mkdir -p tree/sub && echo 1 > tree/one.txt && echo 2 > tree/sub/two.txt && echo r > report.txt");

        auto up = co_await b.upload_files_from(a, strings("tree", "report.txt", "missing.txt"));
        CHECK(up.uploaded.size() == 3);
        CHECK(up.failed.count("missing.txt") == 1);
        CHECK(co_await b.read_file("tree/sub/two.txt") == "2\n");
        CHECK(co_await b.read_file("report.txt") == "r\n");

        auto saved =
            co_await a.save_output_files_to(b, strings("tree/one.txt", "./tree/one.txt", "report.txt"), "outbox");
        CHECK(saved.saved.size() == 2);
        REQUIRE(saved.failed.count("./tree/one.txt") == 1);
        CHECK(saved.failed["./tree/one.txt"].find("collision") != std::string::npos);
        CHECK(co_await b.read_file("outbox/tree/one.txt") == "1\n");
        CHECK(saved.saved[0].output_path == "outbox/tree/one.txt");

        co_await a.stop();
        co_await b.stop();
    });
}
