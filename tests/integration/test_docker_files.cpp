// Files in and out of the Docker backend, in both file modes (bind mount and
// tar archives through the engine): the same contract, the same test bodies.

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker.hpp"
#include "stirrup/exec/local.hpp"
#include "support/docker_env.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::test::docker_options;
using stirrup::test::strings;
using stirrup::test::with_docker;
namespace fs = std::filesystem;

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

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A 1x1 PNG.
const std::string png = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
                                    "\0\0\0\nIDATx\x9c\x63\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xae\x42\x60\x82",
                                    67);

const char* mode_name(DockerFileMode m) { return m == DockerFileMode::bind_mount ? "bind mount" : "archive"; }

template <class Body>
void in_both_modes(Body body)
{
    for (auto mode : {DockerFileMode::bind_mount, DockerFileMode::archive}) {
        INFO("file mode: " << mode_name(mode));
        with_docker(docker_options(mode), body);
    }
}

} // namespace

TEST_CASE("docker files: write, read, exists, list, with nested paths, seen by commands")
{
    in_both_modes([](DockerCodeExec& env) -> awaitable<void> {
        co_await env.write_file("a/b/c.txt", "nested\n");
        CHECK(co_await env.read_file("a/b/c.txt") == "nested\n");
        CHECK(co_await env.read_file("/workspace/a/b/c.txt") == "nested\n");
        CHECK(co_await env.file_exists("a/b/c.txt"));
        CHECK_FALSE(co_await env.file_exists("a/b"));
        CHECK(co_await env.is_directory("a/b"));
        CHECK(co_await env.is_directory("."));
        CHECK_FALSE(co_await env.is_directory("a/b/c.txt"));
        CHECK_FALSE(co_await env.file_exists("missing.txt"));
        auto r = co_await env.run_command("cat a/b/c.txt && mkdir -p out/deep && printf report > out/deep/r.txt");
        CHECK(r.stdout_text == "nested\n");
        CHECK(co_await env.read_file("out/deep/r.txt") == "report");

        // Overwrite keeps the file a file; binary data survives.
        const std::string binary("\0\x01\xff\r\n", 5);
        co_await env.write_file("a/b/c.txt", binary);
        CHECK(co_await env.read_file("a/b/c.txt") == binary);
        r = co_await env.run_command("wc -c < a/b/c.txt");
        CHECK(r.stdout_text == "5\n");

        // A name longer than ustar holds (PAX in archive mode).
        const std::string long_dir(120, 'd');
        const std::string long_path = long_dir + "/" + std::string(150, 'f') + "-\xc3\xbcml.txt";
        co_await env.write_file(long_path, "long");
        CHECK(co_await env.read_file(long_path) == "long");

        auto files = co_await env.list_files(".");
        CHECK(files == strings("a/b/c.txt", long_path, "out/deep/r.txt"));
        CHECK(co_await env.list_files("out") == strings("deep/r.txt"));
        CHECK((co_await env.list_files("missing")).empty());
        CHECK((co_await env.list_files("out/deep/r.txt")).empty());

        co_await env.write_file("pic.png", png);
        const ImageFile image = co_await env.view_image("pic.png");
        CHECK(image.mime_type == "image/png");
        CHECK(image.data == png);
    });
}

TEST_CASE("docker files: missing files, escapes and symlinks")
{
    in_both_modes([](DockerCodeExec& env) -> awaitable<void> {
        CHECK_THROWS_AS(co_await env.read_file("missing.txt"), FileNotFoundError);
        CHECK_THROWS_AS(co_await env.read_file("/etc/passwd"), PathError);
        CHECK_THROWS_AS(co_await env.read_file("../etc/passwd"), PathError);
        CHECK_THROWS_AS(co_await env.write_file("../escape.txt", "x"), PathError);

        auto r = co_await env.run_command(
            "ln -s /etc/passwd leak.txt && mkdir -p real && echo inside > real/f.txt && ln -s real alias && "
            "ln -s ../../../../etc outdir");
        REQUIRE(r.exit_code == 0);
        CHECK_THROWS_AS(co_await env.read_file("leak.txt"), PathError);
        CHECK_THROWS_AS(co_await env.read_file("outdir/passwd"), PathError);
        CHECK_THROWS_AS(co_await env.write_file("outdir/evil", "x"), PathError);
        CHECK(co_await env.read_file("alias/f.txt") == "inside\n");
        r = co_await env.run_command("test -e /etc/evil || echo absent");
        CHECK(r.stdout_text == "absent\n");

        HostDir out("stirrup-docker-escape");
        auto saved = co_await env.save_output_files(strings("leak.txt", "alias/f.txt"), out.path);
        REQUIRE(saved.failed.count("leak.txt") == 1);
        CHECK(saved.failed["leak.txt"].find("outside execution environment") != std::string::npos);
        REQUIRE(saved.saved.size() == 1);
        CHECK(slurp(out.path / "alias/f.txt") == "inside\n");
    });
}

TEST_CASE("docker files: upload_files and save_output_files keep the directory structure")
{
    HostDir src("stirrup-docker-upload");
    write(src.path / "single.txt", "one\n");
    write(src.path / "tree/x.txt", "x\n");
    write(src.path / "tree/sub/y.txt", "y\n");
    write(src.path / "tree/sub/deeper/z.txt", "z\n");
    in_both_modes([&](DockerCodeExec& env) -> awaitable<void> {
        auto up = co_await env.upload_files(strings((src.path / "single.txt").string(), (src.path / "tree").string(),
                                                    (src.path / "nope").string()));
        CHECK(up.failed.size() == 1);
        REQUIRE(up.uploaded.size() == 4);
        CHECK(up.uploaded[0].dest_path == "/workspace/single.txt");
        CHECK(up.uploaded[0].size == 4);
        auto r = co_await env.run_command("cat single.txt tree/x.txt tree/sub/y.txt tree/sub/deeper/z.txt");
        CHECK(r.stdout_text == "one\nx\ny\nz\n");

        up = co_await env.upload_files(strings((src.path / "tree").string()), std::string("inputs"));
        CHECK(up.uploaded.size() == 3);
        CHECK(co_await env.read_file("inputs/sub/deeper/z.txt") == "z\n");

        r = co_await env.run_command("mkdir -p left right && echo L > left/report.txt && echo R > right/report.txt && "
                                     "echo top > output.txt");
        REQUIRE(r.exit_code == 0);
        HostDir out("stirrup-docker-save");
        auto saved = co_await env.save_output_files(
            strings("left/report.txt", "/workspace/right/report.txt", "output.txt", "missing.txt", "left"),
            out.path);
        CHECK(saved.saved.size() == 3);
        CHECK(saved.failed.size() == 2);
        CHECK(slurp(out.path / "left/report.txt") == "L\n");
        CHECK(slurp(out.path / "right/report.txt") == "R\n");
        CHECK(slurp(out.path / "output.txt") == "top\n");
        // The sources stay.
        CHECK(co_await env.file_exists("output.txt"));
    });
}

TEST_CASE("docker files: transfers between a Docker and a local environment")
{
    in_both_modes([](DockerCodeExec& env) -> awaitable<void> {
        LocalCodeExec local;
        co_await local.start();
        std::exception_ptr failure;
        try {
            co_await env.run_command("mkdir -p results/deep && echo data > results/deep/d.txt");
            auto saved = co_await env.save_output_files_to(local, strings("results/deep/d.txt"), "received");
            CHECK(saved.failed.empty());
            CHECK(co_await local.read_file("received/results/deep/d.txt") == "data\n");

            co_await local.write_file("dir/in.txt", "from local\n");
            auto up = co_await env.upload_files_from(local, strings("dir"));
            CHECK(up.failed.empty());
            CHECK(co_await env.read_file("dir/in.txt") == "from local\n");
        } catch (...) {
            failure = std::current_exception();
        }
        co_await local.stop();
        if (failure)
            std::rethrow_exception(failure);
    });
}
