#pragma once
// Tar archives as the Docker engine's archive endpoints speak them: writing
// ustar with PAX extended headers where ustar falls short (PUT
// /containers/{id}/archive), and reading incrementally what GET returns
// (ustar, PAX `x`/`g`, GNU `L`/`K` long names, GNU base-256 numbers).
// No I/O: the caller moves the bytes.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::tar {

struct Entry {
    enum class Type { file, directory, symlink, hardlink, other };
    /// As stored in the archive (read) or to store (write): no checks beyond
    /// well-formedness are made, so a reader must vet it before using it.
    std::string path;
    Type type = Type::file;
    /// A regular file's content (write_archive, read_archive); empty in the
    /// header ArchiveReader hands to its sink, which gets the data in pieces.
    std::string data;
    /// Permission bits (07777).
    std::uint32_t mode = 0644;
    /// Symlink or hardlink target.
    std::string link_target;
    /// Data size in bytes (reading); writing takes data.size().
    std::uint64_t size = 0;
    /// Seconds since the epoch (fractions in PAX mtime records are dropped).
    std::int64_t mtime = 0;
    /// Numeric owner. The engine extracts with the archive's owners, so these
    /// decide who owns uploaded files inside the container.
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    /// The raw typeflag byte ('0', '5', '2', '1', '3'...), for `other` types.
    char typeflag = '0';
};

class TarError : public Error {
public:
    using Error::Error;
};

/// A complete archive: for each entry its header blocks, a regular file's
/// data padded to 512 bytes, then two zero blocks. Throws TarError for an
/// entry that cannot be written (empty path, NUL in a path or target, type
/// `other`, a `size` that contradicts `data`).
std::string write_archive(const std::vector<Entry>& entries);

/// The pieces of write_archive, to stream large files without holding them:
/// header_blocks(e, n) + n bytes of data + data_padding(n) per entry, then
/// end_blocks(). header_blocks writes a PAX `x` header first when the path or
/// link target does not fit ustar (longer than its name/prefix split allows,
/// or not ASCII), or size, mtime, uid or gid exceed ustar's octal fields.
/// Directory paths get a trailing '/'. `e.data` and `e.size` are ignored.
std::string header_blocks(const Entry& e, std::uint64_t data_size);
std::string data_padding(std::uint64_t data_size);
std::string end_blocks();

/// Incremental reader: bytes may be split anywhere. For each entry (PAX and
/// GNU long-name headers are applied, not reported) the sink is called with
/// the header (its `data` empty) and the data in pieces as they arrive; the
/// last call for an entry has last_piece set, and an entry without data gets
/// exactly one call with an empty piece. Header checksums are verified
/// (unsigned or historic signed sums). Reading stops at the two zero blocks
/// that end the archive; bytes after them are ignored.
class ArchiveReader {
public:
    using Sink = std::function<void(const Entry& header, std::string_view data_piece, bool last_piece)>;

    /// Throws TarError on a malformed header (bad checksum, bad number, bad
    /// PAX record, metadata over 1 MiB, data after a lone zero block); the
    /// reader is then unusable. An exception from the sink propagates.
    void feed(std::string_view bytes, const Sink& sink);
    /// True once the end-of-archive blocks have been read; at EOF anything
    /// else means the archive was truncated.
    bool finished() const noexcept { return state_ == State::finished; }

private:
    enum class State { header, data, meta, padding, finished };
    void header_block(const Sink& sink);
    void apply_meta();
    [[noreturn]] void fail(const std::string& why);

    State state_ = State::header;
    std::string block_;
    std::uint64_t offset_ = 0;       // stream offset of the next byte
    std::uint64_t block_offset_ = 0; // stream offset of the current header
    bool zero_block_seen_ = false;
    bool failed_ = false;
    std::string failure_;

    Entry current_;
    std::uint64_t data_left_ = 0;
    std::uint64_t padding_left_ = 0;
    char meta_type_ = 0; // 'x', 'g', 'L' or 'K' while collecting its data
    std::string meta_;
    std::map<std::string, std::string> global_records_;
    std::map<std::string, std::string> local_records_;
    std::string gnu_long_name_;
    std::string gnu_long_link_;
    bool has_gnu_long_name_ = false;
    bool has_gnu_long_link_ = false;
};

/// Reads a whole archive, collecting each entry's data. Throws TarError on
/// malformed input or when the end-of-archive blocks are missing.
std::vector<Entry> read_archive(std::string_view bytes);

} // namespace stirrup::detail::tar
