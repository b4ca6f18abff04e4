#pragma once
// Looks for live processes by command line, to prove nothing outlived a test.

#include <dirent.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace stirrup::test {

/// Number of live (non-zombie) processes whose argv joined by spaces contains `needle`.
inline int count_processes_with_cmdline(const std::string& needle)
{
    int n = 0;
    DIR* dir = ::opendir("/proc");
    if (!dir)
        return 0;
    while (dirent* e = ::readdir(dir)) {
        const std::string name = e->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        // A process that exits between open and read fails the read (ESRCH,
        // thrown by libstdc++): it is gone, so it does not count.
        std::string statline;
        std::string cmd;
        try {
            std::ifstream stat("/proc/" + name + "/stat");
            statline.assign(std::istreambuf_iterator<char>(stat), {});
            std::ifstream in("/proc/" + name + "/cmdline", std::ios::binary);
            cmd.assign(std::istreambuf_iterator<char>(in), {});
        } catch (const std::exception&) {
            continue;
        }
        const auto close = statline.rfind(')');
        if (close != std::string::npos && close + 2 < statline.size() && statline[close + 2] == 'Z')
            continue;
        for (auto& c : cmd)
            if (c == '\0')
                c = ' ';
        if (cmd.find(needle) != std::string::npos)
            ++n;
    }
    ::closedir(dir);
    return n;
}

/// Polls until no live process matches (SIGKILL is delivered asynchronously,
/// and a forked shell shows its parent's command line until it execs);
/// returns the count left after at most ~10 s.
inline int processes_left_with_cmdline(const std::string& needle)
{
    int n = count_processes_with_cmdline(needle);
    for (int i = 0; i < 200 && n > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        n = count_processes_with_cmdline(needle);
    }
    return n;
}

} // namespace stirrup::test
