// Cleanup of the local backend that code in the environment cannot escape:
// daemons that detach every way they can (a cleared environment, setsid, a
// double fork, setsid -f, nohup, a new name with prctl(PR_SET_NAME)) must not
// survive stop(), a timeout, or the SIGKILL of the host process followed by
// `stirrup local reap`; with a cgroup, not even killing their supervisor
// helps. Processes are found by a token in their command line and by the pid
// they wrote down, never by their environment.

#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "stirrup/core/error.hpp"
#include "stirrup/exec/detail/owner.hpp"
#include "stirrup/exec/local/detail/cgroup.hpp"
#include "stirrup/exec/local/local.hpp"
#include "support/cli_process.hpp"
#include "support/eventually.hpp"
#include "support/helpers.hpp"
#include "support/local_env.hpp"
#include "support/processes.hpp"
#include "support/run_sync.hpp"

extern char** environ;

using namespace stirrup;
using stirrup::detail::host_name;
using stirrup::detail::host_tag;
using stirrup::detail::owner_token;
using stirrup::detail::process_start_ticks;
using stirrup::detail::this_process_owner;
using namespace std::chrono_literals;
using stirrup::test::count_processes_with_cmdline;
using stirrup::test::eventually;
using stirrup::test::processes_left_with_cmdline;
using stirrup::test::run_sync;
using stirrup::test::with_local;
namespace fs = std::filesystem;
namespace json = boost::json;

using stirrup::test::read_bytes;

namespace {

using stirrup::test::dead_pid;

/// A `sleep` argument unique to this process and call: what the attacks
/// carry in their command lines.
std::string unique_token()
{
    static int n = 0;
    return std::to_string(8000000 + (::getpid() % 90000) * 10 + (n++ % 10)) + "." + std::to_string(::getpid());
}

struct Attack {
    const char* name;
    std::string command; ///< shell; writes <name>.pid with the daemon's pid
};

// Every daemon writes its own pid into the environment and then becomes
// `sleep TOKEN` (or keeps TOKEN in its arguments), with its output
// redirected so that the command itself returns at once.
std::vector<Attack> attacks(const std::string& token)
{
    const std::string sleeper = "exec sleep " + token;
    return {
        {"envi", "env -i setsid sh -c 'echo $$ > envi.pid; " + sleeper + "' > /dev/null 2>&1 &"},
        {"double", "( ( sh -c 'echo $$ > double.pid; " + sleeper + "' > /dev/null 2>&1 & ) & )"},
        {"setsidf", "setsid -f sh -c 'echo $$ > setsidf.pid; " + sleeper + "' > /dev/null 2>&1"},
        {"nohup", "nohup env -i sh -c 'echo $$ > nohup.pid; " + sleeper + "' > /dev/null 2>&1 &"},
        {"prctl", "python3 -c 'import ctypes, os, sys, time\n"
                  "if os.fork(): sys.exit(0)\n"
                  "os.setsid()\n"
                  "if os.fork(): sys.exit(0)\n"
                  "ctypes.CDLL(None).prctl(15, b\"kworker/0:1\", 0, 0, 0)\n"
                  "open(\"prctl.pid\", \"w\").write(str(os.getpid()))\n"
                  "time.sleep(100000)' " +
                      token + " > /dev/null 2>&1 &"},
        // Reopens its supervisor's channels through /proc to hold the control
        // channel open past the host's death (works on a pipe, not on a
        // socket), then detaches.
        {"grabfd", "python3 -c 'import os, sys, time\n"
                   "fds = []\n"
                   "for n in (3, 4):\n"
                   "    try: fds.append(os.open(\"/proc/%s/fd/%d\" % (sys.argv[1], n), os.O_WRONLY))\n"
                   "    except OSError: pass\n"
                   "os.setsid()\n"
                   "open(\"grabfd.count\", \"w\").write(str(len(fds)))\n"
                   "open(\"grabfd.pid\", \"w\").write(str(os.getpid()))\n"
                   "time.sleep(100000)' $PPID " +
                       token + " > /dev/null 2>&1 &"},
    };
}

std::string all_attacks(const std::string& token)
{
    std::string cmd;
    for (const auto& a : attacks(token))
        cmd += a.command + "\n";
    return cmd + "echo started";
}

/// The process's identity: pid and start time (so that a recycled pid is not
/// mistaken for it).
struct Daemon {
    std::string name;
    long pid = 0;
    std::uint64_t started = 0;
};

// Gone, or a zombie waiting for its parent.
bool dead(const Daemon& d)
{
    const auto ticks = process_start_ticks(d.pid);
    if (!ticks || *ticks != d.started)
        return true;
    const std::string stat = read_bytes("/proc/" + std::to_string(d.pid) + "/stat");
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

/// Waits until every attack has written its pid, and returns them, alive.
std::vector<Daemon> daemons_of(const fs::path& dir, const std::string& token)
{
    std::vector<Daemon> out;
    for (const auto& a : attacks(token)) {
        Daemon d{a.name};
        const fs::path pidfile = dir / (std::string(a.name) + ".pid");
        const bool written = eventually(
            [&] {
                const std::string text = read_bytes(pidfile);
                if (text.empty() || text.back() == ' ')
                    return false;
                d.pid = std::atol(text.c_str());
                const auto ticks = process_start_ticks(d.pid);
                if (!ticks)
                    return false;
                d.started = *ticks;
                return true;
            },
            10s);
        INFO("attack " << a.name);
        CHECK(written);
        if (written)
            out.push_back(d);
    }
    return out;
}

void check_all_dead(const std::vector<Daemon>& daemons, const std::string& token)
{
    for (const auto& d : daemons) {
        INFO("attack " << d.name << " (pid " << d.pid << ")");
        CHECK(eventually([&] { return dead(d); }, 10s));
    }
    CHECK(processes_left_with_cmdline(token) == 0);
}

LocalCodeExecOptions with_cgroup(bool on)
{
    LocalCodeExecOptions o;
    o.use_cgroup = on;
    return o;
}

struct TempBase {
    fs::path path;
    explicit TempBase(const std::string& name)
        : path(fs::temp_directory_path() / ("stirrup-local-cleanup-" + name + "-" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempBase()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<fs::path> env_dirs(const fs::path& base)
{
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(base))
        if (e.path().filename().string().rfind("local_exec_env_", 0) == 0)
            out.push_back(e.path());
    return out;
}

/// Spawns `sleep TOKEN` working in `cwd`, as a leftover no supervisor owns.
pid_t spawn_sleeper(const fs::path& cwd, const std::string& token)
{
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    std::string sleep = "sleep";
    std::string arg = token;
    char* argv[] = {sleep.data(), arg.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, "sleep", &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    return pid;
}

std::string dead_owner_token()
{
    return std::to_string(dead_pid()) + "-12345-" + host_tag(host_name());
}

} // namespace

TEST_CASE("local cleanup: no detached daemon survives stop(), with and without a cgroup")
{
    for (const bool cgroup : {true, false}) {
        CAPTURE(cgroup);
        const std::string token = unique_token();
        std::vector<Daemon> daemons;
        fs::path dir;
        std::optional<fs::path> cg;
        with_local(with_cgroup(cgroup), [&](LocalCodeExec& env) -> awaitable<void> {
            dir = *env.temp_dir();
            cg = env.cgroup();
            if (!cgroup)
                CHECK_FALSE(cg.has_value());
            auto r = co_await env.run_command(all_attacks(token));
            INFO(r.stderr_text);
            CHECK(r.stdout_text == "started\n");
            daemons = daemons_of(dir, token);
            CHECK(daemons.size() == attacks(token).size());
            for (const auto& d : daemons)
                CHECK_FALSE(dead(d));
            CHECK(count_processes_with_cmdline(token) >= static_cast<int>(daemons.size()));
            CHECK(read_bytes(dir / "grabfd.count") == "0");
        });
        check_all_dead(daemons, token);
        CHECK_FALSE(fs::exists(dir));
        if (cg)
            CHECK_FALSE(fs::exists(*cg));
    }
}

TEST_CASE("local cleanup: a timeout kills the command's detached and double-forked descendants")
{
    for (const bool cgroup : {true, false}) {
        CAPTURE(cgroup);
        const std::string token = unique_token();
        with_local(with_cgroup(cgroup), [&](LocalCodeExec& env) -> awaitable<void> {
            auto r =
                co_await env.run_command("( ( sleep " + token + " > /dev/null 2>&1 & ) & ); setsid sleep " + token +
                                             " > /dev/null 2>&1 & env -i setsid sleep " + token + " & sleep " + token,
                                         1s);
            CHECK(r.error_kind == "timeout");
            // Before stop(): the timeout alone took them.
            CHECK(processes_left_with_cmdline(token) == 0);
            r = co_await env.run_command("echo usable");
            CHECK(r.stdout_text == "usable\n");

            // A command that stops its supervisor: it is woken to do its work.
            r = co_await env.run_command(
                "setsid sleep " + token + " > /dev/null 2>&1 & kill -STOP $PPID; sleep " + token, 1s);
            CHECK(r.error_kind == "timeout");
            CHECK(processes_left_with_cmdline(token) == 0);
        });
    }
}

TEST_CASE("local cleanup: background jobs outlive their command until stop(), and nothing is left to reap")
{
    const std::string token = unique_token();
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("setsid sleep " + token + " > /dev/null 2>&1 & echo started");
        CHECK(r.stdout_text == "started\n");
        r = co_await env.run_command("echo next");
        CHECK(r.stdout_text == "next\n");
        CHECK(eventually([&] { return count_processes_with_cmdline("sleep " + token) >= 1; }));
        // A job that ends on its own frees its supervisor.
        r = co_await env.run_command("sleep 0.1 > /dev/null 2>&1 &");
        CHECK(r.exit_code == 0);
    });
    CHECK(processes_left_with_cmdline(token) == 0);
}

TEST_CASE("local cleanup: with a cgroup, killing the supervisor does not let a daemon escape stop()")
{
    const std::string token = unique_token();
    bool had_cgroup = false;
    with_local(with_cgroup(true), [&](LocalCodeExec& env) -> awaitable<void> {
        had_cgroup = env.cgroup().has_value();
        if (!had_cgroup)
            co_return;
        // The command's parent is its supervisor: SIGKILL it, so that the
        // daemon is reparented to init, out of the supervisor's reach.
        auto r = co_await env.run_command("setsid sh -c 'echo $$ > d.pid; exec sleep " + token +
                                          "' > /dev/null 2>&1 & while [ ! -s d.pid ]; do sleep 0.01; done; "
                                          "kill -9 $PPID; echo after");
        CHECK(r.stdout_text == "after\n");
        CHECK(r.exit_code == -9); // the supervisor's end stands for the unreported command
        CHECK(eventually([&] { return count_processes_with_cmdline("sleep " + token) == 1; }));
        r = co_await env.run_command("echo still usable");
        CHECK(r.stdout_text == "still usable\n");
    });
    if (!had_cgroup) {
        MESSAGE("no cgroup v2 this process may create: the cgroup case is not exercised here");
        return;
    }
    CHECK(processes_left_with_cmdline(token) == 0);
}

TEST_CASE("local cleanup: the environment's processes are in its cgroup")
{
    with_local(with_cgroup(true), [&](LocalCodeExec& env) -> awaitable<void> {
        if (!env.cgroup()) {
            MESSAGE("no cgroup v2 this process may create");
            co_return;
        }
        CHECK(env.cgroup()->filename().string().rfind("stirrup-local-" + owner_token(this_process_owner()), 0) == 0);
        auto r = co_await env.run_command("cat /proc/self/cgroup");
        CHECK(r.stdout_text.find("/" + env.cgroup()->filename().string() + "\n") != std::string::npos);
    });
    with_local(with_cgroup(false), [&](LocalCodeExec& env) -> awaitable<void> {
        CHECK_FALSE(env.cgroup().has_value());
        auto r = co_await env.run_command("cat /proc/self/cgroup");
        CHECK(r.stdout_text.find("stirrup-local-") == std::string::npos);
    });
}

TEST_CASE("local cleanup: the temp dir's name carries its owner, and commands see no marker")
{
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        const std::string name = env.temp_dir()->filename().string();
        CHECK(name.rfind("local_exec_env_" + owner_token(this_process_owner()) + "-", 0) == 0);
        auto r = co_await env.run_command("env | grep -c STIRRUP_EXEC_ID");
        CHECK(r.stdout_text == "0\n");
    });
}

TEST_CASE("local cleanup: supervisor_path runs an installed supervisor; a wrong one fails start()")
{
    LocalCodeExecOptions o;
    o.supervisor_path = STIRRUP_SUPERVISOR_PATH;
    with_local(o, [&](LocalCodeExec& env) -> awaitable<void> {
        auto r = co_await env.run_command("echo from the installed copy");
        CHECK(r.stdout_text == "from the installed copy\n");
    });
    o.supervisor_path = "/nonexistent/stirrup-supervisor";
    LocalCodeExec env(o);
    CHECK_THROWS_AS(run_sync([&]() -> awaitable<void> { co_await env.start(); }), SystemError);
    CHECK_FALSE(env.started());
}

TEST_CASE("local cleanup: the reaper removes dead owners' environments and leaves everything else alone")
{
    TempBase base("reap");
    const std::string here = host_tag(host_name());
    const auto& me = this_process_owner();

    // A dead owner's environment, with a leftover still working inside.
    const fs::path orphan = base.path / ("local_exec_env_" + dead_owner_token() + "-aaaaaa");
    fs::create_directories(orphan / "sub");
    std::ofstream(orphan / "sub/f.txt") << "x";
    const std::string token = unique_token();
    const pid_t leftover = spawn_sleeper(orphan / "sub", token);
    // Our pid, another start time: the pid was reused, the owner is gone.
    const fs::path reused = base.path / ("local_exec_env_" + std::to_string(me.pid) + "-" +
                                         std::to_string(me.started + 1) + "-" + here + "-bbbbbb");
    fs::create_directories(reused);
    // Another host's, a name without an owner, and a symlink dressed as an orphan.
    const fs::path other_host = base.path / ("local_exec_env_" + std::to_string(dead_pid()) + "-1-00000000-cccccc");
    fs::create_directories(other_host);
    const fs::path no_owner = base.path / "local_exec_env_dddddd";
    fs::create_directories(no_owner);
    const fs::path target = base.path / "precious";
    fs::create_directories(target);
    std::ofstream(target / "keep.txt") << "keep";
    const fs::path link = base.path / ("local_exec_env_" + dead_owner_token() + "-eeeeee");
    fs::create_directory_symlink(target, link);

    // A dead owner's cgroup, with a process in it.
    std::optional<fs::path> orphan_cgroup = detail::create_cgroup("stirrup-local-" + dead_owner_token() + "-ffffff");
    pid_t in_cgroup = -1;
    const std::string cg_token = unique_token();
    if (orphan_cgroup) {
        in_cgroup = spawn_sleeper(base.path, cg_token);
        std::ofstream(*orphan_cgroup / "cgroup.procs") << in_cgroup;
    }

    const std::string live_token = unique_token();
    LocalCodeExecOptions o;
    o.temp_base_dir = base.path;
    with_local(o, [&](LocalCodeExec& live) -> awaitable<void> {
        co_await live.run_command("setsid sh -c 'echo $$ > job.pid; exec sleep " + live_token + "' > /dev/null 2>&1 &");
        Daemon job{"job"};
        REQUIRE(eventually([&] {
            job.pid = std::atol(read_bytes(*live.temp_dir() / "job.pid").c_str());
            const auto ticks = job.pid > 0 ? process_start_ticks(job.pid) : std::nullopt;
            job.started = ticks.value_or(0);
            return ticks.has_value();
        }));
        const LocalReapResult result = co_await reap_local_orphans(base.path);
        INFO("errors: " << result.errors.size());
        CHECK(result.errors.empty());
        std::set<fs::path> removed(result.removed.begin(), result.removed.end());
        CHECK(removed.size() == 2);
        CHECK(removed.count(fs::canonical(base.path) / orphan.filename()) == 1);
        CHECK(removed.count(fs::canonical(base.path) / reused.filename()) == 1);
        CHECK(result.killed >= 1);
        CHECK_FALSE(fs::exists(orphan));
        CHECK_FALSE(fs::exists(reused));
        // Left alone: the live environment (its directory, cgroup and job),
        // another host's, the unowned one, the symlink and what it points to.
        CHECK(fs::is_directory(*live.temp_dir()));
        if (live.cgroup())
            CHECK(fs::is_directory(*live.cgroup()));
        CHECK_FALSE(dead(job));
        CHECK(fs::is_directory(other_host));
        CHECK(fs::is_directory(no_owner));
        CHECK(fs::is_symlink(link));
        CHECK(read_bytes(target / "keep.txt") == "keep");
        if (orphan_cgroup) {
            CHECK(std::find(result.cgroups.begin(), result.cgroups.end(), *orphan_cgroup) != result.cgroups.end());
            CHECK_FALSE(fs::exists(*orphan_cgroup));
        }
        if (live.cgroup())
            CHECK(std::find(result.cgroups.begin(), result.cgroups.end(), *live.cgroup()) == result.cgroups.end());
    });
    ::waitpid(leftover, nullptr, 0);
    CHECK(processes_left_with_cmdline(token) == 0);
    if (in_cgroup > 0) {
        ::waitpid(in_cgroup, nullptr, 0);
        CHECK(processes_left_with_cmdline(cg_token) == 0);
    }
    CHECK(processes_left_with_cmdline(live_token) == 0);
}

TEST_CASE("local cleanup: SIGKILL of the host process, then `stirrup local reap`")
{
    for (const char* cgroup : {"1", "0"}) {
        CAPTURE(cgroup);
        TempBase base(std::string("sigkill") + cgroup);
        const std::string token = unique_token();
        std::atomic<int> pid{0};
        std::atomic<bool> seen{false};
        std::thread killer([&] {
            // Until every daemon has written its pid, then SIGKILL: the CLI
            // gets no chance to stop its environment.
            for (int i = 0; i < 1200 && !seen; ++i) {
                bool all = pid.load() > 0;
                const auto dirs = all ? env_dirs(base.path) : std::vector<fs::path>{};
                all = all && dirs.size() == 1;
                for (const auto& a : attacks(token))
                    all = all && !read_bytes(dirs.front() / (std::string(a.name) + ".pid")).empty();
                if (all)
                    seen = true;
                else
                    std::this_thread::sleep_for(20ms);
            }
            if (pid.load() > 0)
                ::kill(pid.load(), SIGKILL);
        });
        auto r = test::run_stirrup(
            {"exec", "--temp-base-dir", base.path.string(), "--", all_attacks(token) + "\nsleep " + token},
            test::inherited_env({std::string("STIRRUP_LOCAL_CGROUP=") + cgroup}), 120s, [&](int p) { pid.store(p); });
        killer.join();
        INFO("stderr: " << r.stderr_text);
        REQUIRE(seen);
        CHECK(r.exit_code == -SIGKILL);
        // The supervisors saw their control pipes close with the CLI: every
        // daemon is gone without anyone asking.
        CHECK(processes_left_with_cmdline(token) == 0);
        // What a killed process cannot remove is left: its directory (and cgroup).
        const auto left = env_dirs(base.path);
        REQUIRE(left.size() == 1);
        const std::string suffix = left.front().filename().string().substr(std::string("local_exec_env_").size());
        std::optional<fs::path> cg;
        if (const auto place = detail::find_cgroup_place()) {
            const auto found = detail::find_cgroups(place->mount, "stirrup-local-" + suffix);
            if (!found.empty())
                cg = found.front();
        }
        if (std::string(cgroup) == "0")
            CHECK_FALSE(cg.has_value());

        r = test::run_stirrup({"local", "reap", "--temp-dir", base.path.string(), "--json"});
        INFO("reap stderr: " << r.stderr_text);
        CHECK(r.exit_code == 0);
        const auto out = json::parse(r.stdout_text).as_object();
        const auto& removed = out.at("removed").as_array();
        REQUIRE(removed.size() == 1);
        CHECK(fs::path(std::string(removed.front().as_string())).filename() == left.front().filename());
        CHECK_FALSE(fs::exists(left.front()));
        if (cg) {
            CHECK(out.at("cgroups").as_array().size() == 1);
            CHECK_FALSE(fs::exists(*cg));
        }
        // Reaping twice finds nothing more.
        r = test::run_stirrup({"local", "reap", "--temp-dir", base.path.string(), "--json"});
        CHECK(json::parse(r.stdout_text).at("removed").as_array().empty());
    }
}

TEST_CASE("stirrup local: usage errors")
{
    auto r = test::run_stirrup({"local", "bogus"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("expected the subcommand 'reap'") != std::string::npos);
    r = test::run_stirrup({"local", "reap", "--nope"});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("unknown option '--nope'") != std::string::npos);
    r = test::run_stirrup({"local", "--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.stdout_text.find("stirrup local reap") != std::string::npos);
}
