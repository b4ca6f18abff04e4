#include "stirrup/exec/docker/detail/tar_archive.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

namespace stirrup::detail::tar {
namespace {

constexpr std::size_t block_size = 512;
// PAX and GNU long-name data is metadata: bound it so a corrupt size cannot
// make the reader buffer gigabytes.
constexpr std::uint64_t max_meta_size = 1024 * 1024;

// ustar header layout (POSIX.1-1988 + the ustar extension).
struct Field {
    std::size_t offset, width;
};
constexpr Field f_name{0, 100}, f_mode{100, 8}, f_uid{108, 8}, f_gid{116, 8}, f_size{124, 12}, f_mtime{136, 12},
    f_chksum{148, 8}, f_typeflag{156, 1}, f_linkname{157, 100}, f_magic{257, 6}, f_version{263, 2}, f_devmajor{329, 8},
    f_devminor{337, 8}, f_prefix{345, 155};

// The largest value an octal field holds: width-1 digits and a NUL.
constexpr std::uint64_t octal_limit(const Field& f)
{
    return (std::uint64_t{1} << (3 * (f.width - 1))) - 1;
}

bool is_ascii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// What Go's archive/tar puts in a ustar field a PAX record overrides.
std::string ascii_only(std::string_view s, std::size_t width)
{
    std::string out;
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x80 && out.size() < width)
            out.push_back(c);
    return out;
}

void put_string(std::string& blk, const Field& f, std::string_view s)
{
    // An empty view may have a null data(), which memcpy must not see.
    if (!s.empty())
        std::memcpy(blk.data() + f.offset, s.data(), std::min(s.size(), f.width));
}

void put_octal(std::string& blk, const Field& f, std::uint64_t v)
{
    // width-1 zero-padded digits, then the NUL already in the block.
    for (std::size_t i = f.width - 1; i-- > 0; v >>= 3)
        blk[f.offset + i] = static_cast<char>('0' + (v & 7));
}

void put_checksum(std::string& blk)
{
    std::memset(blk.data() + f_chksum.offset, ' ', f_chksum.width);
    std::uint32_t sum = 0;
    for (char c : blk)
        sum += static_cast<unsigned char>(c);
    // Six octal digits, NUL, space: what every tar writes.
    for (std::size_t i = 6; i-- > 0; sum >>= 3)
        blk[f_chksum.offset + i] = static_cast<char>('0' + (sum & 7));
    blk[f_chksum.offset + 6] = '\0';
}

std::size_t decimal_digits(std::size_t n)
{
    std::size_t d = 1;
    while (n >= 10) {
        n /= 10;
        ++d;
    }
    return d;
}

// "%d key=value\n", where the length counts its own digits.
std::string pax_record(std::string_view key, std::string_view value)
{
    const std::size_t base = key.size() + value.size() + 3; // ' ', '=', '\n'
    std::size_t n = base + 1;
    while (base + decimal_digits(n) != n)
        n = base + decimal_digits(n);
    return std::to_string(n) + ' ' + std::string(key) + '=' + std::string(value) + '\n';
}

// Go's splitUSTARPath: a path of up to 256 bytes may be stored as
// prefix '/' name when a '/' splits it into at most 155 + 100 bytes.
std::optional<std::pair<std::string_view, std::string_view>> split_ustar(std::string_view path)
{
    std::size_t length = path.size();
    if (length <= f_name.width)
        return std::pair{std::string_view{}, path};
    if (length > f_prefix.width + 1)
        length = f_prefix.width + 1;
    else if (path[length - 1] == '/')
        --length;
    const std::size_t i = path.substr(0, length).rfind('/');
    if (i == std::string_view::npos || i == 0)
        return std::nullopt;
    const std::size_t name_len = path.size() - i - 1;
    if (name_len == 0 || name_len > f_name.width || i > f_prefix.width)
        return std::nullopt;
    return std::pair{path.substr(0, i), path.substr(i + 1)};
}

char typeflag_for(Entry::Type t)
{
    switch (t) {
    case Entry::Type::file:
        return '0';
    case Entry::Type::directory:
        return '5';
    case Entry::Type::symlink:
        return '2';
    case Entry::Type::hardlink:
        return '1';
    case Entry::Type::other:
        break;
    }
    throw TarError("cannot write a tar entry of type 'other'");
}

std::string header_block(std::string_view name, std::string_view prefix, char typeflag, std::uint32_t mode,
                         std::uint32_t uid, std::uint32_t gid, std::uint64_t size, std::uint64_t mtime,
                         std::string_view linkname)
{
    std::string blk(block_size, '\0');
    put_string(blk, f_name, name);
    put_octal(blk, f_mode, mode);
    put_octal(blk, f_uid, uid);
    put_octal(blk, f_gid, gid);
    put_octal(blk, f_size, size);
    put_octal(blk, f_mtime, mtime);
    blk[f_typeflag.offset] = typeflag;
    put_string(blk, f_linkname, linkname);
    put_string(blk, f_magic, std::string_view("ustar\0", 6));
    put_string(blk, f_version, "00");
    put_octal(blk, f_devmajor, 0);
    put_octal(blk, f_devminor, 0);
    put_string(blk, f_prefix, prefix);
    put_checksum(blk);
    return blk;
}

// Go's name for a PAX header: dir/PaxHeaders.0/base.
std::string pax_header_name(std::string_view path)
{
    std::string_view trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/')
        trimmed.remove_suffix(1);
    const auto slash = trimmed.rfind('/');
    std::string name;
    if (slash != std::string_view::npos)
        name.append(trimmed.substr(0, slash + 1));
    name.append("PaxHeaders.0/");
    name.append(slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1));
    return ascii_only(name, f_name.width);
}

} // namespace

std::string header_blocks(const Entry& e, std::uint64_t data_size)
{
    const char typeflag = typeflag_for(e.type);
    if (e.path.empty())
        throw TarError("tar entry with an empty path");
    if (e.path.find('\0') != std::string::npos)
        throw TarError("tar entry path contains a NUL byte");
    if (e.link_target.find('\0') != std::string::npos)
        throw TarError("link target of tar entry '" + e.path + "' contains a NUL byte");
    const bool is_link = e.type == Entry::Type::symlink || e.type == Entry::Type::hardlink;
    if (is_link && e.link_target.empty())
        throw TarError("link entry '" + e.path + "' has no target");
    if (e.type != Entry::Type::file && data_size != 0)
        throw TarError("tar entry '" + e.path + "' is not a regular file but has data");

    std::string path = e.path;
    if (e.type == Entry::Type::directory && path.back() != '/')
        path.push_back('/');

    // Sorted by key, as Go writes them.
    std::vector<std::pair<std::string, std::string>> records;
    const std::optional<std::pair<std::string_view, std::string_view>> split =
        is_ascii(path) ? split_ustar(path) : std::nullopt;
    const bool link_fits = !is_link || (is_ascii(e.link_target) && e.link_target.size() <= f_linkname.width);
    const bool mtime_fits = e.mtime >= 0 && static_cast<std::uint64_t>(e.mtime) <= octal_limit(f_mtime);
    if (e.gid > octal_limit(f_gid))
        records.emplace_back("gid", std::to_string(e.gid));
    if (!link_fits)
        records.emplace_back("linkpath", e.link_target);
    if (!mtime_fits)
        records.emplace_back("mtime", std::to_string(e.mtime));
    if (!split)
        records.emplace_back("path", path);
    if (data_size > octal_limit(f_size))
        records.emplace_back("size", std::to_string(data_size));
    if (e.uid > octal_limit(f_uid))
        records.emplace_back("uid", std::to_string(e.uid));

    std::string out;
    const std::uint64_t mtime = mtime_fits ? static_cast<std::uint64_t>(e.mtime) : 0;
    if (!records.empty()) {
        std::string data;
        for (const auto& [k, v] : records)
            data += pax_record(k, v);
        out = header_block(pax_header_name(path), {}, 'x', 0644, 0, 0, data.size(), mtime, {});
        out += data;
        out += data_padding(data.size());
    }
    // Where a PAX record overrides a field, the field holds what Go writes
    // there: the ASCII bytes, truncated (or 0 for a number).
    const std::string name = split ? std::string(split->second) : ascii_only(path, f_name.width);
    const std::string prefix = split ? std::string(split->first) : std::string{};
    const std::string linkname = link_fits ? e.link_target : ascii_only(e.link_target, f_linkname.width);
    out += header_block(name, prefix, typeflag, e.mode & 07777, e.uid <= octal_limit(f_uid) ? e.uid : 0,
                        e.gid <= octal_limit(f_gid) ? e.gid : 0, data_size <= octal_limit(f_size) ? data_size : 0,
                        mtime, linkname);
    return out;
}

std::string data_padding(std::uint64_t data_size)
{
    return std::string((block_size - data_size % block_size) % block_size, '\0');
}

std::string end_blocks()
{
    return std::string(2 * block_size, '\0');
}

std::string write_archive(const std::vector<Entry>& entries)
{
    std::string out;
    for (const Entry& e : entries) {
        if (e.type != Entry::Type::file && !e.data.empty())
            throw TarError("tar entry '" + e.path + "' is not a regular file but has data");
        if (e.size != 0 && e.size != e.data.size())
            throw TarError("tar entry '" + e.path + "' has size " + std::to_string(e.size) + " but " +
                           std::to_string(e.data.size()) + " bytes of data");
        out += header_blocks(e, e.data.size());
        out += e.data;
        out += data_padding(e.data.size());
    }
    out += end_blocks();
    return out;
}

// ---------------------------------------------------------------------------
// Reading

namespace {

std::string_view field(std::string_view blk, const Field& f)
{
    return blk.substr(f.offset, f.width);
}

// A string field ends at its first NUL.
std::string_view c_string(std::string_view s)
{
    return s.substr(0, s.find('\0'));
}

// Go's parseNumeric: GNU base-256 when the high bit is set (two's complement,
// the top bit of the first byte being the marker), otherwise octal padded
// with spaces or NULs.
std::optional<std::int64_t> parse_numeric(std::string_view f)
{
    if (!f.empty() && (static_cast<unsigned char>(f[0]) & 0x80) != 0) {
        const unsigned char inv = (static_cast<unsigned char>(f[0]) & 0x40) != 0 ? 0xff : 0x00;
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < f.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(f[i]) ^ inv;
            if (i == 0)
                c &= 0x7f;
            if ((x >> 56) != 0)
                return std::nullopt;
            x = (x << 8) | c;
        }
        if ((x >> 63) != 0)
            return std::nullopt;
        return inv != 0 ? ~static_cast<std::int64_t>(x) : static_cast<std::int64_t>(x);
    }
    while (!f.empty() && (f.front() == ' ' || f.front() == '\0'))
        f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\0'))
        f.remove_suffix(1);
    f = c_string(f);
    std::uint64_t x = 0;
    for (char c : f) {
        if (c < '0' || c > '7' || (x >> 60) != 0)
            return std::nullopt;
        x = (x << 3) | static_cast<std::uint64_t>(c - '0');
    }
    if ((x >> 63) != 0)
        return std::nullopt;
    return static_cast<std::int64_t>(x);
}

std::optional<std::uint64_t> parse_decimal(std::string_view s)
{
    std::uint64_t v = 0;
    if (s.empty())
        return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.front() == '+' || s.front() == '-')
        return std::nullopt;
    return v;
}

// PAX mtime: [-]seconds[.fraction]; the fraction is dropped (towards minus
// infinity for negative times, so -1.5 is -2).
std::optional<std::int64_t> parse_pax_time(std::string_view s)
{
    const bool negative = !s.empty() && s.front() == '-';
    if (negative)
        s.remove_prefix(1);
    std::string_view secs = s, frac;
    if (const auto dot = s.find('.'); dot != std::string_view::npos) {
        secs = s.substr(0, dot);
        frac = s.substr(dot + 1);
        if (frac.empty() || frac.find_first_not_of("0123456789") != std::string_view::npos)
            return std::nullopt;
    }
    const auto v = parse_decimal(secs);
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!v || *v > max + (negative ? 1 : 0))
        return std::nullopt;
    if (!negative)
        return static_cast<std::int64_t>(*v);
    const bool has_fraction = frac.find_first_not_of('0') != std::string_view::npos;
    if (*v == max + 1)
        return has_fraction ? std::nullopt : std::optional<std::int64_t>(std::numeric_limits<std::int64_t>::min());
    return -static_cast<std::int64_t>(*v) - (has_fraction ? 1 : 0);
}

bool all_zero(std::string_view blk)
{
    return std::all_of(blk.begin(), blk.end(), [](char c) { return c == '\0'; });
}

bool header_only(char typeflag)
{
    // Go's isHeaderOnlyType: links, devices, directories and FIFOs never carry
    // data, whatever their size field says.
    return typeflag == '1' || typeflag == '2' || typeflag == '3' || typeflag == '4' || typeflag == '5' ||
           typeflag == '6';
}

} // namespace

void ArchiveReader::fail(const std::string& why)
{
    failed_ = true;
    failure_ = "malformed tar archive: " + why + " (header at offset " + std::to_string(block_offset_) + ")";
    throw TarError(failure_);
}

void ArchiveReader::feed(std::string_view bytes, const Sink& sink)
{
    if (failed_)
        throw TarError(failure_);
    while (!bytes.empty() && state_ != State::finished) {
        switch (state_) {
        case State::header: {
            if (block_.empty())
                block_offset_ = offset_;
            const std::size_t n = std::min(bytes.size(), block_size - block_.size());
            block_.append(bytes.substr(0, n));
            bytes.remove_prefix(n);
            offset_ += n;
            if (block_.size() == block_size) {
                header_block(sink);
                block_.clear();
            }
            break;
        }
        case State::data:
        case State::meta: {
            const bool meta = state_ == State::meta;
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), data_left_));
            const std::string_view piece = bytes.substr(0, n);
            bytes.remove_prefix(n);
            offset_ += n;
            data_left_ -= n;
            const bool done = data_left_ == 0;
            if (done)
                state_ = padding_left_ != 0 ? State::padding : State::header;
            if (!meta) {
                sink(current_, piece, done);
            } else {
                meta_.append(piece);
                if (done)
                    apply_meta();
            }
            break;
        }
        case State::padding: {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), padding_left_));
            bytes.remove_prefix(n);
            offset_ += n;
            padding_left_ -= n;
            if (padding_left_ == 0)
                state_ = State::header;
            break;
        }
        case State::finished:
            break;
        }
    }
}

void ArchiveReader::header_block(const Sink& sink)
{
    const std::string_view blk = block_;
    if (all_zero(blk)) {
        if (zero_block_seen_)
            state_ = State::finished;
        zero_block_seen_ = true;
        return;
    }
    if (zero_block_seen_)
        fail("a header follows a single zero block");

    const auto stored = parse_numeric(field(blk, f_chksum));
    if (!stored)
        fail("unreadable header checksum field");
    std::int64_t unsigned_sum = 0, signed_sum = 0;
    for (std::size_t i = 0; i < block_size; ++i) {
        const bool in_chksum = i >= f_chksum.offset && i < f_chksum.offset + f_chksum.width;
        const char c = in_chksum ? ' ' : blk[i];
        unsigned_sum += static_cast<unsigned char>(c);
        signed_sum += static_cast<signed char>(c);
    }
    if (*stored != unsigned_sum && *stored != signed_sum)
        fail("header checksum mismatch (stored " + std::to_string(*stored) + ", computed " +
             std::to_string(unsigned_sum) + ")");

    const std::string_view magic = field(blk, f_magic);
    const bool posix = magic == std::string_view("ustar\0", 6) && field(blk, f_version) == "00";

    const auto number = [&](const Field& f, const char* what) {
        const auto v = parse_numeric(field(blk, f));
        if (!v)
            fail(std::string("bad ") + what + " field");
        return *v;
    };
    const std::int64_t size = number(f_size, "size");
    if (size < 0)
        fail("negative size");
    char typeflag = blk[f_typeflag.offset];

    if (typeflag == 'x' || typeflag == 'g' || typeflag == 'L' || typeflag == 'K') {
        if (static_cast<std::uint64_t>(size) > max_meta_size)
            fail(std::string("a '") + typeflag + "' header of " + std::to_string(size) + " bytes (limit 1 MiB)");
        meta_type_ = typeflag;
        meta_.clear();
        data_left_ = static_cast<std::uint64_t>(size);
        padding_left_ = data_padding(data_left_).size();
        state_ = State::meta;
        if (data_left_ == 0) {
            state_ = State::header;
            apply_meta();
        }
        return;
    }

    Entry e;
    std::string name(c_string(field(blk, f_name)));
    if (posix) {
        const std::string_view prefix = c_string(field(blk, f_prefix));
        if (!prefix.empty())
            name = std::string(prefix) + '/' + name;
    }
    if (typeflag == '\0')
        typeflag = !name.empty() && name.back() == '/' ? '5' : '0'; // pre-POSIX archives
    e.typeflag = typeflag;
    switch (typeflag) {
    case '0':
    case '7':
        e.type = Entry::Type::file;
        break;
    case '1':
        e.type = Entry::Type::hardlink;
        break;
    case '2':
        e.type = Entry::Type::symlink;
        break;
    case '5':
        e.type = Entry::Type::directory;
        break;
    default:
        e.type = Entry::Type::other;
        break;
    }
    const std::int64_t mode = number(f_mode, "mode");
    const std::int64_t uid = number(f_uid, "uid");
    const std::int64_t gid = number(f_gid, "gid");
    if (mode < 0 || uid < 0 || gid < 0 || uid > std::numeric_limits<std::uint32_t>::max() ||
        gid > std::numeric_limits<std::uint32_t>::max())
        fail("mode, uid or gid out of range");
    e.mode = static_cast<std::uint32_t>(mode & 07777);
    e.uid = static_cast<std::uint32_t>(uid);
    e.gid = static_cast<std::uint32_t>(gid);
    e.mtime = number(f_mtime, "mtime");
    e.size = static_cast<std::uint64_t>(size);
    e.path = std::move(name);
    e.link_target = std::string(c_string(field(blk, f_linkname)));
    if (has_gnu_long_name_)
        e.path = std::move(gnu_long_name_);
    if (has_gnu_long_link_)
        e.link_target = std::move(gnu_long_link_);
    has_gnu_long_name_ = has_gnu_long_link_ = false;

    // PAX records: this entry's own over the global ones; an empty value
    // cancels a record (the header's field applies).
    auto records = global_records_;
    for (auto& [k, v] : local_records_)
        records[k] = std::move(v);
    local_records_.clear();
    for (const auto& [k, v] : records) {
        if (v.empty())
            continue;
        if (k == "path") {
            e.path = v;
        } else if (k == "linkpath") {
            e.link_target = v;
        } else if (k == "size") {
            const auto s = parse_decimal(v);
            if (!s || *s > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                fail("bad PAX size '" + v + "'");
            e.size = *s;
        } else if (k == "uid" || k == "gid") {
            const auto id = parse_decimal(v);
            if (!id || *id > std::numeric_limits<std::uint32_t>::max())
                fail("bad PAX " + k + " '" + v + "'");
            (k == "uid" ? e.uid : e.gid) = static_cast<std::uint32_t>(*id);
        } else if (k == "mtime") {
            const auto t = parse_pax_time(v);
            if (!t)
                fail("bad PAX mtime '" + v + "'");
            e.mtime = *t;
        }
    }
    if (header_only(typeflag))
        e.size = 0;

    current_ = std::move(e);
    data_left_ = current_.size;
    padding_left_ = data_padding(data_left_).size();
    if (data_left_ == 0) {
        state_ = State::header;
        sink(current_, {}, true);
    } else {
        state_ = State::data;
    }
}

void ArchiveReader::apply_meta()
{
    const char type = meta_type_;
    meta_type_ = 0;
    std::string data = std::move(meta_);
    meta_.clear();
    if (type == 'L' || type == 'K') {
        std::string value(c_string(data));
        if (type == 'L') {
            gnu_long_name_ = std::move(value);
            has_gnu_long_name_ = true;
        } else {
            gnu_long_link_ = std::move(value);
            has_gnu_long_link_ = true;
        }
        return;
    }
    // PAX: "%d key=value\n" records (Go's parsePAXRecord rules). A second
    // `x` header before an entry replaces the first, as in Go.
    std::map<std::string, std::string> parsed;
    std::string_view s = data;
    while (!s.empty()) {
        const auto sp = s.find(' ');
        if (sp == std::string_view::npos)
            fail("PAX record without a length");
        const auto n = parse_decimal(s.substr(0, sp));
        if (!n || *n < 5 || *n > s.size() || *n <= sp + 1)
            fail("bad PAX record length");
        const std::string_view rec = s.substr(sp + 1, *n - sp - 2);
        if (s[*n - 1] != '\n')
            fail("PAX record does not end with a newline");
        const auto eq = rec.find('=');
        if (eq == std::string_view::npos || eq == 0)
            fail("PAX record without a key");
        const std::string key(rec.substr(0, eq));
        const std::string_view value = rec.substr(eq + 1);
        if ((key == "path" || key == "linkpath") && value.find('\0') != std::string_view::npos)
            fail("NUL byte in a PAX " + key);
        parsed[key] = std::string(value);
        s.remove_prefix(*n);
    }
    if (type == 'g') {
        for (auto& [k, v] : parsed)
            global_records_[k] = std::move(v);
    } else {
        local_records_ = std::move(parsed);
    }
}

std::vector<Entry> read_archive(std::string_view bytes)
{
    std::vector<Entry> entries;
    bool open = false;
    ArchiveReader reader;
    reader.feed(bytes, [&](const Entry& header, std::string_view piece, bool last) {
        if (!open) {
            entries.push_back(header);
            open = true;
        }
        entries.back().data.append(piece);
        if (last)
            open = false;
    });
    if (!reader.finished())
        throw TarError("tar archive ends before its two end-of-archive zero blocks");
    return entries;
}

} // namespace stirrup::detail::tar
