// libFuzzer target for the tar reader and writer. The first byte picks:
//  - even: the rest is an archive; reading it whole, in pieces (sizes from
//    the first byte) and byte by byte gives the same entries, pieces' total
//    per entry equals its size, and only TarError escapes;
//  - odd: the rest describes entries (path, type, mode, ids, mtime, data,
//    link target); write_archive either rejects them with TarError for a
//    reason it documents, or read_archive gives every field back.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/exec/docker/detail/tar_archive.hpp"

#include "fuzz_harness.hpp"

namespace {

using stirrup::detail::tar::ArchiveReader;
using stirrup::detail::tar::Entry;
using stirrup::detail::tar::TarError;
using stirrup::fuzz::require;

struct Read {
    std::vector<Entry> entries;
    bool failed = false;
    std::string error;
    bool finished = false;
};

template <class Next>
Read read(std::string_view in, Next&& next_size)
{
    Read r;
    ArchiveReader reader;
    bool open = false;
    std::uint64_t got = 0;
    const ArchiveReader::Sink sink = [&](const Entry& h, std::string_view piece, bool last) {
        require(h.data.empty());
        if (!open) {
            r.entries.push_back(h);
            got = 0;
        } else {
            require(h.path == r.entries.back().path);
            require(!piece.empty());
        }
        got += piece.size();
        require(got <= h.size);
        require(last == (got == h.size));
        r.entries.back().data.append(piece);
        open = !last;
    };
    try {
        stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) { reader.feed(piece, sink); });
    } catch (const TarError& e) {
        r.failed = true;
        r.error = e.what();
    }
    r.finished = reader.finished();
    return r;
}

bool same(const Entry& a, const Entry& b)
{
    return a.path == b.path && a.type == b.type && a.data == b.data && a.mode == b.mode &&
           a.link_target == b.link_target && a.size == b.size && a.mtime == b.mtime && a.uid == b.uid &&
           a.gid == b.gid && a.typeflag == b.typeflag;
}

void check_reader(std::uint8_t seed, std::string_view in)
{
    const auto [whole, pieces, bytes] = stirrup::fuzz::whole_pieces_bytes(
        in, {.seed = seed, .rotate = 5, .mask = 31, .scale = 17}, [&](auto&& next) { return read(in, next); });
    for (const Read* r : {&pieces, &bytes}) {
        require(r->failed == whole.failed && r->error == whole.error && r->finished == whole.finished);
        require(r->entries.size() == whole.entries.size());
        for (std::size_t i = 0; i < whole.entries.size(); ++i)
            require(same(r->entries[i], whole.entries[i]));
    }
    for (const Entry& e : whole.entries)
        require(e.mode <= 07777);
}

// A byte source over the fuzz input.
struct Source {
    std::string_view in;
    std::uint8_t byte()
    {
        if (in.empty())
            return 0;
        const auto b = static_cast<std::uint8_t>(in.front());
        in.remove_prefix(1);
        return b;
    }
    std::uint64_t number(int bytes)
    {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v = (v << 8) | byte();
        return v;
    }
    std::string text(std::size_t max)
    {
        const std::size_t wanted = byte() % (max + 1); // before in.size(): byte() shrinks it
        const std::size_t n = std::min(in.size(), wanted);
        std::string s(in.substr(0, n));
        in.remove_prefix(n);
        return s;
    }
};

void check_round_trip(std::string_view in)
{
    Source src{in};
    std::vector<Entry> entries;
    bool writable = true;
    while (!src.in.empty() && entries.size() < 8) {
        Entry e;
        const std::uint8_t kind = src.byte();
        e.type = static_cast<Entry::Type>(kind % 5);
        // Long paths sometimes: a repeated byte makes a 100..355-byte run.
        e.path = src.text(40);
        if ((kind & 0x80) != 0)
            e.path.append(100 + src.byte(), static_cast<char>('a' + kind % 26));
        e.path += src.text(40);
        e.mode = static_cast<std::uint32_t>(src.number(2)) & 07777;
        e.uid = static_cast<std::uint32_t>(src.number((kind & 0x40) != 0 ? 4 : 1));
        e.gid = static_cast<std::uint32_t>(src.number((kind & 0x20) != 0 ? 4 : 1));
        e.mtime = static_cast<std::int64_t>(src.number((kind & 0x10) != 0 ? 8 : 4));
        if (e.type == Entry::Type::file)
            e.data = src.text(255) + std::string(src.byte() * 7u, 'd');
        if (e.type == Entry::Type::symlink || e.type == Entry::Type::hardlink)
            e.link_target = src.text(60) + std::string((kind & 0x08) != 0 ? 100 : 0, 't');
        const bool is_link = e.type == Entry::Type::symlink || e.type == Entry::Type::hardlink;
        if (e.type == Entry::Type::other || e.path.empty() || e.path.find('\0') != std::string::npos ||
            e.link_target.find('\0') != std::string::npos || (is_link && e.link_target.empty()))
            writable = false;
        entries.push_back(std::move(e));
    }

    std::string archive;
    try {
        archive = stirrup::detail::tar::write_archive(entries);
    } catch (const TarError&) {
        require(!writable);
        return;
    }
    require(writable);
    require(archive.size() % 512 == 0);
    const std::vector<Entry> back = stirrup::detail::tar::read_archive(archive);
    require(back.size() == entries.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
        const Entry& want = entries[i];
        const Entry& got = back[i];
        std::string path = want.path;
        if (want.type == Entry::Type::directory && path.back() != '/')
            path.push_back('/');
        require(got.path == path);
        require(got.type == want.type);
        require(got.data == want.data);
        require(got.size == want.data.size());
        require(got.mode == want.mode);
        require(got.link_target == want.link_target);
        require(got.uid == want.uid && got.gid == want.gid);
        require(got.mtime == want.mtime);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size);
    if (!input)
        return 0;
    if ((input->seed & 1) == 0)
        check_reader(input->seed, input->rest);
    else
        check_round_trip(input->rest);
    return 0;
}
