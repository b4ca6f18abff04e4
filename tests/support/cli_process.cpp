#include "support/cli_process.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <boost/json/parse.hpp>

#include "support/run_sync.hpp"

extern char** environ;

namespace stirrup::test {

std::vector<std::string> inherited_env(const std::vector<std::string>& extra)
{
    // getenv() returns the first of two entries with one name: an extra
    // entry must replace the inherited one, not follow it.
    const auto name_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string kv = *e;
        const bool replaced =
            std::any_of(extra.begin(), extra.end(), [&](const std::string& x) { return name_of(x) == name_of(kv); });
        if (!replaced)
            env.push_back(kv);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

detail::ChildProcessResult run_stirrup(const std::vector<std::string>& args, std::vector<std::string> env,
                                       std::chrono::seconds timeout, std::function<void(int)> on_spawn)
{
    detail::ChildProcessSpec spec;
    spec.argv = {STIRRUP_CLI_PATH};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.cwd = std::filesystem::current_path();
    spec.env = std::move(env);
    spec.timeout = timeout;
    spec.capture_chars_each_side = 1'000'000;
    spec.on_spawn = std::move(on_spawn);
    return run_sync([&] { return detail::run_child_process(spec); });
}

std::vector<boost::json::value> json_lines(const std::string& text)
{
    std::vector<boost::json::value> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        out.push_back(boost::json::parse(text.substr(pos, end - pos)));
        pos = end + 1;
    }
    return out;
}

} // namespace stirrup::test
