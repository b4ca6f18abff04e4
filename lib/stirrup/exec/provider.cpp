#include "stirrup/exec/provider.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include <boost/asio/this_coro.hpp>

#include "stirrup/core/detail/image_mime.hpp"
#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/file_copy.hpp"
#include "stirrup/exec/detail/host_files.hpp"
#include "stirrup/exec/detail/host_output_save.hpp"
#include "stirrup/exec/detail/upload_plan.hpp"

namespace stirrup {
namespace fs = std::filesystem;

namespace {

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

std::string collision_message(const std::string& dest, const std::string& first)
{
    return "Output destination collision: " + dest + " (already claimed by " + first + ")";
}

} // namespace

CodeExecProvider::CodeExecProvider(CodeExecOptions options)
    : options_(std::move(options)), allowlist_(options_.allowed_commands), budget_(options_.transfer_limits)
{
    if (!options_.on_warning)
        options_.on_warning = [](std::string_view m) { std::clog << "stirrup: warning: " << m << '\n'; };
    if (options_.shell_timeout <= Milliseconds::zero())
        throw ConfigError("shell_timeout must be positive");
}

CodeExecProvider::~CodeExecProvider() = default;

void CodeExecProvider::warn(std::string_view message) const
{
    options_.on_warning(message);
}

void CodeExecProvider::require_started() const
{
    require_running(started_);
}

void CodeExecProvider::require_running(bool running)
{
    if (!running)
        throw NotStartedError(
            "ExecutionEnvironment not started. Ensure current Agent is equipped with a CodeExecToolProvider.");
}

void CodeExecProvider::require_running_for_files(bool running)
{
    if (!running)
        throw NotStartedError("ExecutionEnvironment not started.");
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
    budget_.reset();
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
    if (auto nul = nul_byte_result(cmd))
        co_return std::move(*nul);
    co_return co_await execute(std::get<PreparedCommand>(std::move(prepared)),
                               timeout.value_or(options_.shell_timeout));
}

awaitable<ImageFile> CodeExecProvider::view_image(std::string path)
{
    ImageFile image;
    image.data = co_await read_file(path);
    image.mime_type = std::string(detail::sniff_image_mime(image.data));
    if (!detail::is_supported_image_mime(image.mime_type))
        throw PathError("File is not a supported image (png, jpeg, webp, gif, bmp, tiff, psd): " + path);
    co_return image;
}

awaitable<std::uint64_t> CodeExecProvider::read_file_to(std::string path, FileSink& sink)
{
    std::string data = co_await read_file(std::move(path));
    const std::uint64_t allowed = sink.begin(data.size());
    if (data.size() > allowed)
        throw FileTooLargeError("File is larger than the limit of " + std::to_string(allowed) + " bytes");
    sink.data(data);
    co_return data.size();
}

awaitable<void> CodeExecProvider::upload_host_files(std::span<const detail::UploadItem> items,
                                                    UploadFilesResult& result)
{
    if (const detail::HostFiles* files = host_files()) {
        co_await detail::offload([&] {
            for (const auto& item : items) {
                try {
                    const auto source = item.open();
                    const auto size = files->copy_in(source.fd.get(), source.st, item.dest, item.source);
                    result.uploaded.push_back({item.source, uploaded_dest_path(item.dest), size});
                } catch (const std::exception& e) {
                    result.failed[item.source] = e.what();
                }
            }
        });
        co_return;
    }
    for (const auto& item : items) {
        try {
            std::string data;
            co_await detail::offload([&] { data = detail::read_all(item.open().fd.get(), item.source); });
            const auto size = data.size();
            co_await write_file(item.dest, std::move(data));
            result.uploaded.push_back({item.source, uploaded_dest_path(item.dest), size});
        } catch (const std::exception& e) {
            result.failed[item.source] = e.what();
        }
    }
}

awaitable<UploadFilesResult> CodeExecProvider::upload_files(std::vector<std::string> host_paths,
                                                            std::optional<std::string> dest_dir)
{
    require_started();
    UploadFilesResult result;
    std::vector<detail::UploadItem> plan;
    co_await detail::offload([&] { plan = detail::plan_host_uploads(host_paths, dest_dir, result); });
    co_await upload_host_files(plan, result);
    co_return result;
}

awaitable<std::string> CodeExecProvider::read_for_transfer(const std::string& path)
{
    std::string data = co_await read_file(path);
    // Counted once it is read; read_file has already bounded the one file.
    (void)budget_.claim(data.size());
    co_return data;
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
                    std::string data = co_await source.read_for_transfer(from);
                    const auto size = data.size();
                    const std::string dest = posix_join(root, rel);
                    co_await write_file(dest, std::move(data));
                    result.uploaded.push_back({from, uploaded_dest_path(dest), size});
                }
            } else {
                std::string data = co_await source.read_for_transfer(path);
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
    if (const detail::HostFiles* files = host_files()) {
        co_await detail::offload(
            [&] { result = detail::save_host_output_files(paths, output_dir, roots, files->tree(), budget_); });
        co_return result;
    }
    // Not host-backed: each file streams from the backend into a temp file
    // beside its destination, written through the output directory's
    // descriptor; memory stays bounded whatever the file's size.
    auto output_root = posix_normalize(output_dir.generic_string());
    if (output_root.empty())
        output_root = ".";
    std::shared_ptr<const detail::HostTree> out;
    co_await detail::offload([&] {
        fs::create_directories(output_root);
        out = std::make_shared<const detail::HostTree>(output_root);
    });
    // Named, not temporaries of the co_await: GCC 12 destroys such
    // temporaries twice when the awaited coroutine suspends.
    const DestinationIdentity identity = [this](std::string_view dest, std::string_view root) {
        return output_destination_identity(dest, root);
    };
    const FileTransfer transfer = [this, &out, &output_root](const std::string& source, const std::string& dest) {
        return stream_to_host(*out, output_root, source, dest);
    };
    co_return co_await copy_outputs(std::move(paths), output_root, identity, transfer);
}

awaitable<std::uint64_t> CodeExecProvider::stream_to_host(const detail::HostTree& out, const std::string& output_root,
                                                          std::string source, std::string dest)
{
    // dest is output_root/rel, normalised.
    const std::string rel = output_root == "." ? dest : dest.substr(output_root.size() + 1);
    std::error_code ec;
    const auto parent = out.parent_of(rel, true, ec);
    if (ec == detail::TreeErrc::escapes || ec == detail::TreeErrc::other_device)
        throw PathError("Output destination escapes output directory: " + dest);
    if (ec)
        throw SystemError(ec, "cannot create the directory of " + dest);
    if (parent.name.empty())
        throw SystemError(std::make_error_code(std::errc::is_a_directory), "cannot replace " + dest);
    detail::PendingFile file(parent.dir.get(), parent.name, 0644, dest);
    std::optional<detail::SparseWriter> writer;
    std::uint64_t claimed = 0;
    bool claimed_any = false;
    FileSink sink{[&](std::uint64_t size) {
                      const auto allowed = budget_.claim(size);
                      claimed = size;
                      claimed_any = true;
                      writer.emplace(file.fd(), allowed, dest);
                      return allowed;
                  },
                  [&](std::string_view piece) { writer->write(piece); }};
    std::exception_ptr failure;
    std::uint64_t size = 0;
    try {
        size = co_await read_file_to(source, sink);
        if (!writer)
            throw Error("the backend streamed no file for " + source);
        writer->finish();
        file.commit();
    } catch (...) {
        failure = std::current_exception();
    }
    if (claimed_any)
        budget_.settle(claimed, failure ? 0 : size);
    if (failure)
        std::rethrow_exception(failure);
    co_return size;
}

awaitable<SaveOutputFilesResult> CodeExecProvider::save_output_files_to(CodeExecProvider& dest_env,
                                                                        std::vector<std::string> paths,
                                                                        std::string output_dir)
{
    require_started();
    const DestinationIdentity identity = [&dest_env](std::string_view dest, std::string_view root) {
        return dest_env.output_destination_identity(dest, root);
    };
    const FileTransfer transfer = [this, &dest_env](const std::string& source, const std::string& dest) {
        return transfer_to(dest_env, source, dest);
    };
    co_return co_await copy_outputs(dedupe_in_order(std::move(paths)), std::move(output_dir), identity, transfer);
}

awaitable<std::uint64_t> CodeExecProvider::transfer_to(CodeExecProvider& dest_env, std::string source, std::string dest)
{
    std::string data = co_await read_for_transfer(source);
    const auto size = data.size();
    co_await dest_env.write_file(dest, std::move(data));
    co_return size;
}

awaitable<SaveOutputFilesResult> CodeExecProvider::validate_output_files(std::vector<std::string> paths)
{
    require_started();
    const auto roots = output_source_roots();
    SaveOutputFilesResult result;
    for (const auto& path : dedupe_in_order(std::move(paths))) {
        try {
            std::string relative = safe_output_relative_path(path, roots);
            std::uint64_t size = 0;
            if (const detail::HostFiles* files = host_files()) {
                // Opening proves it is a file inside the environment; the size is the descriptor's.
                size = static_cast<std::uint64_t>(files->open_source(path).st.st_size);
            } else {
                // Reading proves the file exists, is a file, and stays inside the environment.
                size = (co_await read_file(co_await resolve_output_source(path))).size();
            }
            result.saved.push_back({path, std::move(relative), size});
        } catch (const std::exception& e) {
            result.failed[path] = e.what();
        }
    }
    co_return result;
}

awaitable<SaveOutputFilesResult> CodeExecProvider::copy_outputs(std::vector<std::string> paths, std::string output_dir,
                                                                const DestinationIdentity& identity_of,
                                                                const FileTransfer& transfer)
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
            const auto size = co_await transfer(co_await resolve_output_source(path), dest);
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
