#include "stirrup/exec/local/local.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/detail/text.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/host_files.hpp"
#include "stirrup/exec/detail/host_tree.hpp"
#include "stirrup/exec/detail/owner.hpp"
#include "stirrup/exec/local/detail/cgroup.hpp"
#include "stirrup/exec/local/detail/child_process.hpp"
#include "stirrup/exec/local/detail/naming.hpp"
#include "stirrup/exec/local/detail/supervisor.hpp"

extern char** environ;

namespace stirrup {
namespace fs = std::filesystem;

namespace {

/// How long stop() lets a supervisor kill its subtree before SIGKILLing it.
constexpr std::chrono::seconds supervisor_grace{10};

std::vector<std::string> host_environment()
{
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e)
        env.emplace_back(*e);
    return env;
}

bool cgroup_wanted(const std::optional<bool>& option)
{
    if (option)
        return *option;
    const char* env = std::getenv("STIRRUP_LOCAL_CGROUP");
    return !(env && std::string_view(env) == "0");
}

CommandResult absolute_path_result()
{
    CommandResult r;
    r.exit_code = 1;
    r.stderr_text = "Command appears to use absolute paths which could write outside the execution environment. "
                    "Use relative paths instead.";
    r.error_kind = "absolute_path_detected";
    r.advice = "Use relative paths (e.g., './output.txt' instead of '~/output.txt'). "
               "For full filesystem access, use DockerCodeExecToolProvider or E2BCodeExecToolProvider.";
    return r;
}

// What Python's str(OSError) says, as Stirrup puts it in the result.
std::string python_os_error(const detail::SpawnError& e)
{
    return "[Errno " + std::to_string(e.code().value()) + "] " + e.code().message() + ": '" + e.program() + "'";
}

// local_exec_env_<pid>-<start>-<host tag>-XXXXXX: the owner is in the name,
// where the crash reaper reads it and the environment cannot change it.
fs::path make_temp_dir(const std::optional<fs::path>& base)
{
    fs::path parent = base ? *base : fs::temp_directory_path();
    fs::create_directories(parent);
    std::string templ = (parent / (std::string(detail::local_dir_prefix) +
                                   detail::owner_token(detail::this_process_owner()) + "-XXXXXX"))
                            .string();
    if (!::mkdtemp(templ.data()))
        throw SystemError(std::error_code(errno, std::system_category()), "mkdtemp in " + parent.string());
    return fs::path(templ);
}

// Kills everything the environment started, then removes its directory.
void reclaim(const std::shared_ptr<detail::SupervisorSet>& supervisors, const std::optional<fs::path>& cgroup,
             const fs::path& dir)
{
    std::optional<SystemError> failure;
    // Every supervisor SIGKILLs its subtree: background jobs, and whatever
    // detached from them (it is their subreaper).
    if (supervisors)
        supervisors->close();
    // Everything in the cgroup, even what escaped a supervisor by killing it.
    if (cgroup) {
        std::error_code ec;
        detail::kill_and_remove_cgroup(*cgroup, ec);
        if (ec)
            failure.emplace(ec, "removing cgroup " + cgroup->string());
    }
    if (supervisors)
        supervisors->wait_all(supervisor_grace);
    // Never by name: the tree is the model's, and may hold symlinks swapped
    // in while it is removed.
    std::error_code ec;
    detail::remove_tree(dir, ec);
    if (ec) {
        // A process killed a moment ago may still have been writing.
        ec.clear();
        detail::remove_tree(dir, ec);
        if (ec)
            throw SystemError(ec, "removing " + dir.string());
    }
    if (failure)
        throw *failure;
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
    // Closing the supervisors' control sockets already kills; the rest (waits,
    // cgroup, directory) runs in the background.
    if (supervisors_)
        supervisors_->close();
    detail::offload_detached([supervisors = supervisors_, cgroup = cgroup_, dir = *temp_dir_] {
        try {
            reclaim(supervisors, cgroup, dir);
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
    std::optional<fs::path> cgroup;
    const bool want_cgroup = cgroup_wanted(local_options_.use_cgroup);
    co_await detail::offload([&] {
        dir = make_temp_dir(local_options_.temp_base_dir);
        // stirrup-local-<owner>-<the dir's suffix>: the reaper finds it by its owner too.
        if (want_cgroup)
            cgroup = detail::create_cgroup(std::string(detail::local_cgroup_prefix) +
                                           dir.filename().string().substr(detail::local_dir_prefix.size()));
    });
    temp_dir_ = dir;
    cgroup_ = cgroup;
    canonical_root_ = fs::canonical(dir);
    // The model may name the root by the path it was made with or by its
    // canonical spelling (/tmp may be a symlink).
    files_ = std::make_shared<const detail::HostFiles>(
        detail::HostTree(dir, std::vector<std::string>{dir.string(), canonical_root_.string()}));
    child_env_ = host_environment();
    std::optional<std::string> procs;
    if (cgroup_)
        procs = (*cgroup_ / "cgroup.procs").string();
    supervisors_ = std::make_shared<detail::SupervisorSet>(detail::supervisor_program(local_options_.supervisor_path),
                                                           std::move(procs));
}

awaitable<void> LocalCodeExec::do_stop()
{
    if (!temp_dir_)
        co_return;
    const fs::path dir = *temp_dir_;
    temp_dir_.reset();
    files_.reset();
    const auto supervisors = std::move(supervisors_);
    supervisors_.reset();
    const auto cgroup = std::exchange(cgroup_, std::nullopt);
    co_await detail::offload([&] { reclaim(supervisors, cgroup, dir); });
}

awaitable<CommandResult> LocalCodeExec::execute(PreparedCommand cmd, Milliseconds timeout)
{
    require_running(static_cast<bool>(temp_dir_));
    detail::ChildProcessSpec spec;
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
    // stop() may run while this command does: the set outlives both.
    const auto supervisors = supervisors_;
    supervisors->reap_ended();

    // Held until the child is reaped; the wait is not part of the timeout.
    const AsyncSemaphore::Permit running = co_await local_options_.command_limiter->acquire();

    CommandResult result;
    detail::ChildProcessResult child;
    try {
        child = co_await detail::run_supervised(spec, supervisors);
    } catch (const detail::SpawnError& e) {
        result.exit_code = 1;
        result.stderr_text = python_os_error(e);
        result.error_kind = "execution_error";
        co_return result;
    }
    if (child.timed_out) {
        // Stirrup drops partial output on a local timeout.
        result.exit_code = 1;
        result.stderr_text = "Command timed out after " + detail::text::seconds_text(timeout) + " seconds";
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

std::shared_ptr<CodeExecToolProvider> local_code_exec(LocalCodeExecOptions options)
{
    return std::make_shared<CodeExecToolProvider>(
        "LocalCodeExecToolProvider",
        [options]() -> std::unique_ptr<CodeExecProvider> { return LocalCodeExec::make(options); });
}

} // namespace stirrup
