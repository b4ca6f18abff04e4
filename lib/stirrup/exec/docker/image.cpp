// The image a Docker session runs: an image name, pulled when the engine
// lacks it, or a Dockerfile built at start. Pulls of one name, and builds of
// one Dockerfile, are serialized process-wide so that concurrent sessions do
// not race each other (the loser of a pull race recovers by inspecting again,
// as Stirrup does).

#include "stirrup/exec/docker/detail/client.hpp"
#include "stirrup/exec/docker/docker.hpp"

#include <openssl/evp.h>

#include <deque>
#include <fstream>
#include <iterator>
#include <mutex>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/core/error.hpp"

namespace stirrup {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// A mutex for coroutines on any executor, any thread: waiters are queued
// as callbacks that resume them on their own executors, one at a time.
class AsyncMutex {
public:
    awaitable<void> lock()
    {
        co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
            [this](auto handler) {
                // The tracked executor keeps the waiter's io_context from
                // running out of work while it waits.
                auto work =
                    asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                enqueue([shared, work] { asio::post(work, [shared] { std::move (*shared)(); }); });
            },
            asio::use_awaitable);
    }

    void unlock()
    {
        std::unique_lock lock(mutex_);
        if (waiters_.empty()) {
            locked_ = false;
            return;
        }
        auto next = std::move(waiters_.front());
        waiters_.pop_front();
        lock.unlock();
        next();
    }

private:
    void enqueue(std::function<void()> resume)
    {
        std::unique_lock lock(mutex_);
        if (!locked_) {
            locked_ = true;
            lock.unlock();
            resume();
            return;
        }
        waiters_.push_back(std::move(resume));
    }

    std::mutex mutex_;
    bool locked_ = false;
    std::deque<std::function<void()>> waiters_;
};

// One lock per key for the life of the process (a key is an image name or a
// Dockerfile: few per process).
AsyncMutex& lock_for(const std::string& key)
{
    static std::mutex guard;
    static std::map<std::string, std::unique_ptr<AsyncMutex>> locks;
    std::lock_guard lock(guard);
    auto& slot = locks[key];
    if (!slot)
        slot = std::make_unique<AsyncMutex>();
    return *slot;
}

struct Unlock {
    AsyncMutex& m;
    ~Unlock() { m.unlock(); }
};

std::string md5_hex(std::string_view text)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr) != 1)
        throw Error("MD5 is not available in this OpenSSL");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

std::string read_file_bytes(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw FileNotFoundError("cannot read " + file.string());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::int64_t mtime_of(const fs::path& p)
{
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    if (ec)
        return 0;
    const auto sys = std::chrono::file_clock::to_sys(t);
    return std::chrono::duration_cast<std::chrono::seconds>(sys.time_since_epoch()).count();
}

// The build context as a tar: files, directories and symlinks under
// `context`, plus the Dockerfile under `extra_dockerfile_name` when it lives
// outside the context (as the docker CLI does).
std::string context_archive(const fs::path& context, const std::optional<fs::path>& outside_dockerfile,
                            const std::string& extra_dockerfile_name)
{
    std::vector<detail::tar::Entry> entries;
    for (auto it = fs::recursive_directory_iterator(context); it != fs::recursive_directory_iterator(); ++it) {
        const auto status = it->symlink_status();
        detail::tar::Entry e;
        e.path = fs::relative(it->path(), context).generic_string();
        e.mode = static_cast<std::uint32_t>(status.permissions()) & 07777;
        e.mtime = mtime_of(it->path());
        if (fs::is_symlink(status)) {
            e.type = detail::tar::Entry::Type::symlink;
            e.link_target = fs::read_symlink(it->path()).string();
        } else if (fs::is_directory(status)) {
            e.type = detail::tar::Entry::Type::directory;
        } else if (fs::is_regular_file(status)) {
            e.type = detail::tar::Entry::Type::file;
            e.data = read_file_bytes(it->path());
        } else {
            continue; // sockets, fifos, devices: not context material
        }
        entries.push_back(std::move(e));
    }
    if (outside_dockerfile) {
        detail::tar::Entry e;
        e.path = extra_dockerfile_name;
        e.data = read_file_bytes(*outside_dockerfile);
        e.mode = 0644;
        entries.push_back(std::move(e));
    }
    return detail::tar::write_archive(entries);
}

} // namespace

awaitable<void> DockerCodeExec::prepare_image()
{
    if (!source_.dockerfile) {
        image_ = source_.image;
        if (co_await client_->image_inspect(image_))
            co_return;
        AsyncMutex& mutex = lock_for("pull " + image_);
        co_await mutex.lock();
        Unlock unlock{mutex};
        // Another session may have pulled it while this one waited.
        if (co_await client_->image_inspect(image_))
            co_return;
        std::optional<std::string> pull_error;
        try {
            co_await client_->pull(image_);
        } catch (const detail::docker::ApiError& e) {
            pull_error = e.what();
        } catch (const detail::docker::StreamFailure& e) {
            pull_error = e.what();
        }
        if (co_await client_->image_inspect(image_))
            co_return;
        throw Error("Failed to pull Docker image '" + image_ +
                    "': " + pull_error.value_or("the engine reported success but does not have the image"));
    }

    std::error_code ec;
    const fs::path dockerfile = fs::weakly_canonical(fs::absolute(*source_.dockerfile), ec);
    if (ec || !fs::is_regular_file(dockerfile))
        throw Error("Failed to build Docker image: Dockerfile not found: " + source_.dockerfile->string());
    const fs::path context =
        source_.context ? fs::weakly_canonical(fs::absolute(*source_.context)) : dockerfile.parent_path();
    if (!fs::is_directory(context))
        throw Error("Failed to build Docker image: build context is not a directory: " + context.string());
    const std::string tag = dockerfile_image_tag(dockerfile);
    const std::string hash = tag.substr(tag.rfind('-') + 1);

    detail::docker::BuildParams params;
    params.tags.push_back(tag);
    params.build_args = source_.build_args;
    params.network_mode = docker_options_.network_mode;
    std::optional<fs::path> outside;
    const auto rel = dockerfile.lexically_relative(context);
    if (rel.empty() || *rel.begin() == "..") {
        outside = dockerfile;
        params.dockerfile = ".stirrup-dockerfile-" + hash;
    } else {
        params.dockerfile = rel.generic_string();
    }

    AsyncMutex& mutex = lock_for("build " + dockerfile.string());
    co_await mutex.lock();
    Unlock unlock{mutex};
    std::string archive;
    co_await detail::offload([&] { archive = context_archive(context, outside, params.dockerfile); });
    std::optional<std::string> failure;
    try {
        co_await client_->build(std::move(archive), std::move(params));
    } catch (const detail::docker::ApiError& e) {
        failure = e.engine_message();
    } catch (const detail::docker::StreamFailure& e) {
        failure = e.what();
    }
    if (failure)
        throw Error("Failed to build Docker image: " + *failure);
    image_ = tag;
}

std::string dockerfile_image_tag(const std::filesystem::path& dockerfile)
{
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(dockerfile), ec);
    return "stirrup-exec-env-" + md5_hex((ec ? dockerfile : canonical).string()).substr(0, 8);
}

} // namespace stirrup
