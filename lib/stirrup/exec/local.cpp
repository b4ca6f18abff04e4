#include "stirrup/exec/local.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "stirrup/core/error.hpp"
#include "stirrup/core/offload.hpp"
#include "stirrup/exec/child_process.hpp"
#include "stirrup/core/random_hex.hpp"

extern char** environ;

namespace stirrup {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view marker_name = "STIRRUP_EXEC_ID";

std::vector<std::string> environment_with(const std::string& marker)
{
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        if (kv.substr(0, kv.find('=')) != marker_name)
            env.emplace_back(kv);
    }
    env.push_back(marker);
    return env;
}

// Python prints a timeout as given: 1 -> "1", 0.5 -> "0.5".
std::string seconds_text(Milliseconds t)
{
    if (t.count() % 1000 == 0)
        return std::to_string(t.count() / 1000);
    std::string s = std::to_string(static_cast<double>(t.count()) / 1000.0);
    while (!s.empty() && s.back() == '0')
        s.pop_back();
    return s;
}

CommandResult absolute_path_result()
{
    CommandResult r;
    r.exit_code = 1;
    r.stderr_text =
        "Command appears to use absolute paths which could write outside the execution environment. "
        "Use relative paths instead.";
    r.error_kind = "absolute_path_detected";
    r.advice = "Use relative paths (e.g., './output.txt' instead of '~/output.txt'). "
               "For full filesystem access, use DockerCodeExecToolProvider or E2BCodeExecToolProvider.";
    return r;
}

// What Python's str(OSError) says, as Stirrup puts it in the result.
std::string python_os_error(const SpawnError& e)
{
    return "[Errno " + std::to_string(e.code().value()) + "] " + e.code().message() + ": '" + e.program() + "'";
}

fs::path make_temp_dir(const std::optional<fs::path>& base)
{
    fs::path parent = base ? *base : fs::temp_directory_path();
    fs::create_directories(parent);
    std::string templ = (parent / "local_exec_env_XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw SystemError(std::error_code(errno, std::system_category()), "mkdtemp in " + parent.string());
    return fs::path(templ);
}

// Kills everything the environment started, then removes its directory.
void reclaim(const ProcessMark& mark, const fs::path& dir)
{
    kill_marked_processes(mark);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) {
        // A process killed a moment ago may still have been writing.
        kill_marked_processes(mark);
        ec.clear();
        fs::remove_all(dir, ec);
        if (ec)
            throw SystemError(ec, "removing " + dir.string());
    }
}

} // namespace

bool looks_like_absolute_path(std::string_view text, bool shell_mode) noexcept
{
    for (std::string_view dir : {"/home/", "/Users/", "/tmp/", "/var/", "/etc/"})
        if (text.find(dir) != std::string_view::npos)
            return true;
    if (!shell_mode)
        return false;
    for (std::string_view home : {"~/", "$HOME/", "${HOME}/"})
        if (text.find(home) != std::string_view::npos)
            return true;
    return false;
}

LocalCodeExec::LocalCodeExec(LocalCodeExecOptions options)
    : CodeExecProvider(options), local_options_(std::move(options))
{
    if (!local_options_.command_limiter)
        local_options_.command_limiter = default_command_limiter();
}

AsyncSemaphore LocalCodeExec::default_command_limiter()
{
    static const AsyncSemaphore limiter(default_max_commands);
    return limiter;
}

std::unique_ptr<LocalCodeExec> LocalCodeExec::make(LocalCodeExecOptions options)
{
    return std::make_unique<LocalCodeExec>(std::move(options));
}

LocalCodeExec::~LocalCodeExec()
{
    if (!temp_dir_)
        return;
    warn("LocalCodeExec destroyed while started (stop() was not awaited); reclaiming " + temp_dir_->string());
    offload_detached([mark = current_mark(), dir = *temp_dir_] {
        try {
            reclaim(mark, dir);
        } catch (...) {
        }
    });
}

std::string LocalCodeExec::code_exec_description() const
{
    return local_options_.description.value_or(
        "Execute a shell command in the execution environment. Returns exit code, stdout, and stderr as XML. "
        "Use `uv` to manage packages.");
}

awaitable<void> LocalCodeExec::do_start()
{
    fs::path dir;
    co_await offload([&] { dir = make_temp_dir(local_options_.temp_base_dir); });
    temp_dir_ = dir;
    canonical_root_ = fs::canonical(dir);
    {
        std::lock_guard lock(*mark_mutex_);
        mark_ = ProcessMark{std::string(marker_name) + "=" + random_hex(24), {}};
        child_env_ = environment_with(mark_.env_marker);
    }
}

awaitable<void> LocalCodeExec::do_stop()
{
    if (!temp_dir_)
        co_return;
    const fs::path dir = *temp_dir_;
    temp_dir_.reset();
    const ProcessMark mark = current_mark();
    co_await offload([&] { reclaim(mark, dir); });
}

ProcessMark LocalCodeExec::current_mark() const
{
    std::lock_guard lock(*mark_mutex_);
    return mark_;
}

fs::path LocalCodeExec::resolve_path(const std::string& path) const
{
    if (!temp_dir_)
        throw NotStartedError("ExecutionEnvironment not started.");
    fs::path p(path);
    if (!p.is_absolute())
        p = *temp_dir_ / p;
    std::error_code ec;
    const fs::path resolved = fs::weakly_canonical(p, ec);
    const auto rel = resolved.lexically_relative(canonical_root_);
    if (ec || rel.empty() || *rel.begin() == "..")
        throw PathError("Path is outside execution environment: " + path);
    return p;
}

awaitable<std::string> LocalCodeExec::read_file(std::string path)
{
    const fs::path file = resolve_path(path);
    std::string data;
    co_await offload([&] {
        std::error_code ec;
        if (!fs::exists(file, ec))
            throw FileNotFoundError("File not found: " + path);
        if (fs::is_directory(file, ec))
            throw PathError("Is a directory: " + path);
        std::ifstream in(file, std::ios::binary);
        if (!in)
            throw SystemError(std::error_code(errno, std::system_category()), "reading " + path);
        data.assign(std::istreambuf_iterator<char>(in), {});
    });
    co_return data;
}

awaitable<void> LocalCodeExec::write_file(std::string path, std::string data)
{
    const fs::path file = resolve_path(path);
    co_await offload([&] { atomic_write_file(file, data); });
}

awaitable<bool> LocalCodeExec::file_exists(std::string path)
{
    const fs::path file = resolve_path(path);
    std::error_code ec;
    co_return fs::is_regular_file(file, ec);
}

awaitable<bool> LocalCodeExec::is_directory(std::string path)
{
    const fs::path dir = resolve_path(path);
    std::error_code ec;
    co_return fs::is_directory(dir, ec);
}

awaitable<std::vector<std::string>> LocalCodeExec::list_files(std::string dir)
{
    const fs::path root = resolve_path(dir);
    std::vector<std::string> files;
    co_await offload([&] {
        std::error_code ec;
        if (!fs::is_directory(root, ec))
            return;
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_regular_file())
                files.push_back(fs::relative(it->path(), root).generic_string());
        std::sort(files.begin(), files.end());
    });
    co_return files;
}

std::vector<OutputSourceRoot> LocalCodeExec::output_source_roots() const
{
    if (!temp_dir_)
        return {};
    return {OutputSourceRoot{temp_dir_->generic_string(), *temp_dir_}};
}

std::optional<HostSourceResolver> LocalCodeExec::host_source_resolver() const
{
    return HostSourceResolver([this](const std::string& path) { return resolve_path(path); });
}

awaitable<void> LocalCodeExec::upload_host_file(fs::path host_file, std::string dest)
{
    const fs::path target = resolve_path(dest);
    co_await offload([&] {
        fs::create_directories(target.parent_path());
        fs::copy_file(host_file, target, fs::copy_options::overwrite_existing);
    });
}

awaitable<CommandResult> LocalCodeExec::execute(PreparedCommand cmd, Milliseconds timeout)
{
    if (!temp_dir_)
        throw NotStartedError(
            "ExecutionEnvironment not started. Ensure current Agent is equipped with a CodeExecToolProvider.");
    ChildProcessSpec spec;
    if (cmd.argv) {
        for (const auto& word : *cmd.argv)
            if (looks_like_absolute_path(word, false))
                co_return absolute_path_result();
        spec.argv = std::move(*cmd.argv);
    } else {
        if (looks_like_absolute_path(cmd.shell, true))
            co_return absolute_path_result();
        spec.argv = {"bash", "-c", std::move(cmd.shell)};
    }
    spec.cwd = *temp_dir_;
    spec.env = child_env_;
    spec.timeout = timeout;
    spec.capture_chars_each_side = options().capture_chars_each_side;
    spec.on_spawn = [mutex = mark_mutex_, this](int pid) {
        std::lock_guard lock(*mutex);
        mark_.sessions.push_back(pid);
    };

    // Held until the child is reaped; the wait is not part of the timeout.
    const AsyncSemaphore::Permit running = co_await local_options_.command_limiter->acquire();

    CommandResult result;
    ChildProcessResult child;
    try {
        child = co_await run_child_process(spec);
    } catch (const SpawnError& e) {
        result.exit_code = 1;
        result.stderr_text = python_os_error(e);
        result.error_kind = "execution_error";
        co_return result;
    }
    if (child.timed_out) {
        // Stirrup drops partial output on a local timeout.
        result.exit_code = 1;
        result.stderr_text = "Command timed out after " + seconds_text(timeout) + " seconds";
        result.error_kind = "timeout";
        co_return result;
    }
    result.exit_code = child.exit_code;
    result.stdout_text = std::move(child.stdout_text);
    result.stderr_text = std::move(child.stderr_text);
    result.stdout_dropped_chars = child.stdout_dropped_chars;
    result.stderr_dropped_chars = child.stderr_dropped_chars;
    co_return result;
}

} // namespace stirrup
