// The local backend's file primitives: every path is resolved inside the
// temp dir through its descriptor (detail::HostFiles), never by name.

#include "stirrup/exec/local/local.hpp"

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/host_files.hpp"

namespace stirrup {

const detail::HostFiles& LocalCodeExec::files() const
{
    require_running_for_files(static_cast<bool>(files_));
    return *files_;
}

awaitable<std::string> LocalCodeExec::read_file(std::string path)
{
    const auto files = files_;
    require_running_for_files(static_cast<bool>(files));
    std::string data;
    const auto limit = options().transfer_limits.max_file_bytes;
    co_await detail::offload([&] { data = files->read(path, limit); });
    co_return data;
}

awaitable<void> LocalCodeExec::write_file(std::string path, std::string data)
{
    const auto files = files_;
    require_running_for_files(static_cast<bool>(files));
    co_await detail::offload([&] { files->write(path, data); });
}

awaitable<bool> LocalCodeExec::file_exists(std::string path)
{
    co_return files().is_file(path);
}

awaitable<bool> LocalCodeExec::is_directory(std::string path)
{
    co_return files().is_directory(path);
}

awaitable<std::vector<std::string>> LocalCodeExec::list_files(std::string dir)
{
    const auto files = files_;
    require_running_for_files(static_cast<bool>(files));
    std::vector<std::string> out;
    co_await detail::offload([&] { out = files->list(dir); });
    co_return out;
}

std::vector<OutputSourceRoot> LocalCodeExec::output_source_roots() const
{
    if (!temp_dir_)
        return {};
    return {OutputSourceRoot{temp_dir_->generic_string(), *temp_dir_}};
}

const detail::HostFiles* LocalCodeExec::host_files() const
{
    return files_.get();
}

} // namespace stirrup
