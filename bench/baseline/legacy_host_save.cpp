// The host save as it was before the security issue (commit 8c1f298),
// kept only as the benchmark's baseline: checked by name, then opened again
// by name following symlinks, snapshotted into TMPDIR, then copied. Do not
// use it for anything else: it is what the symlink-swap race broke.
#include "baseline/legacy_host_save.hpp"

#include "stirrup/core/detail/text.hpp"

#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wctype.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <system_error>
#include <utility>

#include "stirrup/core/error.hpp"

namespace stirrup::legacy {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_system(std::error_code ec, const std::string& what)
{
    throw SystemError(ec, what);
}
[[noreturn]] void throw_errno(const std::string& what)
{
    throw_system(std::error_code(errno, std::system_category()), what);
}

void make_directories(const fs::path& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw_system(ec, "cannot create directory " + dir.string());
}

class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }
    // close() reports deferred write errors (NFS, quota), so check it once.
    void close(const fs::path& path)
    {
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0 && errno != EINTR)
            throw_errno("cannot write " + path.string());
    }

private:
    int fd_;
};

// A temp file that is removed unless it was renamed into place.
struct TempFile {
    fs::path path;
    UniqueFd fd;
    bool committed = false;
    TempFile(fs::path p, int raw_fd) : path(std::move(p)), fd(raw_fd) {}
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile()
    {
        if (!committed)
            ::unlink(path.c_str());
    }
};

std::string random_suffix()
{
    static constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string out(8, ' ');
    for (auto& c : out)
        c = alphabet[pick(rng)];
    return out;
}

// mkstemp with an explicit mode: O_CREAT applies the umask to `mode`, which
// is how a new write_file result gets ordinary permissions.
std::unique_ptr<TempFile> create_temp_file(const fs::path& dir, std::string_view prefix, mode_t mode)
{
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto path = dir / (std::string{prefix} + random_suffix());
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0)
            return std::make_unique<TempFile>(std::move(path), fd);
        if (errno != EEXIST)
            throw_errno("cannot create a temporary file in " + dir.string());
    }
    throw_system(std::make_error_code(std::errc::file_exists), "cannot create a temporary file in " + dir.string());
}

void write_all(int fd, std::string_view data, const fs::path& path)
{
    while (!data.empty()) {
        const auto n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("cannot write " + path.string());
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Copies the rest of an open file into another; returns how many bytes.
std::uint64_t copy_fd(int in_fd, const fs::path& from, int out_fd, const fs::path& to)
{
    char buffer[64 * 1024];
    std::uint64_t total = 0;
    for (;;) {
        const auto n = ::read(in_fd, buffer, sizeof buffer);
        if (n == 0)
            return total;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("cannot read " + from.string());
        }
        write_all(out_fd, {buffer, static_cast<std::size_t>(n)}, to);
        total += static_cast<std::uint64_t>(n);
    }
}

// tempfile.TemporaryDirectory: removed with everything in it.
class TempDir {
public:
    explicit TempDir(std::string_view prefix)
    {
        std::error_code ec;
        const auto base = fs::temp_directory_path(ec);
        if (ec)
            throw_system(ec, "no temporary directory");
        std::string pattern = (base / (std::string{prefix} + "XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw_errno("cannot create a temporary directory in " + base.string());
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir()
    {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Path.resolve(strict=False): absolute, symlinks followed as far as the path exists.
fs::path resolve_path(const fs::path& path)
{
    std::error_code ec;
    auto resolved = fs::weakly_canonical(fs::absolute(path, ec), ec);
    if (ec)
        throw_system(ec, "cannot resolve " + path.string());
    if (!resolved.has_filename() && resolved.has_relative_path())
        resolved = resolved.parent_path();
    return resolved;
}

// PurePath.relative_to as a test: `root` is a component-wise prefix of `path`.
bool is_within(const fs::path& path, const fs::path& root)
{
    auto p = path.begin();
    for (const auto& part : root) {
        if (part.empty())
            continue; // a trailing separator
        if (p == path.end() || *p != part)
            return false;
        ++p;
    }
    return true;
}

// Python's Path joinpath: "." as a base disappears, a root base ends in "/".
std::string join_posix(const std::string& base, const std::string& rel)
{
    if (base.empty() || base == ".")
        return rel;
    return base.back() == '/' ? base + rel : base + '/' + rel;
}

// Decodes one UTF-8 sequence at s[i]; {code point, length}, length 0 if invalid.
std::pair<char32_t, std::size_t> decode_utf8(std::string_view s, std::size_t i)
{
    const auto lead = static_cast<unsigned char>(s[i]);
    const std::size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (len == 0 || lead > 0xF4 || i + len > s.size())
        return {0, 0};
    char32_t cp = lead & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80)
            return {0, 0};
        cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return {0, 0};
    return {cp, len};
}

// Stands in for Python's str.casefold. It lowercases with the C library's
// Unicode tables (a private UTF-8 locale, never the global one), so "Ä" and
// "ä" still collide; full folds such as "ß" -> "ss" are not applied.
// Bytes that are not UTF-8 stay as they are, as Python's surrogate escapes do.
std::string casefold(std::string_view s)
{
    static const locale_t utf8 = [] {
        for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"})
            if (locale_t loc = ::newlocale(LC_CTYPE_MASK, name, locale_t{}))
                return loc;
        return locale_t{};
    }();
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
            ++i;
            continue;
        }
        const auto [cp, len] = decode_utf8(s, i);
        if (len == 0 || utf8 == locale_t{}) {
            out += s[i++];
            continue;
        }
        detail::text::append_utf8(out, static_cast<char32_t>(::towlower_l(static_cast<wint_t>(cp), utf8)));
        i += len;
    }
    return out;
}

// The filesystem-aware identity of a destination, after checking that it
// resolves (symlinks included) inside the output root.
std::string host_destination_identity(const fs::path& destination, const fs::path& output_root,
                                      const CaseSensitivityProbe& is_case_sensitive)
{
    const auto resolved_root = resolve_path(output_root);
    const auto resolved_destination = resolve_path(destination);
    if (!is_within(resolved_destination, resolved_root))
        throw PathError("Output destination escapes output directory: " + destination.string());

    // The case policy is that of the directory the file will land in, which
    // may be a different mount than the output root.
    auto probe_dir = resolved_destination.parent_path();
    std::error_code ec;
    while (probe_dir != resolved_root && !fs::exists(probe_dir, ec) && probe_dir.has_relative_path())
        probe_dir = probe_dir.parent_path();

    auto identity = resolved_destination.string();
    return is_case_sensitive(probe_dir) ? identity : casefold(identity);
}

// Puts a copy of `snapshot` at `destination` without ever exposing a partial
// file: a failed copy leaves the previous destination untouched.
void atomic_copy(const fs::path& snapshot, const fs::path& destination, mode_t mode)
{
    const auto dir = destination.has_parent_path() ? destination.parent_path() : fs::path{"."};
    make_directories(dir);
    // A short temp name still works when the destination name is at NAME_MAX.
    auto temp = create_temp_file(dir, ".stirrup-out-", 0600);
    UniqueFd in{::open(snapshot.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.get() < 0)
        throw_errno("cannot open " + snapshot.string());
    copy_fd(in.get(), snapshot, temp->fd.get(), temp->path);
    if (::fchmod(temp->fd.get(), mode) != 0)
        throw_errno("cannot set the mode of " + temp->path.string());
    temp->fd.close(temp->path);
    if (::rename(temp->path.c_str(), destination.c_str()) != 0)
        throw_errno("cannot replace " + destination.string());
    temp->committed = true;
}

struct CapturedOutputFile {
    std::string source_path;
    std::string output_path;
    fs::path snapshot_path;
    std::uint64_t size = 0;
    mode_t mode = 0;
};

} // namespace

bool is_case_sensitive_directory(const fs::path& dir)
{
    make_directories(dir);
    auto probe = create_temp_file(dir, ".stirrup-Case-Probe-", 0600);
    auto alternate_name = probe->path.filename().string();
    for (auto& c : alternate_name) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    const auto alternate = dir / alternate_name;
    std::error_code ec;
    if (!fs::exists(alternate, ec))
        return true;
    return !fs::equivalent(probe->path, alternate, ec);
}

SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths, const fs::path& output_dir,
                                             std::span<const OutputSourceRoot> roots, const HostSourceResolver& resolve)
{
    return save_host_output_files(paths, output_dir, roots, resolve, is_case_sensitive_directory);
}

SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths, const fs::path& output_dir,
                                             std::span<const OutputSourceRoot> roots, const HostSourceResolver& resolve,
                                             const CaseSensitivityProbe& is_case_sensitive)
{
    // Spelled as Python's Path would: messages and output_path show "out/x",
    // not "./out//x".
    auto output_root = posix_normalize(output_dir.generic_string());
    if (output_root.empty())
        output_root = ".";
    make_directories(output_root);

    SaveOutputFilesResult result;
    std::map<std::string, std::string> claimed; // destination identity -> first source
    std::vector<CapturedOutputFile> captured;
    std::set<std::string> seen;

    // One probe file per directory rather than per output (Stirrup probes
    // every time; the answer cannot change within a batch).
    std::map<fs::path, bool> case_policy;
    const CaseSensitivityProbe probe_once = [&](const fs::path& dir) {
        const auto it = case_policy.find(dir);
        return it != case_policy.end() ? it->second : case_policy.emplace(dir, is_case_sensitive(dir)).first->second;
    };

    // Every source is captured before any destination is written, so an
    // output dir that overlaps the environment cannot change what is copied.
    const TempDir snapshots{"stirrup-output-snapshot-"};
    std::size_t index = 0;
    for (const auto& source_path : paths) {
        if (!seen.insert(source_path).second)
            continue; // an exact repeat is the same request
        const auto snapshot_path = snapshots.path() / std::to_string(index++);
        try {
            const auto relative = safe_output_relative_path(source_path, roots);
            const auto source = resolve(source_path);

            std::error_code ec;
            const auto status = fs::status(source, ec);
            if (status.type() == fs::file_type::not_found || ec == std::errc::too_many_symbolic_link_levels)
                throw FileNotFoundError("File does not exist");
            if (ec)
                throw_system(ec, "cannot stat " + source.string());
            if (status.type() != fs::file_type::regular)
                throw PathError("Path is not a file");

            const auto destination = join_posix(output_root, relative);
            const auto identity = host_destination_identity(destination, output_root, probe_once);
            if (const auto it = claimed.find(identity); it != claimed.end())
                throw PathError("Output destination collision: " + destination + " (already claimed by " + it->second +
                                ")");
            claimed.emplace(identity, source_path);

            // The mode comes from the descriptor that is copied, and a file
            // swapped for a FIFO since the check above cannot block the read.
            UniqueFd in{::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
            if (in.get() < 0)
                throw_errno("cannot open " + source.string());
            struct stat source_stat {};
            if (::fstat(in.get(), &source_stat) != 0)
                throw_errno("cannot stat " + source.string());
            if (!S_ISREG(source_stat.st_mode))
                throw PathError("Path is not a file");
            UniqueFd snapshot{::open(snapshot_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
            if (snapshot.get() < 0)
                throw_errno("cannot create " + snapshot_path.string());
            const auto size = copy_fd(in.get(), source, snapshot.get(), snapshot_path);
            snapshot.close(snapshot_path);
            captured.push_back(
                {source_path, destination, snapshot_path, size, static_cast<mode_t>(source_stat.st_mode & 07777)});
        } catch (const std::exception& e) {
            result.failed[source_path] = e.what();
        }
    }

    for (const auto& file : captured) {
        try {
            atomic_copy(file.snapshot_path, file.output_path, file.mode);
            result.saved.push_back({file.source_path, file.output_path, file.size});
        } catch (const std::exception& e) {
            result.failed[file.source_path] = e.what();
        }
    }
    return result;
}

void atomic_write_file(const fs::path& path, std::string_view data)
{
    const auto dir = path.has_parent_path() ? path.parent_path() : fs::path{"."};
    make_directories(dir);
    struct stat existing {};
    const bool keep_mode = ::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode);

    auto temp = create_temp_file(dir, ".stirrup-out-", 0666);
    write_all(temp->fd.get(), data, temp->path);
    if (keep_mode && ::fchmod(temp->fd.get(), existing.st_mode & 07777) != 0)
        throw_errno("cannot set the mode of " + temp->path.string());
    temp->fd.close(temp->path);
    if (::rename(temp->path.c_str(), path.c_str()) != 0)
        throw_errno("cannot replace " + path.string());
    temp->committed = true;
}

} // namespace stirrup::legacy
