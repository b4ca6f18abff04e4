// Output-path rules (Stirrup tests/test_output_paths.py and the PurePosixPath
// behaviour they rely on). Pure: no root here has a host path, so nothing
// touches the filesystem.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/output_paths.hpp"

using stirrup::output_destination_identity;
using stirrup::OutputSourceRoot;
using stirrup::PathError;
using stirrup::posix_normalize;
using stirrup::safe_output_relative_path;

namespace {

const std::vector<OutputSourceRoot> posix_root{{"/workspace", std::nullopt}};

std::string rel(std::string_view src, const std::vector<OutputSourceRoot>& roots = posix_root)
{
    return safe_output_relative_path(src, roots);
}

} // namespace

TEST_SUITE("output_paths")
{

    TEST_CASE("relative path preserves structure")
    {
        CHECK(rel("nested/dir/report.txt") == "nested/dir/report.txt");
    }

    TEST_CASE("absolute path inside root made relative")
    {
        CHECK(rel("/workspace/out/report.txt") == "out/report.txt");
    }

    TEST_CASE("absolute path outside root rejected")
    {
        CHECK_THROWS_WITH_AS(rel("/etc/passwd"), "Output source path is outside known execution roots: /etc/passwd",
                             PathError);
    }

    TEST_CASE("absolute path with no roots rejected")
    {
        CHECK_THROWS_WITH_AS(rel("/workspace/report.txt", {}),
                             "Output source path is outside known execution roots: /workspace/report.txt", PathError);
    }

    TEST_CASE("traversal rejected")
    {
        CHECK_THROWS_WITH_AS(rel("nested/../report.txt"), "Output source path contains traversal: nested/../report.txt",
                             PathError);
        CHECK_THROWS_WITH_AS(rel("/workspace/../etc/passwd"), doctest::Contains("contains traversal"), PathError);
        CHECK_THROWS_WITH_AS(rel(".."), doctest::Contains("contains traversal"), PathError);
    }

    TEST_CASE("empty path rejected")
    {
        CHECK_THROWS_WITH_AS(rel(""), "Output source path is empty or invalid", PathError);
    }

    TEST_CASE("NUL byte rejected")
    {
        CHECK_THROWS_WITH_AS(rel(std::string("report\0.txt", 11)), "Output source path is empty or invalid", PathError);
    }

    TEST_CASE("dot rejected")
    {
        CHECK_THROWS_WITH_AS(rel("."), "Output source path does not identify a file: .", PathError);
        CHECK_THROWS_WITH_AS(rel("./"), doctest::Contains("does not identify a file"), PathError);
        CHECK_THROWS_WITH_AS(rel("/"), "Output source path does not identify a file: /", PathError);
        CHECK_THROWS_WITH_AS(rel("//"), doctest::Contains("does not identify a file"), PathError);
    }

    TEST_CASE("the root itself cannot be preserved")
    {
        CHECK_THROWS_WITH_AS(rel("/workspace"), "Output source path cannot be safely preserved: /workspace", PathError);
        CHECK_THROWS_WITH_AS(rel("/workspace/."), doctest::Contains("cannot be safely preserved"), PathError);
    }

    TEST_CASE("spellings normalise like PurePosixPath")
    {
        CHECK(rel("./report.txt") == "report.txt");
        CHECK(rel("a//b/./c.txt") == "a/b/c.txt");
        CHECK(rel("dir/") == "dir");                 // Stirrup accepts a trailing slash as the file "dir"
        CHECK(rel("///workspace/x.txt") == "x.txt"); // three or more slashes are "/"
        CHECK(rel("/workspace//out/./r.txt") == "out/r.txt");
    }

    TEST_CASE("a leading // is a different root, as in Python")
    {
        CHECK_THROWS_WITH_AS(rel("//workspace/x.txt"), doctest::Contains("outside known execution roots"), PathError);
        const std::vector<OutputSourceRoot> slashslash{{"//workspace", std::nullopt}};
        CHECK(rel("//workspace/x.txt", slashslash) == "x.txt");
        CHECK_THROWS_WITH_AS(rel("/workspace/x.txt", slashslash), doctest::Contains("outside known execution roots"),
                             PathError);
    }

    TEST_CASE("the first matching root wins")
    {
        const std::vector<OutputSourceRoot> roots{{"/workspace", std::nullopt}, {"/workspace/out", std::nullopt}};
        CHECK(rel("/workspace/out/r.txt", roots) == "out/r.txt");
        const std::vector<OutputSourceRoot> reversed{{"/workspace/out", std::nullopt}, {"/workspace", std::nullopt}};
        CHECK(rel("/workspace/out/r.txt", reversed) == "r.txt");
    }

    TEST_CASE("a relative root never matches an absolute source")
    {
        const std::vector<OutputSourceRoot> roots{{"workspace", std::nullopt}};
        CHECK_THROWS_WITH_AS(rel("/workspace/r.txt", roots), doctest::Contains("outside known execution roots"),
                             PathError);
    }

    TEST_CASE("the / root accepts every absolute file")
    {
        const std::vector<OutputSourceRoot> roots{{"/", std::nullopt}};
        CHECK(rel("/etc/passwd", roots) == "etc/passwd");
    }

    TEST_CASE("posix_normalize")
    {
        CHECK(posix_normalize("") == "");
        CHECK(posix_normalize(".") == ".");
        CHECK(posix_normalize("./") == ".");
        CHECK(posix_normalize("./a") == "a");
        CHECK(posix_normalize("a//b/") == "a/b");
        CHECK(posix_normalize("a/./b/.") == "a/b");
        CHECK(posix_normalize("a/..") == "a/..");
        CHECK(posix_normalize("/") == "/");
        CHECK(posix_normalize("//") == "//");
        CHECK(posix_normalize("///") == "/");
        CHECK(posix_normalize("//a/b") == "//a/b");
        CHECK(posix_normalize("////x") == "/x");
        CHECK(posix_normalize("//./a") == "//a");
        CHECK(posix_normalize("a/.../b") == "a/.../b");
        CHECK(posix_normalize(".a/..a") == ".a/..a");
    }

    TEST_CASE("output destination identity accepts in root")
    {
        CHECK(output_destination_identity("outbox/nested/report.txt", "outbox") == "outbox/nested/report.txt");
        CHECK(output_destination_identity("outbox//nested/./report.txt", "outbox/") == "outbox/nested/report.txt");
        CHECK(output_destination_identity("/srv/out/a", "/srv/out") == "/srv/out/a");
        CHECK(output_destination_identity("a/b", "") == "a/b"); // "" is Python's "." root
    }

    TEST_CASE("output destination identity rejects escape")
    {
        CHECK_THROWS_WITH_AS(output_destination_identity("elsewhere/report.txt", "outbox"),
                             "Output destination escapes output directory: elsewhere/report.txt", PathError);
        CHECK_THROWS_WITH_AS(output_destination_identity("outbox/../x", "outbox"),
                             doctest::Contains("escapes output directory"), PathError);
        CHECK_THROWS_WITH_AS(output_destination_identity("outboxes/x", "outbox"),
                             doctest::Contains("escapes output directory"), PathError);
        CHECK_THROWS_WITH_AS(output_destination_identity("/outbox/x", "outbox"),
                             doctest::Contains("escapes output directory"), PathError);
    }

    // test_transfer_preserves_nested_paths / test_duplicate_destination_rejected_first_claim_holds /
    // test_exact_duplicate_source_is_idempotent: the collision check itself lives in the provider base;
    // these are the path facts it relies on.
    TEST_CASE("nested sources keep distinct destinations")
    {
        const auto left = output_destination_identity("outbox/" + rel("left/report.txt"), "outbox");
        const auto right = output_destination_identity("outbox/" + rel("right/report.txt"), "outbox");
        CHECK(left == "outbox/left/report.txt");
        CHECK(right == "outbox/right/report.txt");
    }

    TEST_CASE("two spellings of one file claim one destination")
    {
        CHECK(rel("report.txt") == rel("./report.txt"));
        CHECK(rel("report.txt") == rel("/workspace/report.txt"));
        CHECK(output_destination_identity("outbox/" + rel("./report.txt"), "outbox") ==
              output_destination_identity("outbox/report.txt", "outbox"));
    }

} // TEST_SUITE

TEST_CASE("posix_join: one slash between, none added to an empty dir")
{
    CHECK(stirrup::posix_join("", "a") == "a");
    CHECK(stirrup::posix_join("d", "a") == "d/a");
    CHECK(stirrup::posix_join("d/", "a") == "d/a");
    CHECK(stirrup::posix_join("/", "a") == "/a");
    CHECK(stirrup::posix_join("d", "") == "d/");
}
