// Files out of and into an environment, through the race-free code next to
// the code it replaced (bench/baseline/legacy_host_save.cpp, the save as it
// was before the security issue), measured in the same run, rounds
// interleaved, medians kept (these machines are noisy):
//
//   save_small   1,000 files of 1 KiB saved from a local environment
//   save_large   one 1 GiB file saved from a local environment
//   upload       a directory of 20,000 files uploaded into a Docker container
//                in archive mode (one tar stream now; one engine call per file
//                before, timed on the first --baseline-files of them and
//                scaled, since all 20,000 take many minutes that way)
//
// Goals (the issue): new/old <= 1.1 for both saves; old/new >= 50 for the upload.
//
// usage: transfer_bench [--rounds N=5] [--small N=1000] [--large-mib N=1024]
//                       [--files N=20000] [--baseline-files N=500] [--image NAME] [--no-docker]
// Prints one JSON object per measurement, then a summary line.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "baseline/legacy_host_save.hpp"
#include "stirrup/core/error.hpp"
#include "stirrup/exec/docker/docker.hpp"
#include "stirrup/exec/local/local.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using stirrup::awaitable;

namespace {

struct Args {
    int rounds = 5;
    int small = 1000;
    int large_mib = 1024;
    int files = 20000;
    int baseline_files = 500;
    std::string image =
        std::getenv("STIRRUP_TEST_DOCKER_IMAGE") ? std::getenv("STIRRUP_TEST_DOCKER_IMAGE") : "stirrup-test:bookworm";
    bool docker = true;
};

Args parse(int argc, char** argv)
{
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::runtime_error(k + " needs a value");
            return argv[++i];
        };
        if (k == "--rounds")
            a.rounds = std::stoi(next());
        else if (k == "--small")
            a.small = std::stoi(next());
        else if (k == "--large-mib")
            a.large_mib = std::stoi(next());
        else if (k == "--files")
            a.files = std::stoi(next());
        else if (k == "--baseline-files")
            a.baseline_files = std::stoi(next());
        else if (k == "--image")
            a.image = next();
        else if (k == "--no-docker")
            a.docker = false;
        else
            throw std::runtime_error("unknown option " + k);
    }
    return a;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double timed(F&& f)
{
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs one coroutine to completion on its own io_context.
template <class T>
T run(std::function<awaitable<T>()> body)
{
    asio::io_context io;
    auto fut = asio::co_spawn(io, body(), asio::use_future);
    io.run();
    return fut.get();
}

void write_file(const fs::path& p, const std::string& data)
{
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

// The resolver LocalCodeExec gave the old save: canonicalise, then require
// the result inside the environment (the check the race defeated).
stirrup::legacy::HostSourceResolver legacy_resolver(const fs::path& root)
{
    const fs::path canonical = fs::canonical(root);
    return [root, canonical](const std::string& path) {
        fs::path p(path);
        if (!p.is_absolute())
            p = root / p;
        std::error_code ec;
        const fs::path resolved = fs::weakly_canonical(p, ec);
        const auto rel = resolved.lexically_relative(canonical);
        if (ec || rel.empty() || *rel.begin() == "..")
            throw stirrup::PathError("Path is outside execution environment: " + path);
        return p;
    };
}

void print(const std::string& name, double new_s, double old_s, const std::string& extra = {})
{
    std::printf("{\"bench\":\"%s\",\"new_s\":%.4f,\"old_s\":%.4f,\"new_over_old\":%.3f%s}\n", name.c_str(), new_s,
                old_s, new_s / old_s, extra.c_str());
    std::fflush(stdout);
}

// Saves `paths` from a started local environment `rounds` times through
// each implementation, alternating; returns {new median, old median}.
std::pair<double, double> compare_saves(stirrup::LocalCodeExec& env, const std::vector<std::string>& paths,
                                        const fs::path& out_base, int rounds)
{
    const auto roots = env.output_source_roots();
    const auto resolver = legacy_resolver(*env.temp_dir());
    std::vector<double> new_times, old_times;
    for (int r = 0; r < rounds; ++r) {
        const auto out_new = out_base / ("new" + std::to_string(r));
        const auto out_old = out_base / ("old" + std::to_string(r));
        // Alternate which goes first, so neither always meets a cold cache.
        auto run_new = [&] {
            new_times.push_back(timed([&] {
                const auto result =
                    run<stirrup::SaveOutputFilesResult>([&]() -> awaitable<stirrup::SaveOutputFilesResult> {
                        co_return co_await env.save_output_files(paths, out_new);
                    });
                if (!result.failed.empty())
                    throw std::runtime_error("new save failed: " + result.failed.begin()->second);
            }));
        };
        auto run_old = [&] {
            old_times.push_back(timed([&] {
                const auto result = stirrup::legacy::save_host_output_files(paths, out_old, roots, resolver);
                if (!result.failed.empty())
                    throw std::runtime_error("old save failed: " + result.failed.begin()->second);
            }));
        };
        if (r % 2 == 0) {
            run_new();
            run_old();
        } else {
            run_old();
            run_new();
        }
        fs::remove_all(out_new);
        fs::remove_all(out_old);
    }
    return {median(new_times), median(old_times)};
}

} // namespace

int main(int argc, char** argv)
try {
    const Args a = parse(argc, argv);
    const fs::path scratch = fs::temp_directory_path() / ("stirrup-transfer-bench-" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    stirrup::LocalCodeExec env;
    run<int>([&]() -> awaitable<int> {
        co_await env.start();
        co_return 0;
    });
    const fs::path root = *env.temp_dir();

    // 1,000 small files.
    std::vector<std::string> small;
    const std::string kib(1024, 'k');
    for (int i = 0; i < a.small; ++i) {
        const std::string rel = "small/d" + std::to_string(i % 10) + "/f" + std::to_string(i);
        write_file(root / rel, kib);
        small.push_back(rel);
    }
    const auto [small_new, small_old] = compare_saves(env, small, scratch / "small", a.rounds);
    print("save_small", small_new, small_old, ",\"files\":" + std::to_string(a.small) + ",\"goal\":\"<=1.1\"");

    // One large file, real blocks (not sparse: the copy must move them all).
    {
        const std::string mib(1 << 20, 'L');
        std::ofstream big(root / "big.bin", std::ios::binary);
        for (int i = 0; i < a.large_mib; ++i)
            big.write(mib.data(), static_cast<std::streamsize>(mib.size()));
    }
    const std::vector<std::string> large{"big.bin"};
    const auto [large_new, large_old] = compare_saves(env, large, scratch / "large", std::min(a.rounds, 3));
    print("save_large", large_new, large_old, ",\"mib\":" + std::to_string(a.large_mib) + ",\"goal\":\"<=1.1\"");
    run<int>([&]() -> awaitable<int> {
        co_await env.stop();
        co_return 0;
    });

    bool upload_ok = true;
    double upload_ratio = 0;
    if (a.docker) {
        // 20,000 small files in 200 directories.
        const fs::path inputs = scratch / "inputs";
        for (int i = 0; i < a.files; ++i)
            write_file(inputs / ("d" + std::to_string(i % 200)) / ("f" + std::to_string(i) + ".txt"),
                       "input file " + std::to_string(i) + "\n");
        stirrup::DockerCodeExecOptions o;
        o.file_mode = stirrup::DockerFileMode::archive;
        auto docker = stirrup::DockerCodeExec::from_image(a.image, o);
        double new_s = 0, old_per_file = 0;
        std::size_t uploaded = 0;
        // Built before the coroutine: GCC 12 miscompiles string literals in
        // temporaries inside one ("array used as initializer").
        std::vector<std::pair<std::string, std::string>> baseline;
        for (int i = 0; i < a.baseline_files; ++i) {
            const std::string rel = "d" + std::to_string(i % 200) + "/f" + std::to_string(i) + ".txt";
            std::ifstream in(inputs / rel, std::ios::binary);
            baseline.emplace_back("baseline/" + rel, std::string{std::istreambuf_iterator<char>(in), {}});
        }
        const std::vector<std::string> upload_paths{inputs.string()};
        run<int>([&]() -> awaitable<int> {
            co_await docker->start();
            const auto t0 = Clock::now();
            const auto result = co_await docker->upload_files(upload_paths);
            new_s = std::chrono::duration<double>(Clock::now() - t0).count();
            uploaded = result.uploaded.size();
            // Today's path before this change: each file read on the host and
            // written through the engine (resolve in the container, then a
            // one-entry archive), one after the other.
            const auto t1 = Clock::now();
            for (auto& [dest, data] : baseline)
                co_await docker->write_file(dest, std::move(data));
            old_per_file = std::chrono::duration<double>(Clock::now() - t1).count() / a.baseline_files;
            co_await docker->stop();
            co_return 0;
        });
        if (uploaded != static_cast<std::size_t>(a.files))
            throw std::runtime_error("uploaded " + std::to_string(uploaded) + " of " + std::to_string(a.files));
        const double old_s = old_per_file * a.files;
        upload_ratio = old_s / new_s;
        upload_ok = upload_ratio >= 50;
        std::printf("{\"bench\":\"upload_archive\",\"files\":%d,\"new_s\":%.3f,\"old_s_scaled\":%.1f,"
                    "\"old_per_file_ms\":%.3f,\"baseline_files\":%d,\"old_over_new\":%.1f,\"goal\":\">=50\"}\n",
                    a.files, new_s, old_s, old_per_file * 1000, a.baseline_files, upload_ratio);
    }
    fs::remove_all(scratch);
    const bool saves_ok = small_new / small_old <= 1.1 && large_new / large_old <= 1.1;
    std::printf("{\"summary\":true,\"save_small\":%.3f,\"save_large\":%.3f,\"upload_archive\":%.1f,\"goals_met\":%s}\n",
                small_new / small_old, large_new / large_old, upload_ratio, saves_ok && upload_ok ? "true" : "false");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "transfer_bench: %s\n", e.what());
    return 1;
}
