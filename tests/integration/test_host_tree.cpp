// detail::HostTree, remove_tree and the copy routines on real directories:
// every rule both through openat2 and through the component walk (the two
// must decide alike), and what a hostile tree tries.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/file_copy.hpp"
#include "stirrup/exec/detail/host_tree.hpp"

#include "support/helpers.hpp"

namespace fs = std::filesystem;
using namespace stirrup;
using namespace stirrup::detail;

using stirrup::test::read_bytes;
using stirrup::test::write_bytes;

namespace {

std::string read_fd(int fd)
{
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    return out;
}

// root/ is the tree, host/ the rest of the host.
struct Dirs {
    fs::path base, root, host;
    Dirs()
    {
        std::string pattern = (fs::temp_directory_path() / "stirrup-tree-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        base = pattern;
        root = base / "root";
        host = base / "host";
        fs::create_directories(root);
        fs::create_directories(host);
        write_bytes(host / "secret.txt", "SECRET");
    }
    ~Dirs()
    {
        std::error_code ec;
        fs::remove_all(base, ec);
    }
    Dirs(const Dirs&) = delete;
    Dirs& operator=(const Dirs&) = delete;
};

struct Walk {
    explicit Walk(bool on) { force_component_walk(on); }
    ~Walk() { force_component_walk(false); }
};

std::error_code open_error(const HostTree& tree, std::string_view rel)
{
    std::error_code ec;
    (void)tree.open(rel, ec);
    return ec;
}

std::string open_read(const HostTree& tree, std::string_view rel)
{
    std::error_code ec;
    auto entry = tree.open_file(rel, ec);
    REQUIRE_MESSAGE(!ec, rel << ": " << ec.message());
    return read_fd(entry.fd.get());
}

} // namespace

TEST_SUITE("host_tree")
{

    TEST_CASE("paths resolve inside the tree, and nothing resolves out of it")
    {
        for (const bool walk : {false, true}) {
            CAPTURE(walk);
            Walk mode(walk);
            Dirs d;
            write_bytes(d.root / "a/b/file.txt", "inside");
            fs::create_symlink("b/file.txt", d.root / "a/rel-link");
            fs::create_symlink("../a/b", d.root / "a/up-and-down");
            fs::create_symlink(d.root / "a/b/file.txt", d.root / "abs-inside");
            fs::create_symlink("/workspace/a/b/file.txt", d.root / "container-abs");
            fs::create_symlink(d.host / "secret.txt", d.root / "abs-out");
            fs::create_symlink("../host/secret.txt", d.root / "rel-out");
            fs::create_symlink("../../../../../../../../etc/passwd", d.root / "a/deep-out");
            fs::create_symlink(d.host, d.root / "dir-out");
            fs::create_symlink("loop2", d.root / "loop1");
            fs::create_symlink("loop1", d.root / "loop2");
            fs::create_symlink("missing", d.root / "dangling");
            const HostTree tree(d.root, {d.root.string(), "/workspace"});

            CHECK(open_read(tree, "a/b/file.txt") == "inside");
            CHECK(open_read(tree, "a/./b//file.txt") == "inside");
            CHECK(open_read(tree, "a/b/../b/file.txt") == "inside");
            CHECK(open_read(tree, "a/rel-link") == "inside");
            CHECK(open_read(tree, "a/up-and-down/file.txt") == "inside");
            CHECK(open_read(tree, "abs-inside") == "inside");
            CHECK(open_read(tree, "container-abs") == "inside");

            CHECK(open_error(tree, "../host/secret.txt") == TreeErrc::escapes);
            CHECK(open_error(tree, "a/../../host/secret.txt") == TreeErrc::escapes);
            CHECK(open_error(tree, "abs-out") == TreeErrc::escapes);
            CHECK(open_error(tree, "rel-out") == TreeErrc::escapes);
            CHECK(open_error(tree, "a/deep-out") == TreeErrc::escapes);
            CHECK(open_error(tree, "dir-out/secret.txt") == TreeErrc::escapes);
            CHECK(open_error(tree, "loop1") == std::errc::too_many_symbolic_link_levels);
            CHECK(open_error(tree, "dangling") == std::errc::no_such_file_or_directory);
            CHECK(open_error(tree, "a/b/file.txt/x") == std::errc::not_a_directory);

            std::error_code ec;
            auto root = tree.open("", ec);
            REQUIRE_FALSE(ec);
            CHECK(S_ISDIR(root.st.st_mode));
            CHECK(tree.relative("/workspace/a") == "a");
            CHECK(tree.relative("/workspace") == "");
            CHECK(tree.relative("a") == "a");
            CHECK_FALSE(tree.relative("/etc/passwd"));
        }
    }

    TEST_CASE("FIFOs and sockets are refused without being opened")
    {
        for (const bool walk : {false, true}) {
            CAPTURE(walk);
            Walk mode(walk);
            Dirs d;
            REQUIRE(::mkfifo((d.root / "fifo").c_str(), 0644) == 0);
            fs::create_symlink("fifo", d.root / "to-fifo");
            const HostTree tree(d.root);
            CHECK(open_error(tree, "fifo") == TreeErrc::not_regular);
            CHECK(open_error(tree, "to-fifo") == TreeErrc::not_regular);
            std::error_code ec;
            fs::create_directories(d.root / "dir");
            (void)tree.open_file("dir", ec);
            CHECK(ec == TreeErrc::not_regular);
        }
    }

    TEST_CASE("another file system inside the tree is not entered")
    {
        Dirs d;
        fs::create_directories(d.root / "mnt");
        if (::mount("stirrup-test", (d.root / "mnt").c_str(), "tmpfs", 0, nullptr) != 0) {
            // Needs CAP_SYS_ADMIN, as the Docker tests do; the test command runs as root.
            FAIL_CHECK("cannot mount a tmpfs here (not root?)");
            return;
        }
        write_bytes(d.root / "mnt/f.txt", "other fs");
        for (const bool walk : {false, true}) {
            CAPTURE(walk);
            Walk mode(walk);
            const HostTree tree(d.root);
            CHECK(open_error(tree, "mnt/f.txt") == TreeErrc::other_device);
            const HostTree lax(d.root, {}, false);
            CHECK(open_read(lax, "mnt/f.txt") == "other fs");
        }
        ::umount2((d.root / "mnt").c_str(), MNT_DETACH);
    }

    TEST_CASE("parent_of creates directories inside, follows links inside, and refuses links out")
    {
        for (const bool walk : {false, true}) {
            CAPTURE(walk);
            Walk mode(walk);
            Dirs d;
            fs::create_directories(d.root / "real");
            fs::create_directory_symlink("real", d.root / "alias");
            fs::create_directory_symlink(d.host, d.root / "out");
            write_bytes(d.root / "target.txt", "t");
            fs::create_symlink("target.txt", d.root / "link.txt");
            const HostTree tree(d.root);

            std::error_code ec;
            auto p = tree.parent_of("new/dirs/f.txt", true, ec);
            REQUIRE_FALSE(ec);
            CHECK(p.name == "f.txt");
            CHECK(p.path == "new/dirs/f.txt");
            CHECK(fs::is_directory(d.root / "new/dirs"));

            p = tree.parent_of("alias/f.txt", true, ec);
            REQUIRE_FALSE(ec);
            CHECK(p.path == "real/f.txt");

            // A final symlink inside is followed, so a write lands on its target.
            p = tree.parent_of("link.txt", false, ec);
            REQUIRE_FALSE(ec);
            CHECK(p.name == "target.txt");

            (void)tree.parent_of("out/planted/f.txt", true, ec);
            CHECK(ec == TreeErrc::escapes);
            CHECK_FALSE(fs::exists(d.host / "planted"));
            (void)tree.parent_of("../f.txt", true, ec);
            CHECK(ec == TreeErrc::escapes);

            p = tree.parent_of("real/..", false, ec);
            CHECK_FALSE(ec);
            CHECK(p.name.empty());

            auto l = tree.resolve_lenient("alias/missing/x/../y.txt", ec);
            REQUIRE_FALSE(ec);
            CHECK(l.path == "real/missing/y.txt");
            CHECK(l.dir_path == "real");
        }
    }

    TEST_CASE("list_files lists symlinked files inside, not those outside, and enters no symlinked directory")
    {
        Dirs d;
        write_bytes(d.root / "a.txt", "a");
        write_bytes(d.root / "sub/b.txt", "b");
        fs::create_symlink("a.txt", d.root / "sub/to-a");
        fs::create_symlink(d.host / "secret.txt", d.root / "to-secret");
        fs::create_directory_symlink("sub", d.root / "sub-alias");
        REQUIRE(::mkfifo((d.root / "fifo").c_str(), 0644) == 0);
        const HostTree tree(d.root);
        CHECK(tree.list_files("") == std::vector<std::string>{"a.txt", "sub/b.txt"});
        CHECK(tree.list_files("sub") == std::vector<std::string>{"b.txt"});
        fs::remove(d.root / "sub/to-a");
        fs::create_symlink("../a.txt", d.root / "sub/to-a");
        CHECK(tree.list_files("sub") == std::vector<std::string>{"b.txt", "to-a"});
        CHECK(tree.list_files("missing").empty());
        CHECK(tree.list_files("a.txt").empty());
    }

    TEST_CASE("remove_tree never follows a symlink, opens up closed directories, and survives depth")
    {
        Dirs d;
        write_bytes(d.root / "x/y.txt", "y");
        fs::create_directory_symlink(d.host, d.root / "x/host-dir");
        fs::create_symlink(d.host / "secret.txt", d.root / "x/host-file");
        fs::create_directories(d.root / "closed/inner");
        write_bytes(d.root / "closed/inner/f", "f");
        REQUIRE(::chmod((d.root / "closed/inner").c_str(), 0) == 0);
        REQUIRE(::chmod((d.root / "closed").c_str(), 0500) == 0);
        REQUIRE(::mkfifo((d.root / "fifo").c_str(), 0644) == 0);
        // Deeper than any descriptor budget: 3,000 levels, made relative to a
        // descriptor since the path is far past PATH_MAX.
        {
            int fd = ::open(d.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            for (int i = 0; i < 3000; ++i) {
                REQUIRE(::mkdirat(fd, "deep", 0755) == 0);
                const int next = ::openat(fd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ::close(fd);
                fd = next;
                REQUIRE(fd >= 0);
            }
            REQUIRE(::close(::openat(fd, "bottom.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == 0);
            ::close(fd);
        }
        std::error_code ec;
        remove_tree(d.root, ec);
        CHECK_FALSE(ec);
        CHECK_FALSE(fs::exists(d.root));
        CHECK(read_bytes(d.host / "secret.txt") == "SECRET");
        remove_tree(d.root, ec); // already gone
        CHECK_FALSE(ec);
    }

    TEST_CASE("copy_file_contents: holes stay holes, and a file past the limit fails")
    {
        Dirs d;
        const int in = ::open((d.root / "in").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(in >= 0);
        REQUIRE(::pwrite(in, "abc", 3, 1 << 20) == 3);
        REQUIRE(::ftruncate(in, 4 << 20) == 0);
        const int out = ::open((d.root / "out").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(out >= 0);
        CHECK(copy_file_contents(in, out, 4 << 20, "in") == (4u << 20));
        struct stat st {};
        REQUIRE(::fstat(out, &st) == 0);
        CHECK(st.st_size == (4 << 20));
        CHECK(st.st_blocks * 512 < (1 << 20));
        char buf[3];
        REQUIRE(::pread(out, buf, 3, 1 << 20) == 3);
        CHECK(std::string(buf, 3) == "abc");

        const int small = ::open((d.root / "small").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        REQUIRE(small >= 0);
        CHECK_THROWS_AS(copy_file_contents(in, small, (1 << 20) + 2, "in"), FileTooLargeError);
        ::close(small);
        ::close(out);
        ::close(in);
    }

    TEST_CASE("SparseWriter leaves zero blocks as holes and bounds the size")
    {
        Dirs d;
        const int fd = ::open((d.root / "f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        SparseWriter w(fd, 3 << 20, "f");
        w.write("x");
        w.write(std::string((2 << 20) - 1, '\0'));
        w.write(std::string(100, 'y'));
        w.write(std::string(4096, '\0'));
        CHECK(w.finish() == (2u << 20) + 100 + 4096);
        struct stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        CHECK(st.st_size == (2 << 20) + 100 + 4096);
        CHECK(st.st_blocks * 512 < (256 << 10));
        char c;
        REQUIRE(::pread(fd, &c, 1, 0) == 1);
        CHECK(c == 'x');
        REQUIRE(::pread(fd, &c, 1, 2 << 20) == 1);
        CHECK(c == 'y');
        CHECK_THROWS_AS(w.write(std::string(1 << 20, 'z')), FileTooLargeError);
        ::close(fd);
    }

    TEST_CASE("PendingFile: committed replaces, abandoned leaves nothing, a planted symlink is replaced")
    {
        Dirs d;
        const int dir = ::open(d.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(dir >= 0);
        fs::create_symlink(d.host / "secret.txt", d.root / "dest");
        {
            PendingFile f(dir, "dest", 0644, "dest");
            write_all(f.fd(), "new", "dest");
            f.commit();
        }
        CHECK_FALSE(fs::is_symlink(d.root / "dest"));
        CHECK(read_bytes(d.root / "dest") == "new");
        CHECK(read_bytes(d.host / "secret.txt") == "SECRET");
        {
            PendingFile f(dir, "other", 0644, "other");
            write_all(f.fd(), "half", "other");
        }
        CHECK_FALSE(fs::exists(d.root / "other"));
        std::vector<std::string> left;
        for (const auto& e : fs::directory_iterator(d.root))
            left.push_back(e.path().filename().string());
        CHECK(left == std::vector<std::string>{"dest"});
        ::close(dir);
    }

} // TEST_SUITE
