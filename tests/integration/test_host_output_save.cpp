// save_host_output_files on real directories: Stirrup's save_output_files cases
// from tests/test_local_execution.py, through the environment's HostTree as
// the local backend uses it; then what a hostile environment tries.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/host_output_save.hpp"
#include "stirrup/exec/detail/host_tree.hpp"

#include "support/helpers.hpp"

namespace fs = std::filesystem;
using namespace stirrup;
using stirrup::detail::atomic_write_file;
using stirrup::detail::CaseSensitivityProbe;
using stirrup::detail::HostTree;
using stirrup::detail::is_case_sensitive_directory;
using stirrup::detail::TransferBudget;

using stirrup::test::read_bytes;
using stirrup::test::write_bytes;

namespace {

mode_t mode_of(const fs::path& path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Entries of `dir` whose names start with `prefix` (left-over temp files).
std::vector<std::string> entries_starting_with(const fs::path& dir, std::string_view prefix)
{
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().filename().string().starts_with(prefix))
            found.push_back(entry.path().filename().string());
    return found;
}

// A temp tree: env/ plays the execution environment, out/ the output dir,
// host/ the rest of the host.
struct Sandbox {
    fs::path base, env, out, host;

    Sandbox()
    {
        std::string pattern = (fs::temp_directory_path() / "stirrup-host-save-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        base = pattern;
        env = base / "env";
        out = base / "out";
        host = base / "host";
        fs::create_directories(env);
        fs::create_directories(host);
    }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
    ~Sandbox()
    {
        std::error_code ignored;
        fs::remove_all(base, ignored);
    }

    [[nodiscard]] std::vector<OutputSourceRoot> roots() const { return {{env.string(), env}}; }

    // As LocalCodeExec opens its temp dir.
    [[nodiscard]] HostTree tree() const { return HostTree(env, {env.string(), fs::canonical(env).string()}); }

    SaveOutputFilesResult save(const std::vector<std::string>& paths, TransferLimits limits = {}) const
    {
        TransferBudget budget(limits);
        return save_to(paths, out, budget);
    }

    SaveOutputFilesResult save_to(const std::vector<std::string>& paths, const fs::path& dir,
                                  TransferBudget& budget) const
    {
        return stirrup::detail::save_host_output_files(paths, dir, roots(), tree(), budget);
    }

    SaveOutputFilesResult save_to(const std::vector<std::string>& paths, const fs::path& dir) const
    {
        TransferBudget budget;
        return save_to(paths, dir, budget);
    }

    SaveOutputFilesResult save_probed(const std::vector<std::string>& paths, const CaseSensitivityProbe& probe) const
    {
        TransferBudget budget;
        return stirrup::detail::save_host_output_files(paths, out, roots(), tree(), budget, probe);
    }
};

std::vector<std::string> saved_sources(const SaveOutputFilesResult& result)
{
    std::vector<std::string> sources;
    for (const auto& file : result.saved)
        sources.push_back(file.source_path);
    return sources;
}

// Sets or clears the immutable attribute; false where the filesystem or the
// process's capabilities do not allow it.
bool set_immutable(const fs::path& path, bool on)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int flags = 0;
    bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (ok) {
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        ok = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    ::close(fd);
    return ok;
}

} // namespace

TEST_SUITE("host_output_save")
{

    TEST_CASE("save output files")
    {
        Sandbox box;
        write_bytes(box.env / "output.txt", "test content\n");

        auto result = box.save({"output.txt"});
        REQUIRE(result.saved.size() == 1);
        CHECK(result.failed.empty());
        CHECK(result.saved[0].source_path == "output.txt");
        CHECK(result.saved[0].output_path == (box.out / "output.txt").string());
        CHECK(result.saved[0].size == 13);
        CHECK(read_bytes(box.out / "output.txt") == "test content\n");
        // Saving copies; the environment keeps its file.
        CHECK(read_bytes(box.env / "output.txt") == "test content\n");

        result = box.save({"nonexistent.txt"});
        REQUIRE(result.failed.size() == 1);
        CHECK(result.failed.at("nonexistent.txt") == "File does not exist");
        CHECK(result.saved.empty());
    }

    TEST_CASE("the output dir is created and spelled normalised")
    {
        Sandbox box;
        write_bytes(box.env / "report.txt", "r");
        const auto result = box.save_to({"./report.txt"}, box.out.string() + "//deep/./");
        REQUIRE(result.saved.size() == 1);
        CHECK(result.saved[0].output_path == (box.out / "deep" / "report.txt").string());
        CHECK(read_bytes(box.out / "deep" / "report.txt") == "r");
    }

    TEST_CASE("an empty output dir is the current directory, as Path(\"\") is")
    {
        Sandbox box;
        write_bytes(box.env / "r.txt", "r");
        fs::create_directories(box.out);
        const auto previous = fs::current_path();
        fs::current_path(box.out);
        const auto result = box.save_to({"r.txt"}, "");
        fs::current_path(previous);
        CHECK(result.failed.empty());
        REQUIRE(result.saved.size() == 1);
        CHECK(result.saved[0].output_path == "r.txt");
        CHECK(read_bytes(box.out / "r.txt") == "r");
    }

    TEST_CASE("empty files are saved")
    {
        Sandbox box;
        write_bytes(box.env / "empty", "");
        const auto result = box.save({"empty"});
        REQUIRE(result.saved.size() == 1);
        CHECK(result.saved[0].size == 0);
        CHECK(fs::is_regular_file(box.out / "empty"));
    }

    TEST_CASE("preserves nested paths")
    {
        Sandbox box;
        write_bytes(box.env / "left/report.txt", "left");
        write_bytes(box.env / "right/report.txt", "right");

        const auto result = box.save({"left/report.txt", "right/report.txt"});
        CHECK(result.failed.empty());
        CHECK(read_bytes(box.out / "left/report.txt") == "left");
        CHECK(read_bytes(box.out / "right/report.txt") == "right");
    }

    TEST_CASE("rejects duplicate destinations")
    {
        Sandbox box;
        write_bytes(box.env / "report.txt", "first");
        const auto absolute_spelling = (box.env / "report.txt").string();

        const auto result = box.save({"report.txt", absolute_spelling, "./report.txt"});
        CHECK(saved_sources(result) == std::vector<std::string>{"report.txt"});
        CHECK(result.failed.at(absolute_spelling) ==
              "Output destination collision: " + (box.out / "report.txt").string() +
                  " (already claimed by report.txt)");
        CHECK(result.failed.at("./report.txt").find("collision") != std::string::npos);
        CHECK(read_bytes(box.out / "report.txt") == "first");
    }

    TEST_CASE("treats exact duplicates as idempotent")
    {
        Sandbox box;
        write_bytes(box.env / "report.txt", "data");
        const auto result = box.save({"report.txt", "report.txt"});
        CHECK(result.failed.empty());
        CHECK(saved_sources(result) == std::vector<std::string>{"report.txt"});
    }

    TEST_CASE("uses the nested directory's case policy")
    {
        Sandbox box;
        fs::create_directories(box.out / "nested");
        write_bytes(box.env / "nested/Report.txt", "data");
        write_bytes(box.env / "nested/report.txt", "data");
        write_bytes(box.env / "Top.txt", "T");
        write_bytes(box.env / "top.txt", "t");
        write_bytes(box.env / "nested/\xC3\x84.txt", "upper"); // Ä
        write_bytes(box.env / "nested/\xC3\xA4.txt", "lower"); // ä
        std::vector<fs::path> probed;
        const CaseSensitivityProbe only_nested_folds = [&](int, const fs::path& dir) {
            probed.push_back(dir);
            return dir.filename() != "nested";
        };

        const auto result = box.save_probed({"nested/Report.txt", "nested/report.txt", "Top.txt", "top.txt",
                                             "nested/\xC3\x84.txt", "nested/\xC3\xA4.txt"},
                                            only_nested_folds);

        CHECK(saved_sources(result) ==
              std::vector<std::string>{"nested/Report.txt", "Top.txt", "top.txt", "nested/\xC3\x84.txt"});
        CHECK(result.failed.at("nested/report.txt").find("collision") != std::string::npos);
        CHECK(result.failed.at("nested/\xC3\xA4.txt").find("collision") != std::string::npos);
        CHECK(result.failed.size() == 2);
        // One probe per directory, each the nearest existing one.
        CHECK(probed.size() == 2);
    }

    TEST_CASE("a missing subdirectory takes the policy of its nearest existing parent")
    {
        Sandbox box;
        fs::create_directories(box.out);
        write_bytes(box.env / "new/A.txt", "A");
        write_bytes(box.env / "new/a.txt", "a");
        std::vector<fs::path> probed;
        const auto result = box.save_probed({"new/A.txt", "new/a.txt"}, [&](int, const fs::path& dir) {
            probed.push_back(dir);
            return dir.filename() != "out";
        });
        CHECK(result.failed.size() == 1);
        CHECK(result.failed.at("new/a.txt").find("collision") != std::string::npos);
        REQUIRE(probed.size() == 1);
        CHECK(probed[0] == fs::canonical(box.out));
    }

    TEST_CASE("the real case probe")
    {
        Sandbox box;
        const auto dir = box.host / "made/by/probe";
        CHECK(is_case_sensitive_directory(dir)); // Linux ext4/tmpfs without casefold
        CHECK(fs::is_directory(dir));
        CHECK(entries_starting_with(dir, ".stirrup-Case-Probe-").empty());
    }

    TEST_CASE("bad paths do not abort the batch")
    {
        Sandbox box;
        write_bytes(box.env / "good.txt", "ok");

        const auto result = box.save({"nested/../escape.txt", "/etc/passwd", "good.txt"});
        CHECK(result.failed.at("nested/../escape.txt") ==
              "Output source path contains traversal: nested/../escape.txt");
        CHECK(result.failed.at("/etc/passwd") == "Output source path is outside known execution roots: /etc/passwd");
        CHECK(read_bytes(box.out / "good.txt") == "ok");
        CHECK_FALSE(fs::exists(box.out / "escape.txt"));
    }

    TEST_CASE("rejects symlink escape")
    {
        Sandbox box;
        write_bytes(box.host / "secret.txt", "host secret");
        fs::create_symlink(box.host / "secret.txt", box.env / "leak.txt");

        const auto result = box.save({"leak.txt"});
        REQUIRE(result.failed.size() == 1);
        CHECK(result.failed.at("leak.txt") == "Path is outside execution environment: leak.txt");
        CHECK(result.saved.empty());
        CHECK_FALSE(fs::exists(box.out / "leak.txt"));
    }

    TEST_CASE("a symlink inside the environment is followed")
    {
        Sandbox box;
        write_bytes(box.env / "real.txt", "real");
        fs::create_symlink("real.txt", box.env / "alias.txt");
        const auto result = box.save({"alias.txt"});
        CHECK(result.failed.empty());
        CHECK(read_bytes(box.out / "alias.txt") == "real");
        CHECK_FALSE(fs::is_symlink(box.out / "alias.txt"));
    }

    TEST_CASE("a directory is not a file")
    {
        Sandbox box;
        fs::create_directories(box.env / "dir");
        const auto result = box.save({"dir", "dir/"});
        CHECK(result.failed.at("dir") == "Path is not a file");
        CHECK(result.failed.at("dir/") == "Path is not a file");
    }

    TEST_CASE("a destination that resolves outside the output dir is rejected")
    {
        Sandbox box;
        write_bytes(box.env / "linked/x.txt", "x");
        fs::create_directories(box.out);
        fs::create_directory_symlink(box.host, box.out / "linked");

        const auto result = box.save({"linked/x.txt"});
        CHECK(result.failed.at("linked/x.txt") ==
              "Output destination escapes output directory: " + (box.out / "linked/x.txt").string());
        CHECK_FALSE(fs::exists(box.host / "x.txt"));
    }

    TEST_CASE("a failing replacement keeps the old destination")
    {
        Sandbox box;
        write_bytes(box.env / "report.txt", "new data");

        SUBCASE("destination is a non-empty directory")
        {
            write_bytes(box.out / "report.txt/keep.txt", "old data");
            const auto result = box.save({"report.txt"});
            CHECK(result.saved.empty());
            CHECK(result.failed.at("report.txt").find("cannot replace") != std::string::npos);
            CHECK(read_bytes(box.out / "report.txt/keep.txt") == "old data");
        }
        SUBCASE("destination is immutable")
        {
            write_bytes(box.out / "report.txt", "old data");
            if (!set_immutable(box.out / "report.txt", true)) {
                MESSAGE("immutable attribute unsupported here; skipped");
                return;
            }
            const auto result = box.save({"report.txt"});
            set_immutable(box.out / "report.txt", false);
            CHECK(result.saved.empty());
            CHECK(result.failed.at("report.txt").find("cannot replace") != std::string::npos);
            CHECK(read_bytes(box.out / "report.txt") == "old data");
        }
        // The temp file never outlives a failed copy, and the source stays.
        CHECK(entries_starting_with(box.out, ".stirrup-out-").empty());
        CHECK(read_bytes(box.env / "report.txt") == "new data");
    }

    TEST_CASE("modes are the library's: 0644, or 0755 for executables, less the umask")
    {
        Sandbox box;
        write_bytes(box.env / "run.sh", "#!/bin/sh\n");
        write_bytes(box.env / "private.txt", "p");
        write_bytes(box.env / "shared.txt", "s");
        fs::permissions(box.env / "run.sh", static_cast<fs::perms>(0751));
        fs::permissions(box.env / "private.txt", static_cast<fs::perms>(0600));
        fs::permissions(box.env / "shared.txt", static_cast<fs::perms>(0666));
        // An existing destination's mode does not survive either.
        write_bytes(box.out / "private.txt", "old");
        fs::permissions(box.out / "private.txt", static_cast<fs::perms>(0600));

        const mode_t old_mask = ::umask(027);
        const auto result = box.save({"run.sh", "private.txt", "shared.txt"});
        ::umask(old_mask);
        CHECK(result.failed.empty());
        CHECK(mode_of(box.out / "run.sh") == 0750);
        CHECK(mode_of(box.out / "private.txt") == 0640);
        CHECK(mode_of(box.out / "shared.txt") == 0640);
        CHECK(read_bytes(box.out / "private.txt") == "p");
    }

    TEST_CASE("setuid, setgid, sticky and world-writable bits never reach the host")
    {
        Sandbox box;
        write_bytes(box.env / "suid", "#!/bin/sh\nid\n");
        write_bytes(box.env / "sgid", "x");
        write_bytes(box.env / "sticky", "y");
        REQUIRE(::chmod((box.env / "suid").c_str(), 04755) == 0);
        REQUIRE(::chmod((box.env / "sgid").c_str(), 02777) == 0);
        REQUIRE(::chmod((box.env / "sticky").c_str(), 01666) == 0);

        const mode_t old_mask = ::umask(022);
        const auto result = box.save({"suid", "sgid", "sticky"});
        ::umask(old_mask);
        CHECK(result.failed.empty());
        CHECK(mode_of(box.out / "suid") == 0755);
        CHECK(mode_of(box.out / "sgid") == 0755);
        CHECK(mode_of(box.out / "sticky") == 0644);
    }

    TEST_CASE("sources are captured before any destination is written")
    {
        // The output dir is inside the environment: saving a.txt writes over the
        // source of the second request, which must still be copied as it was.
        Sandbox box;
        write_bytes(box.env / "a.txt", "A");
        write_bytes(box.env / "sub/a.txt", "SUB");

        const auto result = box.save_to({"a.txt", "sub/a.txt"}, box.env / "sub");
        CHECK(result.failed.empty());
        CHECK(read_bytes(box.env / "sub/a.txt") == "A");
        CHECK(read_bytes(box.env / "sub/sub/a.txt") == "SUB");
    }

    TEST_CASE("a file saved onto itself keeps its bytes")
    {
        Sandbox box;
        write_bytes(box.env / "same.txt", "same");
        const auto result = box.save_to({"same.txt"}, box.env);
        CHECK(result.failed.empty());
        CHECK(read_bytes(box.env / "same.txt") == "same");
    }

    TEST_CASE("FIFOs, sockets and devices are not files, and are never opened")
    {
        Sandbox box;
        write_bytes(box.env / "ok.txt", "ok");
        REQUIRE(::mkfifo((box.env / "fifo").c_str(), 0644) == 0);
        // A symlink to the FIFO: following it must not open it either (a
        // blocking open of a FIFO nobody writes would hang the save).
        fs::create_symlink("fifo", box.env / "to-fifo");
        std::vector<std::string> paths{"fifo", "to-fifo", "ok.txt"};
        if (::geteuid() == 0) {
            // A device node made in a container is a host device to the host.
            REQUIRE(::mknod((box.env / "null-dev").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
            paths.push_back("null-dev");
        }
        const auto result = box.save(paths);
        CHECK(result.failed.at("fifo") == "Path is not a file");
        CHECK(result.failed.at("to-fifo") == "Path is not a file");
        if (::geteuid() == 0)
            CHECK(result.failed.at("null-dev") == "Path is not a file");
        CHECK(saved_sources(result) == std::vector<std::string>{"ok.txt"});
    }

    TEST_CASE("absolute spellings through a symlink of a host root")
    {
        // macOS /tmp vs /private/tmp: the root is accepted by canonical identity.
        Sandbox box;
        fs::create_directory_symlink(box.env, box.host / "alias");
        write_bytes(box.env / "sub/r.txt", "r");
        const auto roots = box.roots();

        CHECK(safe_output_relative_path((box.host / "alias/sub/r.txt").string(), roots) == "sub/r.txt");
        CHECK(safe_output_relative_path("/" + (box.env / "sub/r.txt").string(), roots) == "sub/r.txt"); // "//tmp/..."
        CHECK(safe_output_relative_path((box.env / "sub/r.txt").string(), roots) == "sub/r.txt");
        CHECK_THROWS_WITH_AS(safe_output_relative_path((box.host / "alias").string(), roots),
                             doctest::Contains("cannot be safely preserved"), PathError);
        CHECK_THROWS_WITH_AS(safe_output_relative_path((box.host / "other.txt").string(), roots),
                             doctest::Contains("outside known execution roots"), PathError);

        const auto result = box.save({(box.host / "alias/sub/r.txt").string()});
        CHECK(result.failed.empty());
        CHECK(read_bytes(box.out / "sub/r.txt") == "r");
    }

    TEST_CASE("atomic_write_file")
    {
        Sandbox box;
        const auto target = box.host / "a/b/file.txt";
        const mode_t old_mask = ::umask(022);
        atomic_write_file(target, "one");
        ::umask(old_mask);
        CHECK(read_bytes(target) == "one");
        CHECK(mode_of(target) == 0644);

        fs::permissions(target, static_cast<fs::perms>(0750));
        atomic_write_file(target, std::string("two\0bytes", 9));
        CHECK(read_bytes(target) == std::string("two\0bytes", 9));
        CHECK(mode_of(target) == 0750);
        CHECK(entries_starting_with(target.parent_path(), ".stirrup-out-").empty());

        // The parent is a file: nothing to create the temp file in.
        write_bytes(box.host / "plain", "x");
        CHECK_THROWS_AS(atomic_write_file(box.host / "plain/child.txt", "y"), SystemError);
    }

    // ---- a hostile environment -------------------------------------------------

    TEST_CASE("a symlink planted at the destination is never written through")
    {
        Sandbox box;
        write_bytes(box.env / "x.txt", "from env");
        write_bytes(box.env / "y.txt", "from env");
        write_bytes(box.host / "victim", "precious");
        write_bytes(box.out / "inside-target", "old");
        fs::create_symlink(box.host / "victim", box.out / "x.txt");
        fs::create_symlink("inside-target", box.out / "y.txt");
        const auto result = box.save({"x.txt", "y.txt"});
        // Out of the output dir: refused, as Stirrup's resolve() check does.
        CHECK(result.failed.at("x.txt") ==
              "Output destination escapes output directory: " + (box.out / "x.txt").string());
        CHECK(read_bytes(box.host / "victim") == "precious");
        // Inside it: the link is followed, and its target replaced by a new file.
        CHECK(saved_sources(result) == std::vector<std::string>{"y.txt"});
        CHECK(read_bytes(box.out / "inside-target") == "from env");
    }

    TEST_CASE("a sparse 100 GiB file is refused before a byte is copied")
    {
        Sandbox box;
        {
            const int fd = ::open((box.env / "huge").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            REQUIRE(fd >= 0);
            REQUIRE(::ftruncate(fd, off_t{100} << 30) == 0);
            ::close(fd);
        }
        write_bytes(box.env / "small.txt", "s");
        const auto result = box.save({"huge", "small.txt"});
        CHECK(result.failed.at("huge") ==
              "File is too large: 107374182400 bytes (the limit is 1073741824 bytes per file)");
        CHECK(saved_sources(result) == std::vector<std::string>{"small.txt"});
        CHECK_FALSE(fs::exists(box.out / "huge"));
        CHECK(entries_starting_with(box.out, ".stirrup-out-").empty());
    }

    TEST_CASE("a sparse file within the limit is copied sparsely")
    {
        Sandbox box;
        constexpr off_t size = off_t{512} << 20;
        {
            const int fd = ::open((box.env / "sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            REQUIRE(fd >= 0);
            REQUIRE(::pwrite(fd, "head", 4, 0) == 4);
            REQUIRE(::pwrite(fd, "tail", 4, size - 4) == 4);
            ::close(fd);
        }
        const auto result = box.save({"sparse"});
        REQUIRE(result.failed.empty());
        CHECK(result.saved.at(0).size == static_cast<std::uint64_t>(size));
        struct stat st {};
        REQUIRE(::stat((box.out / "sparse").c_str(), &st) == 0);
        CHECK(st.st_size == size);
        CHECK(st.st_blocks * 512 < (off_t{4} << 20)); // holes stayed holes
        std::ifstream in(box.out / "sparse", std::ios::binary);
        std::string head(4, '\0');
        in.read(head.data(), 4);
        CHECK(head == "head");
        in.seekg(size - 4);
        std::string tail(4, '\0');
        in.read(tail.data(), 4);
        CHECK(tail == "tail");
    }

    TEST_CASE("the session limit fails the files past it, and the others are saved")
    {
        Sandbox box;
        for (const char* name : {"a", "b", "c"})
            write_bytes(box.env / name, std::string(100, 'x'));
        write_bytes(box.env / "d", std::string(10, 'y'));
        write_bytes(box.env / "big", std::string(101, 'z'));
        TransferBudget budget(TransferLimits{.max_file_bytes = 100, .max_session_bytes = 250});
        const auto result = box.save_to({"a", "big", "b", "c", "d"}, box.out, budget);
        CHECK(saved_sources(result) == std::vector<std::string>{"a", "b", "d"});
        CHECK(result.failed.at("big") == "File is too large: 101 bytes (the limit is 100 bytes per file)");
        CHECK(result.failed.at("c") ==
              "Session output limit reached: 200 of 250 bytes already saved, and this file has 100");
        CHECK(budget.used() == 210);
        // The session's total carries over to the next save.
        const auto again = box.save_to({"a"}, box.out / "again", budget);
        CHECK(again.failed.at("a").find("Session output limit reached") != std::string::npos);
    }

    // The attack of the security issue: the environment swaps a directory of its
    // own files with a symlink to a host directory while they are saved. Every
    // saved file must be the environment's; a file that resolved through the
    // symlink fails ("outside") instead.
    void swap_race(bool force_walk)
    {
        Sandbox box;
        constexpr int files = 200;
        fs::create_directories(box.env / "d");
        fs::create_directories(box.host / "secret");
        std::vector<std::string> paths;
        for (int i = 0; i < files; ++i) {
            const auto name = "f" + std::to_string(i);
            write_bytes(box.env / "d" / name, "env");
            write_bytes(box.host / "secret" / name, "SECRET");
            paths.push_back("d/" + name);
        }
        fs::create_directory_symlink(box.host / "secret", box.env / "e");
        stirrup::detail::force_component_walk(force_walk);

        std::atomic<bool> stop{false};
        std::atomic<long> swaps{0};
        std::thread attacker([&] {
            const int dir = ::open(box.env.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            while (!stop) {
                if (::renameat2(dir, "d", dir, "e", RENAME_EXCHANGE) == 0)
                    ++swaps;
            }
            ::close(dir);
        });
        int rounds = 0, saved = 0, leaked = 0;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (std::chrono::steady_clock::now() < until || rounds < 3) {
            const auto out = box.out / std::to_string(rounds++);
            const auto result = box.save_to(paths, out);
            for (const auto& file : result.saved) {
                ++saved;
                if (read_bytes(file.output_path) != "env")
                    ++leaked;
            }
            for (const auto& [path, why] : result.failed)
                CHECK_MESSAGE((why == "Path is outside execution environment: " + path || why == "File does not exist"),
                              path << ": " << why);
        }
        stop = true;
        attacker.join();
        stirrup::detail::force_component_walk(false);
        MESSAGE(rounds << " rounds, " << swaps.load() << " swaps, " << saved << " files saved");
        CHECK(swaps.load() > 1000);
        CHECK(saved > 0);
        CHECK(leaked == 0);
    }

    TEST_CASE("a directory swapped for a symlink to the host mid-save never leaks a host file (openat2)")
    {
        swap_race(false);
    }

    TEST_CASE("a directory swapped for a symlink to the host mid-save never leaks a host file (component walk)")
    {
        swap_race(true);
    }

} // TEST_SUITE
