// The local backend's owner tokens (in the names of its temp dirs and
// cgroups, read by the crash reaper) and the cgroup2 discovery parsers.

#include <doctest/doctest.h>

#include <unistd.h>

#include "stirrup/exec/detail/owner.hpp"
#include "stirrup/exec/local/detail/cgroup.hpp"

using namespace stirrup;
using stirrup::detail::host_tag;
using stirrup::detail::owner_token;
using stirrup::detail::parse_owner_token;
using stirrup::detail::process_alive;
using stirrup::detail::process_start_ticks;
using stirrup::detail::ProcessOwner;
using stirrup::detail::this_process_owner;

TEST_CASE("owner tokens round-trip and reject what is not one")
{
    const ProcessOwner& me = this_process_owner();
    CHECK(me.pid == ::getpid());
    CHECK(me.started == process_start_ticks(me.pid));
    const std::string token = owner_token(me);
    const auto parsed = parse_owner_token(token);
    REQUIRE(parsed);
    CHECK(parsed->pid == me.pid);
    CHECK(parsed->started == me.started);
    CHECK(parsed->host == host_tag(me.host));
    CHECK(host_tag("build-host").size() == 8);
    CHECK(host_tag("build-host") != host_tag("build-host2"));

    for (const char* bad : {"", "12", "12-34", "x-34-0123abcd", "12-y-0123abcd", "12-34-0123abc", "12-34-0123ABCD",
                            "0-34-0123abcd", "12-34-0123abcd-", "12--0123abcd"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_owner_token(bad));
    }
}

TEST_CASE("process_alive: a live process, a reused pid, a gone one")
{
    const ProcessOwner& me = this_process_owner();
    CHECK(process_alive(me.pid, me.started));
    CHECK(process_alive(me.pid, std::nullopt));
    CHECK_FALSE(process_alive(me.pid, me.started + 1)); // same pid, another start: reused
    CHECK_FALSE(process_alive(0, std::nullopt));
}

TEST_CASE("cgroup2 discovery: mountinfo and /proc/self/cgroup")
{
    const std::string hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                               "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                               "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    auto m = detail::cgroup2_mount(hybrid);
    REQUIRE(m);
    CHECK(m->first == "/sys/fs/cgroup/unified");
    CHECK(m->second == "/");

    const std::string escaped = "40 31 0:38 /sub /mnt/cg\\040two rw shared:5 - cgroup2 cgroup2 rw,nsdelegate\n";
    m = detail::cgroup2_mount(escaped);
    REQUIRE(m);
    CHECK(m->first == "/mnt/cg two");
    CHECK(m->second == "/sub");

    CHECK_FALSE(detail::cgroup2_mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"));

    CHECK(detail::unified_cgroup_path("9:name=systemd:/\n4:memory:/x\n0::/user.slice/app.scope\n") ==
          "/user.slice/app.scope");
    CHECK_FALSE(detail::unified_cgroup_path("4:memory:/x\n"));
}
