#include "stirrup/exec/detail/host_output_save.hpp"
#include "stirrup/core/detail/errno_code.hpp"

#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wctype.h>

#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "stirrup/core/detail/text.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/file_copy.hpp"

namespace stirrup::detail {
namespace {

namespace fs = std::filesystem;

void make_directories(const fs::path& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw SystemError(ec, "cannot create directory " + dir.string());
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

std::pair<dev_t, ino_t> identity_of(int fd)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return {0, 0};
    return {st.st_dev, st.st_ino};
}

// Whether `inner` is `outer` or lies below it, by walking up from `inner`
// with ".." until the file system's root. Both are trusted paths, so this
// only decides an ordering (see below), never what may be read.
bool lies_within(int inner, int outer)
{
    const auto target = identity_of(outer);
    UniqueFd current{::fcntl(inner, F_DUPFD_CLOEXEC, 0)};
    for (int depth = 0; current && depth < 4096; ++depth) {
        const auto here = identity_of(current.get());
        if (here == target)
            return true;
        UniqueFd up{::openat(current.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC)};
        if (!up || identity_of(up.get()) == here)
            return false; // the root
        current = std::move(up);
    }
    return false;
}

struct PendingCopy {
    std::string source_path;
    std::string relative;
    std::string output_path;
    OpenedEntry source;
    std::uint64_t claimed = 0;
    std::uint64_t allowance = 0;
};

std::uint64_t copy_to_destination(const HostTree& out, PendingCopy& file)
{
    std::error_code ec;
    const auto parent = out.parent_of(file.relative, true, ec);
    if (ec == TreeErrc::escapes || ec == TreeErrc::other_device)
        throw PathError("Output destination escapes output directory: " + file.output_path);
    if (ec)
        throw SystemError(ec, "cannot create the directory of " + file.output_path);
    if (parent.name.empty())
        throw SystemError(std::make_error_code(std::errc::is_a_directory), "cannot replace " + file.output_path);
    std::uint64_t size = 0;
    replace_file_at(
        parent.dir.get(), parent.name, created_file_mode(file.source.st.st_mode),
        [&](int fd) { size = copy_file_contents(file.source.fd.get(), fd, file.allowance, file.source_path); },
        file.output_path);
    return size;
}

} // namespace

void throw_source_error(const std::error_code& ec, const std::string& path)
{
    if (ec == TreeErrc::escapes || ec == TreeErrc::other_device)
        throw PathError("Path is outside execution environment: " + path);
    if (ec == TreeErrc::not_regular)
        throw PathError("Path is not a file");
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory ||
        ec == std::errc::too_many_symbolic_link_levels)
        throw FileNotFoundError("File does not exist");
    throw SystemError(ec, "cannot open " + path);
}

bool probe_case_sensitivity(int dirfd, const fs::path&)
{
    return is_case_sensitive_at(dirfd);
}

bool is_case_sensitive_directory(const fs::path& dir)
{
    make_directories(dir);
    UniqueFd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!fd)
        throw SystemError(last_errno(), "cannot open " + dir.string());
    return is_case_sensitive_at(fd.get());
}

SaveOutputFilesResult save_host_output_files(const std::vector<std::string>& paths, const fs::path& output_dir,
                                             std::span<const OutputSourceRoot> roots, const HostTree& env,
                                             TransferBudget& budget, const CaseSensitivityProbe& is_case_sensitive)
{
    // Spelled as Python's Path would: messages and output_path show "out/x",
    // not "./out//x".
    auto output_root = posix_normalize(output_dir.generic_string());
    if (output_root.empty())
        output_root = ".";
    make_directories(output_root);
    // The output directory is the caller's: opened by name this once, then
    // everything below it through its descriptor.
    const HostTree out(output_root);
    std::error_code canonical_ec;
    const fs::path canonical_out = fs::canonical(output_root, canonical_ec);

    // Every destination is claimed before any is written (as Stirrup's two
    // phases), so a directory made for one file cannot change how the next
    // one's destination resolves. When the two trees overlap, saving a.txt
    // may replace the source of a later request: then every source stays
    // open from the first phase, and its descriptor still reads what was
    // there. Otherwise a source is opened again in the second phase, through
    // the tree as before, so a batch of thousands holds one at a time.
    const bool overlap = lies_within(out.fd(), env.fd()) || lies_within(env.fd(), out.fd());

    SaveOutputFilesResult result;
    std::map<std::string, std::string> claimed; // destination identity -> first source
    std::set<std::string> seen;
    std::vector<PendingCopy> deferred;
    // One probe per directory rather than per output (Stirrup probes every
    // time; the answer cannot change within a batch).
    std::map<std::pair<dev_t, ino_t>, bool> case_policy;

    auto run_copy = [&](PendingCopy& file) {
        try {
            if (!file.source.fd) {
                std::error_code ec;
                file.source = env.open_file(file.relative, ec);
                if (ec)
                    throw_source_error(ec, file.source_path);
            }
            const auto size = copy_to_destination(out, file);
            budget.settle(file.claimed, size);
            result.saved.push_back({file.source_path, file.output_path, size});
        } catch (const std::exception& e) {
            budget.settle(file.claimed, 0);
            result.failed[file.source_path] = e.what();
        }
    };

    for (const auto& source_path : paths) {
        if (!seen.insert(source_path).second)
            continue; // an exact repeat is the same request
        try {
            PendingCopy file;
            file.source_path = source_path;
            // The path inside the root, however the model spelled the root
            // (relative, the environment's absolute path, a host alias of it).
            file.relative = safe_output_relative_path(source_path, roots);
            std::error_code ec;
            file.source = env.open_file(file.relative, ec);
            if (ec)
                throw_source_error(ec, source_path);

            file.output_path = join_posix(output_root, file.relative);
            const auto dest = out.resolve_lenient(file.relative, ec);
            if (ec == TreeErrc::escapes || ec == TreeErrc::other_device)
                throw PathError("Output destination escapes output directory: " + file.output_path);
            if (ec)
                throw SystemError(ec, "cannot resolve " + file.output_path);
            // The case policy is that of the directory the file lands in,
            // which may be another mount than the output root.
            const auto dir_id = identity_of(dest.dir.get());
            auto policy = case_policy.find(dir_id);
            if (policy == case_policy.end())
                policy = case_policy
                             .emplace(dir_id, is_case_sensitive(dest.dir.get(), dest.dir_path.empty()
                                                                                    ? canonical_out
                                                                                    : canonical_out / dest.dir_path))
                             .first;
            const auto identity = (canonical_out / dest.path).string();
            const auto key = policy->second ? identity : casefold(identity);
            if (const auto it = claimed.find(key); it != claimed.end())
                throw PathError("Output destination collision: " + file.output_path + " (already claimed by " +
                                it->second + ")");

            const auto size = static_cast<std::uint64_t>(file.source.st.st_size);
            file.allowance = budget.claim(size);
            file.claimed = size;
            claimed.emplace(key, source_path);
            if (!overlap)
                file.source = OpenedEntry{};
            deferred.push_back(std::move(file));
        } catch (const std::exception& e) {
            result.failed[source_path] = e.what();
        }
    }
    for (auto& file : deferred)
        run_copy(file);
    return result;
}

void atomic_write_file(const fs::path& path, std::string_view data)
{
    const auto dir = path.has_parent_path() ? path.parent_path() : fs::path{"."};
    make_directories(dir);
    UniqueFd dirfd{::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
    if (!dirfd)
        throw SystemError(last_errno(), "cannot open " + dir.string());
    const auto name = path.filename().string();
    struct stat existing {};
    const bool keep_mode =
        ::fstatat(dirfd.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(existing.st_mode);
    replace_file_at(
        dirfd.get(), name, 0644,
        [&](int fd) {
            write_all(fd, data, path.string());
            if (keep_mode && ::fchmod(fd, existing.st_mode & 0777) != 0)
                throw SystemError(last_errno(), "cannot set the mode of " + path.string());
        },
        path.string());
}

} // namespace stirrup::detail
