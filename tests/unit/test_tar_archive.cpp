// Tar writing checked field by field against the ustar layout (and GNU tar
// for one header), PAX records byte for byte, and the incremental
// reader on ustar, PAX x/g, GNU L/K and base-256 input fed in every split.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "stirrup/exec/docker/detail/tar_archive.hpp"

#include "support/helpers.hpp"

using stirrup::detail::tar::ArchiveReader;
using stirrup::detail::tar::Entry;
using stirrup::detail::tar::read_archive;
using stirrup::detail::tar::TarError;
using stirrup::detail::tar::write_archive;

using stirrup::test::contains;
using stirrup::test::error_of;

namespace {

using namespace std::string_literals;
using Type = Entry::Type;

// A header block built independently of the library: each field written at
// its POSIX offset, then the checksum over the block with the checksum field
// counted as spaces.
struct Raw {
    std::string name;
    std::string mode = "0000644", uid = "0000000", gid = "0000000";
    std::string size = "00000000000", mtime = "00000000000";
    char type = '0';
    std::string linkname;
    std::string magic = "ustar\0"s, version = "00";
    std::string devmajor = "0000000", devminor = "0000000";
    std::string prefix;
    bool signed_sum = false;
    std::string checksum; // written verbatim when set

    std::string block() const
    {
        std::string b(512, '\0');
        const auto put = [&](std::size_t off, const std::string& s) {
            std::memcpy(b.data() + off, s.data(), s.size());
        };
        put(0, name);
        put(100, mode);
        put(108, uid);
        put(116, gid);
        put(124, size);
        put(136, mtime);
        b[156] = type;
        put(157, linkname);
        put(257, magic);
        put(263, version);
        put(329, devmajor);
        put(337, devminor);
        put(345, prefix);
        if (!checksum.empty()) {
            put(148, checksum);
            return b;
        }
        std::memset(b.data() + 148, ' ', 8);
        long sum = 0;
        for (char c : b)
            sum += signed_sum ? static_cast<long>(static_cast<signed char>(c))
                              : static_cast<long>(static_cast<unsigned char>(c));
        char buf[16];
        std::snprintf(buf, sizeof buf, "%06lo", static_cast<unsigned long>(sum) & 0777777);
        put(148, std::string(buf) + '\0' + ' ');
        return b;
    }
};

std::string octal(unsigned long long v, int digits)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", digits, v);
    return buf;
}

std::string pad(std::string data)
{
    data.append((512 - data.size() % 512) % 512, '\0');
    return data;
}

const std::string zero_blocks(1024, '\0');

Entry file(std::string path, std::string data, std::int64_t mtime = 0)
{
    Entry e;
    e.path = std::move(path);
    e.data = std::move(data);
    e.mtime = mtime;
    return e;
}

Entry of_type(Type t, std::string path, std::string target = {})
{
    Entry e;
    e.type = t;
    e.path = std::move(path);
    e.link_target = std::move(target);
    e.mode = t == Type::directory ? 0755 : 0777;
    return e;
}

struct Call {
    std::string path;
    std::string piece;
    bool last;
};

// Reads `archive` whole, byte by byte and split at every point (in 2 pieces,
// and in 3 when it is small); all must give the same entries.
std::vector<Entry> read_every_way(const std::string& archive)
{
    const std::vector<Entry> expected = read_archive(archive);
    const auto same = [&](const std::vector<Entry>& got) {
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            REQUIRE(got[i].path == expected[i].path);
            REQUIRE(got[i].data == expected[i].data);
            REQUIRE(got[i].size == expected[i].size);
            REQUIRE(got[i].link_target == expected[i].link_target);
        }
    };
    const auto collect = [](ArchiveReader& r, std::vector<Entry>& out, std::string_view bytes, bool& open) {
        r.feed(bytes, [&](const Entry& h, std::string_view piece, bool last) {
            if (!open)
                out.push_back(h);
            open = !last;
            out.back().data.append(piece);
        });
    };
    {
        ArchiveReader r;
        std::vector<Entry> got;
        bool open = false;
        for (char c : archive)
            collect(r, got, std::string_view(&c, 1), open);
        CHECK(r.finished());
        same(got);
    }
    for (std::size_t i = 0; i <= archive.size(); ++i) {
        ArchiveReader r;
        std::vector<Entry> got;
        bool open = false;
        collect(r, got, std::string_view(archive).substr(0, i), open);
        collect(r, got, std::string_view(archive).substr(i), open);
        REQUIRE(r.finished());
        same(got);
        if (archive.size() <= 4096 && i % 97 == 0) {
            for (std::size_t j = i; j <= archive.size(); j += 13) {
                ArchiveReader r3;
                std::vector<Entry> got3;
                bool open3 = false;
                collect(r3, got3, std::string_view(archive).substr(0, i), open3);
                collect(r3, got3, std::string_view(archive).substr(i, j - i), open3);
                collect(r3, got3, std::string_view(archive).substr(j), open3);
                REQUIRE(r3.finished());
                same(got3);
            }
        }
    }
    return expected;
}

} // namespace

TEST_CASE("tar write: a regular file is the block GNU tar writes")
{
    const std::string archive = write_archive({file("hello.txt", "hi\n", 1700000000)});
    REQUIRE(archive.size() == 512 + 512 + 1024);
    Raw h;
    h.name = "hello.txt";
    h.size = "00000000003";
    h.mtime = "14524770400";
    const std::string header = archive.substr(0, 512);
    CHECK(header == h.block());
    // The same bytes `tar --format=ustar --numeric-owner --owner=0 --group=0
    // --mtime=@1700000000` (GNU tar 1.34) writes, checksum included.
    CHECK(header.substr(148, 8) == "011104\0 "s);
    CHECK(header.substr(100, 8) == "0000644\0"s);
    CHECK(header.substr(124, 12) == "00000000003\0"s);
    CHECK(header.substr(257, 8) == "ustar\0"
                                   "00"s);
    CHECK(archive.substr(512, 512) == pad("hi\n"));
    CHECK(archive.substr(1024) == zero_blocks);
}

TEST_CASE("tar write: directories, symlinks, hardlinks, owners and modes")
{
    Entry dir = of_type(Type::directory, "proj");
    dir.uid = 1000;
    dir.gid = 1000;
    Entry link = of_type(Type::symlink, "proj/sh", "/bin/busybox");
    Entry hard = of_type(Type::hardlink, "proj/b", "proj/a");
    hard.mode = 04755;
    const std::string archive = write_archive({dir, link, hard});
    REQUIRE(archive.size() == 3 * 512 + 1024);

    Raw d;
    d.name = "proj/"; // a directory gets its trailing slash
    d.type = '5';
    d.mode = "0000755";
    d.uid = d.gid = "0001750";
    CHECK(archive.substr(0, 512) == d.block());

    Raw s;
    s.name = "proj/sh";
    s.type = '2';
    s.mode = "0000777";
    s.linkname = "/bin/busybox";
    CHECK(archive.substr(512, 512) == s.block());

    Raw l;
    l.name = "proj/b";
    l.type = '1';
    l.mode = "0004755";
    l.linkname = "proj/a";
    CHECK(archive.substr(1024, 512) == l.block());
    CHECK(archive.substr(1536) == zero_blocks);

    // A directory that already ends in '/' is kept as it is.
    CHECK(write_archive({of_type(Type::directory, "x/")}).substr(0, 3) == "x/\0"s);
}

TEST_CASE("tar write: data is padded to 512 bytes; empty and exact-size files get no padding")
{
    const std::string archive =
        write_archive({file("empty", ""), file("exact", std::string(512, 'x')), file("over", std::string(513, 'y'))});
    REQUIRE(archive.size() == 512 + (512 + 512) + (512 + 1024) + 1024);
    CHECK(archive.substr(124, 12) == "00000000000\0"s);
    CHECK(archive.substr(512 + 124, 12) == "00000001000\0"s);
    CHECK(archive.substr(1024, 512) == std::string(512, 'x'));
    CHECK(archive.substr(1536 + 124, 12) == "00000001001\0"s);
    CHECK(archive.substr(2048, 513) == std::string(513, 'y'));
    CHECK(archive.substr(2048 + 513, 511) == std::string(511, '\0'));
    CHECK(archive.substr(3072) == zero_blocks);
}

TEST_CASE("tar write: paths up to 256 bytes use ustar's prefix split as Go does")
{
    const std::string dir(120, 'd');
    const std::string name(90, 'n');
    const std::string archive = write_archive({file(dir + "/" + name, "z")});
    REQUIRE(archive.size() == 1024 + 1024); // no PAX header
    Raw h;
    h.name = name;
    h.prefix = dir;
    h.size = "00000000001";
    CHECK(archive.substr(0, 512) == h.block());

    // The split is at the last '/' within the first 156 bytes.
    const std::string a(60, 'a'), b(60, 'b'), c(60, 'c');
    const std::string split = write_archive({file(a + "/" + b + "/" + c, "")});
    CHECK(split.size() == 512 + 1024);
    CHECK(split.substr(345, 121) == a + "/" + b);
    CHECK(split.substr(0, 61) == c + '\0');

    // A name part over 100 bytes cannot be split: PAX.
    const std::string unsplittable = write_archive({file("d/" + std::string(101, 'n'), "")});
    CHECK(unsplittable[156] == 'x');
}

TEST_CASE("tar write: a long path gets a PAX x header with Go's name and a length-prefixed record")
{
    const std::string path = std::string(200, 'p') + "/" + std::string(99, 'q'); // 300 bytes
    const std::string archive = write_archive({file(path, "data")});
    // PAX header, its data block, the ustar header, the data, the end.
    REQUIRE(archive.size() == 512 * 4 + 1024);
    // 307 bytes without the length; with its three digits, 310.
    const std::string record = "310 path=" + path + "\n";
    REQUIRE(record.size() == 310);

    Raw x;
    x.name = (std::string(200, 'p') + "/PaxHeaders.0/" + std::string(99, 'q')).substr(0, 100);
    x.type = 'x';
    x.size = octal(record.size(), 11);
    CHECK(archive.substr(0, 512) == x.block());
    CHECK(archive.substr(512, 512) == pad(record));

    Raw h;
    h.name = path.substr(0, 100); // truncated: the record overrides it
    h.size = "00000000004";
    CHECK(archive.substr(1024, 512) == h.block());

    const auto entries = read_every_way(archive);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].path == path);
    CHECK(entries[0].data == "data");
}

TEST_CASE("tar write: non-ASCII paths and link targets go in PAX records")
{
    const std::string path = "proj/\xc3\xbcn\xc3\xaf"
                             "c\xc3\xb8"
                             "d\xc3\xa9.txt"; // proj/ünïcødé.txt, 20 bytes
    REQUIRE(path.size() == 20);
    const std::string archive = write_archive({file(path, "u")});
    CHECK(archive[156] == 'x');
    CHECK(archive.substr(0, 26) == "proj/PaxHeaders.0/ncd.txt\0"s);
    CHECK(archive.substr(512, 29) == "29 path=" + path + "\n");
    CHECK(archive.substr(1024, 12) == "proj/ncd.txt"); // Go's toASCII: non-ASCII bytes dropped

    // A record whose length crosses from two to three digits: 98 bytes
    // without the length, so 101 with it (two digits would make it 100).
    const std::string target = "\xc3\xa9" + std::string(85, 't');
    const std::string links = write_archive({of_type(Type::symlink, "l", target)});
    const std::string rec = "101 linkpath=" + target + "\n";
    REQUIRE(rec.size() == 101);
    CHECK(links.substr(512, 101) == rec);
    CHECK(links.substr(1024 + 157, 86) == std::string(85, 't') + '\0');

    const auto back = read_every_way(archive.substr(0, archive.size() - 1024) + links);
    REQUIRE(back.size() == 2);
    CHECK(back[0].path == path);
    CHECK(back[0].data == "u");
    CHECK(back[1].type == Type::symlink);
    CHECK(back[1].link_target == target);
}

TEST_CASE("tar write: sizes of 8 GiB and more, negative times and big ids use PAX")
{
    Entry big = file("big", "");
    const std::string fits = stirrup::detail::tar::header_blocks(big, (8ull << 30) - 1);
    REQUIRE(fits.size() == 512);
    CHECK(fits.substr(124, 12) == "77777777777\0"s);

    const std::string pax = stirrup::detail::tar::header_blocks(big, 8ull << 30);
    REQUIRE(pax.size() == 3 * 512);
    CHECK(pax[156] == 'x');
    CHECK(pax.substr(512, 20) == "19 size=8589934592\n\0"s);
    CHECK(pax.substr(1024 + 124, 12) == "00000000000\0"s);

    Entry odd = file("odd", "");
    odd.mtime = -1;
    odd.uid = 2097152; // 8^7: one past the octal field
    odd.gid = 5;
    const std::string h = stirrup::detail::tar::header_blocks(odd, 0);
    REQUIRE(h.size() == 3 * 512);
    CHECK(h.substr(512, 30) == "12 mtime=-1\n"
                               "15 uid=2097152\n\0\0\0"s);
    CHECK(h.substr(1024 + 108, 16) == "0000000\0"
                                      "0000005\0"s);
    CHECK(h.substr(1024 + 136, 12) == "00000000000\0"s);

    const auto back = read_archive(h + stirrup::detail::tar::end_blocks());
    REQUIRE(back.size() == 1);
    CHECK(back[0].mtime == -1);
    CHECK(back[0].uid == 2097152);
    CHECK(back[0].gid == 5);

    // The extremes of a PAX mtime.
    for (const std::int64_t t : {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
        Entry e = file("t", "");
        e.mtime = t;
        CHECK(read_archive(write_archive({e}))[0].mtime == t);
    }

    CHECK(stirrup::detail::tar::data_padding(0).empty());
    CHECK(stirrup::detail::tar::data_padding(1).size() == 511);
    CHECK(stirrup::detail::tar::data_padding(8ull << 30).empty());
}

TEST_CASE("tar write: entries that cannot be written")
{
    CHECK_THROWS_AS(write_archive({file("", "x")}), TarError);
    CHECK_THROWS_AS(write_archive({file("a\0b"s, "x")}), TarError);
    CHECK_THROWS_AS(write_archive({of_type(Type::symlink, "l", "")}), TarError);
    CHECK_THROWS_AS(write_archive({of_type(Type::symlink, "l", "a\0b"s)}), TarError);
    CHECK_THROWS_AS(write_archive({of_type(Type::other, "o")}), TarError);
    Entry dir = of_type(Type::directory, "d");
    dir.data = "x";
    CHECK_THROWS_AS(write_archive({dir}), TarError);
    Entry wrong = file("f", "abc");
    wrong.size = 4;
    CHECK(contains(error_of<TarError>([&] { write_archive({wrong}); }), "size 4 but 3 bytes"));
    wrong.size = 3;
    CHECK_NOTHROW(write_archive({wrong}));
}

TEST_CASE("tar read: a written archive comes back the same, in any split")
{
    Entry dir = of_type(Type::directory, "proj");
    dir.uid = 1000;
    dir.gid = 100;
    dir.mtime = 1764122697;
    const std::vector<Entry> in = {dir,
                                   file("proj/main.py", "print('hi')\n", 1764122697),
                                   file("proj/empty", ""),
                                   file("proj/block", std::string(512, 'b')),
                                   of_type(Type::symlink, "proj/link", "main.py"),
                                   of_type(Type::hardlink, "proj/hard", "proj/main.py"),
                                   file("proj/" + std::string(150, 'L') + "/" + std::string(120, 'f'), "long")};
    const auto out = read_every_way(write_archive(in));
    REQUIRE(out.size() == in.size());
    CHECK(out[0].path == "proj/");
    CHECK(out[0].type == Type::directory);
    CHECK(out[0].typeflag == '5');
    CHECK(out[0].mode == 0755);
    CHECK(out[0].uid == 1000);
    CHECK(out[0].gid == 100);
    CHECK(out[0].mtime == 1764122697);
    for (std::size_t i = 1; i < in.size(); ++i) {
        CAPTURE(i);
        CHECK(out[i].path == in[i].path);
        CHECK(out[i].type == in[i].type);
        CHECK(out[i].data == in[i].data);
        CHECK(out[i].size == in[i].data.size());
        CHECK(out[i].mode == in[i].mode);
        CHECK(out[i].link_target == in[i].link_target);
    }
}

TEST_CASE("tar read: the sink gets data as it arrives, and one call for an empty entry")
{
    const std::string archive = write_archive({file("a", "0123456789"), file("b", ""), file("c", "z")});
    ArchiveReader r;
    std::vector<Call> calls;
    const auto sink = [&](const Entry& h, std::string_view piece, bool last) {
        CHECK(h.data.empty());
        calls.push_back({h.path, std::string(piece), last});
    };
    r.feed(archive.substr(0, 512 + 4), sink);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].path == "a");
    CHECK(calls[0].piece == "0123");
    CHECK_FALSE(calls[0].last);
    r.feed(archive.substr(516, 6), sink);
    REQUIRE(calls.size() == 2);
    CHECK(calls[1].piece == "456789");
    CHECK(calls[1].last);
    CHECK_FALSE(r.finished());
    r.feed(archive.substr(522), sink);
    REQUIRE(calls.size() == 4);
    CHECK(calls[2].path == "b");
    CHECK(calls[2].piece.empty());
    CHECK(calls[2].last);
    CHECK(calls[3].path == "c");
    CHECK(calls[3].piece == "z");
    CHECK(calls[3].last);
    CHECK(r.finished());
    // Bytes after the end (a writer padding to 10240) are ignored.
    r.feed(std::string(8192, '\0') + "junk", sink);
    CHECK(calls.size() == 4);
}

TEST_CASE("tar read: a bad checksum is an error naming the header's offset")
{
    std::string archive = write_archive({file("a", "x"), file("b", "y")});
    std::string data_flip = archive;
    data_flip[512] = 'X'; // data is not checksummed
    CHECK(read_archive(data_flip)[0].data == "X");

    archive[1024 + 3] = 'Z'; // the name of the second header
    const auto what = error_of<TarError>([&] { read_archive(archive); });
    CHECK(contains(what, "checksum mismatch"));
    CHECK(contains(what, "offset 1024"));

    ArchiveReader r;
    CHECK_THROWS_AS(r.feed(archive, [](const Entry&, std::string_view, bool) {}), TarError);
    CHECK_THROWS_AS(r.feed(std::string(1024, '\0'), [](const Entry&, std::string_view, bool) {}), TarError);
    CHECK_FALSE(r.finished());

    Raw garbage;
    garbage.name = "g";
    garbage.checksum = "12x4567"s;
    CHECK(contains(error_of<TarError>([&] { read_archive(garbage.block() + zero_blocks); }), "checksum field"));
}

TEST_CASE("tar read: the historic signed checksum is accepted")
{
    Raw h;
    h.name = "caf\xc3\xa9";
    h.signed_sum = true;
    const auto entries = read_archive(h.block() + zero_blocks);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].path == "caf\xc3\xa9");
}

TEST_CASE("tar read: GNU long names and long link targets")
{
    const std::string long_name = std::string(130, 'n') + "/" + std::string(140, 'm');
    const std::string long_target = std::string(200, 't');
    Raw l;
    l.name = "././@LongLink";
    l.type = 'L';
    l.magic = "ustar  \0"s; // GNU magic spans the version field
    l.version = {};
    l.size = octal(long_name.size() + 1, 11);
    Raw k = l;
    k.type = 'K';
    k.size = octal(long_target.size() + 1, 11);
    Raw entry;
    entry.name = long_name.substr(0, 100);
    entry.type = '2';
    entry.magic = "ustar  \0"s;
    entry.version = {};
    entry.linkname = long_target.substr(0, 100);
    entry.prefix = "ignored in GNU headers";
    Raw next;
    next.name = "short";
    next.size = "00000000002";
    const std::string archive = l.block() + pad(long_name + '\0') + k.block() + pad(long_target + '\0') +
                                entry.block() + next.block() + pad("ok") + zero_blocks;
    const auto entries = read_every_way(archive);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].path == long_name);
    CHECK(entries[0].type == Type::symlink);
    CHECK(entries[0].link_target == long_target);
    CHECK(entries[1].path == "short"); // the long name applied to one entry only
    CHECK(entries[1].data == "ok");
}

TEST_CASE("tar read: PAX records, global ones, and an empty value cancelling one")
{
    const auto pax = [](char type, const std::string& records) {
        Raw x;
        x.name = "PaxHeaders.0/x";
        x.type = type;
        x.size = octal(records.size(), 11);
        return x.block() + pad(records);
    };
    Raw a;
    a.name = "a";
    a.size = "00000000000"; // the PAX size overrides
    a.mtime = "00000000001";
    Raw b;
    b.name = "b";
    b.uid = "0000001";
    const std::string archive = pax('g', "16 mtime=1234.5\n"
                                         "12 uid=4242\n") +
                                pax('x', "16 path=renamed\n"
                                         "10 size=3\n"
                                         "24 mtime=-1700000000.25\n") +
                                a.block() + pad("abc") + pax('x', "7 uid=\n") + b.block() + zero_blocks;
    const auto entries = read_every_way(archive);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].path == "renamed");
    CHECK(entries[0].data == "abc");
    CHECK(entries[0].size == 3);
    CHECK(entries[0].mtime == -1700000001); // fractions round towards minus infinity
    CHECK(entries[0].uid == 4242);          // from the global header
    CHECK(entries[1].path == "b");
    CHECK(entries[1].mtime == 1234);
    CHECK(entries[1].uid == 1); // the empty uid record cancels the global one
}

TEST_CASE("tar read: malformed PAX records are errors")
{
    const auto with = [](const std::string& records) {
        Raw x;
        x.name = "p";
        x.type = 'x';
        x.size = octal(records.size(), 11);
        Raw f;
        f.name = "f";
        return x.block() + pad(records) + f.block() + zero_blocks;
    };
    CHECK_NOTHROW(read_archive(with("9 path=a\n")));
    for (const std::string& bad : {"11 path=a\n"s, "8 path=a\n"s, "9 path=a!"s, "x path=a\n"s, "9 pathax\n"s,
                                   "6 =ab\n"s, "path=a\n"s, "11 size=-1\n"s, "10 size=x\n"s, "18 uid=5000000000\n"s,
                                   "11 mtime=.\n"s, "12 path=a\0b\n"s, "+9 path=a\n"s}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(read_archive(with(bad)), TarError);
    }
    // Metadata is bounded.
    Raw huge;
    huge.name = "p";
    huge.type = 'x';
    huge.size = octal(2 * 1024 * 1024, 11);
    CHECK(contains(error_of<TarError>([&] { read_archive(huge.block()); }), "limit 1 MiB"));
}

TEST_CASE("tar read: numbers in octal with spaces, and in GNU base-256")
{
    Raw old;
    old.name = "old";
    old.mode = "  644 ";
    old.size = "         5 ";
    old.uid = "";
    old.mtime = "0";
    Raw b256;
    b256.name = "b256";
    b256.size = "\x80\0\0\0\0\0\0\0\0\0\0\x03"s;
    b256.mtime = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe"s; // -2
    const auto entries = read_every_way(old.block() + pad("hello") + b256.block() + pad("xyz") + zero_blocks);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].mode == 0644);
    CHECK(entries[0].data == "hello");
    CHECK(entries[0].uid == 0);
    CHECK(entries[1].data == "xyz");
    CHECK(entries[1].mtime == -2);

    Raw bad;
    bad.name = "bad";
    bad.size = "0000000009x";
    CHECK(contains(error_of<TarError>([&] { read_archive(bad.block() + zero_blocks); }), "bad size field"));
    Raw overflow;
    overflow.name = "o";
    overflow.size = "\x80\x01\0\0\0\0\0\0\0\0\0\0"s; // 2^80
    CHECK_THROWS_AS(read_archive(overflow.block() + zero_blocks), TarError);
    Raw negative;
    negative.name = "n";
    negative.size = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"s;
    CHECK(contains(error_of<TarError>([&] { read_archive(negative.block() + zero_blocks); }), "negative size"));
}

TEST_CASE("tar read: header-only types carry no data, other types are reported as such")
{
    Raw link;
    link.name = "l";
    link.type = '2';
    link.linkname = "t";
    link.size = "00000000012"; // ignored: links have no data
    Raw fifo;
    fifo.name = "fifo";
    fifo.type = '6';
    Raw v7;
    v7.name = "olddir/";
    v7.type = '\0';
    v7.magic = "";
    v7.version = "";
    v7.prefix = "not a prefix";
    Raw v7file = v7;
    v7file.name = "oldfile";
    v7file.size = "00000000001";
    const auto entries =
        read_every_way(link.block() + fifo.block() + v7.block() + v7file.block() + pad("1") + zero_blocks);
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].type == Type::symlink);
    CHECK(entries[0].size == 0);
    CHECK(entries[1].type == Type::other);
    CHECK(entries[1].typeflag == '6');
    CHECK(entries[2].type == Type::directory);
    CHECK(entries[2].path == "olddir/");
    CHECK(entries[3].type == Type::file);
    CHECK(entries[3].path == "oldfile");
    CHECK(entries[3].data == "1");
}

TEST_CASE("tar read: paths are returned exactly as stored")
{
    const auto entries =
        read_archive(write_archive({file("../escape", "x"), file("/abs/path", "y"), file("./dot", "")}));
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].path == "../escape");
    CHECK(entries[1].path == "/abs/path");
    CHECK(entries[2].path == "./dot");
}

TEST_CASE("tar read: the end of the archive")
{
    const std::string one = write_archive({file("a", "x")});
    // Truncated anywhere before the second zero block: not finished.
    for (std::size_t n = 0; n < one.size(); n += 100) {
        ArchiveReader r;
        r.feed(one.substr(0, n), [](const Entry&, std::string_view, bool) {});
        CHECK_FALSE(r.finished());
    }
    CHECK(contains(error_of<TarError>([&] { read_archive(one.substr(0, one.size() - 512)); }), "end-of-archive"));
    CHECK_THROWS_AS(read_archive(""), TarError);
    CHECK(read_archive(zero_blocks).empty());

    // A lone zero block followed by a header is malformed.
    const std::string lone = one.substr(0, 1024) + std::string(512, '\0') + one;
    CHECK(contains(error_of<TarError>([&] { read_archive(lone); }), "single zero block"));
}
