#include "stirrup/exec/provider.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include <boost/asio/this_coro.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/core/image_mime.hpp"
#include "stirrup/core/offload.hpp"

namespace stirrup {
namespace fs = std::filesystem;

namespace {

std::string posix_join(std::string_view dir, std::string_view name)
{
    if (dir.empty())
        return std::string(name);
    std::string out(dir);
    if (out.back() != '/')
        out += '/';
    out += name;
    return out;
}

std::string posix_basename(std::string_view path)
{
    while (path.size() > 1 && path.back() == '/')
        path.remove_suffix(1);
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::vector<std::string> dedupe_in_order(std::vector<std::string> paths)
{
    std::set<std::string> seen;
    std::vector<std::string> out;
    for (auto& p : paths)
        if (seen.insert(p).second)
            out.push_back(std::move(p));
    return out;
}

// One host file to upload and where it goes inside the environment.
struct HostUpload {
    std::string source;
    fs::path file;
    std::string dest;
    std::uint64_t size = 0;
};

// Stirrup's host upload layout: a file goes to dest_dir/name; a directory to
// dest_dir/dirname/... or, with an explicit dest_dir, its contents go straight in.
void plan_host_upload(const std::string& path, const std::optional<std::string>& dest_dir,
                      std::vector<HostUpload>& plan, std::map<std::string, std::string>& failed)
{
    std::error_code ec;
    const fs::path resolved = fs::weakly_canonical(fs::absolute(path), ec);
    const std::string key = ec ? path : resolved.string();
    if (ec || !fs::exists(resolved)) {
        failed[key] = "File or directory does not exist";
        return;
    }
    const std::string base = dest_dir.value_or("");
    if (!fs::is_directory(resolved)) {
        plan.push_back({key, resolved, posix_join(base, resolved.filename().string()), fs::file_size(resolved)});
        return;
    }
    const std::string root = dest_dir ? base : posix_join(base, resolved.filename().string());
    std::vector<HostUpload> files;
    for (auto it = fs::recursive_directory_iterator(resolved); it != fs::recursive_directory_iterator(); ++it) {
        if (!it->is_regular_file())
            continue;
        const auto rel = fs::relative(it->path(), resolved).generic_string();
        files.push_back({it->path().string(), it->path(), posix_join(root, rel), it->file_size()});
    }
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.dest < b.dest; });
    std::move(files.begin(), files.end(), std::back_inserter(plan));
}

std::string read_host_file(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw FileNotFoundError("File not found: " + file.string());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string collision_message(const std::string& dest, const std::string& first)
{
    return "Output destination collision: " + dest + " (already claimed by " + first + ")";
}

} // namespace

CodeExecProvider::CodeExecProvider(CodeExecOptions options)
    : options_(std::move(options)), allowlist_(options_.allowed_commands)
{
    if (!options_.on_warning)
        options_.on_warning = [](std::string_view m) { std::clog << "stirrup: warning: " << m << '\n'; };
    if (options_.shell_timeout <= Milliseconds::zero())
        throw ConfigError("shell_timeout must be positive");
}

CodeExecProvider::~CodeExecProvider() = default;

void CodeExecProvider::warn(std::string_view message) const { options_.on_warning(message); }

void CodeExecProvider::require_started() const
{
    if (!started_)
        throw NotStartedError(
            "ExecutionEnvironment not started. Ensure current Agent is equipped with a CodeExecToolProvider.");
}

std::string CodeExecProvider::code_exec_description() const
{
    return "Execute a shell command in the execution environment. Returns exit code, stdout, and stderr as XML.";
}

awaitable<void> CodeExecProvider::start()
{
    if (started_)
        throw Error("execution environment already started");
    executor_ = co_await boost::asio::this_coro::executor;
    std::exception_ptr failure;
    try {
        co_await do_start();
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        // Stirrup leaks what a half-done start created; undo it here, to the
        // end even when the start was cancelled.
        co_await boost::asio::this_coro::reset_cancellation_state();
        try {
            co_await do_stop();
        } catch (const std::exception& e) {
            warn(std::string("cleanup after a failed start: ") + e.what());
        }
        std::rethrow_exception(failure);
    }
    started_ = true;
}

awaitable<void> CodeExecProvider::stop()
{
    if (!started_)
        co_return;
    started_ = false;
    co_await boost::asio::this_coro::reset_cancellation_state();
    try {
        co_await do_stop();
    } catch (const std::exception& e) {
        warn(std::string("stopping execution environment: ") + e.what());
    }
}

awaitable<CommandResult> CodeExecProvider::run_command(std::string cmd, std::optional<Milliseconds> timeout)
{
    require_started();
    auto prepared = allowlist_.prepare(cmd);
    if (auto* rejection = std::get_if<CommandRejection>(&prepared))
        co_return rejected_command_result(cmd, *rejection);
    co_return co_await execute(std::get<PreparedCommand>(std::move(prepared)), timeout.value_or(options_.shell_timeout));
}

awaitable<ImageFile> CodeExecProvider::view_image(std::string path)
{
    ImageFile image;
    image.data = co_await read_file(path);
    image.mime_type = std::string(sniff_image_mime(image.data));
    if (!is_supported_image_mime(image.mime_type))
        throw PathError("File is not a supported image (png, jpeg, webp, gif, bmp, tiff, psd): " + path);
    co_return image;
}

awaitable<void> CodeExecProvider::upload_host_file(fs::path host_file, std::string dest)
{
    std::string data;
    co_await offload([&] { data = read_host_file(host_file); });
    co_await write_file(std::move(dest), std::move(data));
}

awaitable<UploadFilesResult> CodeExecProvider::upload_files(std::vector<std::string> host_paths,
                                                            std::optional<std::string> dest_dir)
{
    require_started();
    UploadFilesResult result;
    std::vector<std::vector<HostUpload>> plans(host_paths.size());
    co_await offload([&] {
        for (std::size_t i = 0; i < host_paths.size(); ++i) {
            try {
                plan_host_upload(host_paths[i], dest_dir, plans[i], result.failed);
            } catch (const std::exception& e) {
                result.failed[host_paths[i]] = e.what();
            }
        }
    });
    for (auto& plan : plans) {
        for (auto& item : plan) {
            try {
                co_await upload_host_file(item.file, item.dest);
                result.uploaded.push_back({item.source, uploaded_dest_path(item.dest), item.size});
            } catch (const std::exception& e) {
                result.failed[item.source] = e.what();
            }
        }
    }
    co_return result;
}

awaitable<UploadFilesResult> CodeExecProvider::upload_files_from(CodeExecProvider& source,
                                                                 std::vector<std::string> paths,
                                                                 std::optional<std::string> dest_dir)
{
    require_started();
    UploadFilesResult result;
    for (const auto& path : paths) {
        try {
            if (co_await source.is_directory(path)) {
                const std::string root = dest_dir ? *dest_dir : posix_basename(path);
                for (const auto& rel : co_await source.list_files(path)) {
                    const std::string from = posix_join(path, rel);
                    std::string data = co_await source.read_file(from);
                    const auto size = data.size();
                    const std::string dest = posix_join(root, rel);
                    co_await write_file(dest, std::move(data));
                    result.uploaded.push_back({from, uploaded_dest_path(dest), size});
                }
            } else {
                std::string data = co_await source.read_file(path);
                const auto size = data.size();
                const std::string dest = posix_join(dest_dir.value_or(""), posix_basename(path));
                co_await write_file(dest, std::move(data));
                result.uploaded.push_back({path, uploaded_dest_path(dest), size});
            }
        } catch (const std::exception& e) {
            result.failed[path] = e.what();
        }
    }
    co_return result;
}

awaitable<SaveOutputFilesResult> CodeExecProvider::save_output_files(std::vector<std::string> paths,
                                                                     fs::path output_dir)
{
    require_started();
    paths = dedupe_in_order(std::move(paths));
    const auto roots = output_source_roots();
    SaveOutputFilesResult result;
    // Declared outside the `if`: GCC 12 destroys a condition variable twice
    // when the branch suspends.
    const auto resolver = host_source_resolver();
    if (resolver) {
        co_await offload([&] { result = save_host_output_files(paths, output_dir, roots, *resolver); });
        co_return result;
    }
    // Not host-backed: read each file through the backend and write it
    // atomically on the host.
    co_await offload([&] { fs::create_directories(output_dir); });
    co_return co_await copy_outputs(
        std::move(paths), output_dir.generic_string(),
        [this](std::string_view dest, std::string_view root) { return output_destination_identity(dest, root); },
        [](const std::string& dest, std::string data) -> awaitable<void> {
            co_await offload([&] { atomic_write_file(dest, data); });
        });
}

awaitable<SaveOutputFilesResult> CodeExecProvider::save_output_files_to(CodeExecProvider& dest_env,
                                                                        std::vector<std::string> paths,
                                                                        std::string output_dir)
{
    require_started();
    co_return co_await copy_outputs(
        dedupe_in_order(std::move(paths)), std::move(output_dir),
        [&dest_env](std::string_view dest, std::string_view root) {
            return dest_env.output_destination_identity(dest, root);
        },
        [&dest_env](const std::string& dest, std::string data) { return dest_env.write_file(dest, std::move(data)); });
}

awaitable<SaveOutputFilesResult> CodeExecProvider::validate_output_files(std::vector<std::string> paths)
{
    require_started();
    const auto roots = output_source_roots();
    SaveOutputFilesResult result;
    for (const auto& path : dedupe_in_order(std::move(paths))) {
        try {
            std::string relative = safe_output_relative_path(path, roots);
            // Reading proves the file exists, is a file, and stays inside the environment.
            const auto size = (co_await read_file(co_await resolve_output_source(path))).size();
            result.saved.push_back({path, std::move(relative), size});
        } catch (const std::exception& e) {
            result.failed[path] = e.what();
        }
    }
    co_return result;
}

awaitable<SaveOutputFilesResult> CodeExecProvider::copy_outputs(std::vector<std::string> paths, std::string output_dir,
                                                                const DestinationIdentity& identity_of,
                                                                const DestinationWriter& write)
{
    const auto roots = output_source_roots();
    SaveOutputFilesResult result;
    std::map<std::string, std::string> claimed; // destination identity -> first source
    for (const auto& path : paths) {
        try {
            // PurePosixPath(output_dir) / rel: "./x" is "x".
            const std::string dest = posix_normalize(posix_join(output_dir, safe_output_relative_path(path, roots)));
            const std::string identity = identity_of(dest, output_dir);
            if (auto it = claimed.find(identity); it != claimed.end())
                throw PathError(collision_message(dest, it->second));
            claimed.emplace(identity, path);
            std::string data = co_await read_file(co_await resolve_output_source(path));
            const auto size = data.size();
            co_await write(dest, std::move(data));
            result.saved.push_back({path, dest, size});
        } catch (const std::exception& e) {
            result.failed[path] = e.what();
        }
    }
    co_return result;
}

std::string CodeExecProvider::output_destination_identity(std::string_view dest, std::string_view root) const
{
    return stirrup::output_destination_identity(dest, root);
}

} // namespace stirrup
