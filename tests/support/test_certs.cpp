#include "support/test_certs.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

extern char** environ;

namespace stirrup::test {
namespace fs = std::filesystem;

namespace {

struct GeneratedCerts {
    TestCerts certs;
    ~GeneratedCerts()
    {
        std::error_code ec;
        fs::remove_all(certs.dir, ec);
    }
};

fs::path fresh_temp_dir()
{
    std::string templ = (fs::temp_directory_path() / "stirrup-certs-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw std::runtime_error("mkdtemp failed");
    return templ;
}

void run_gen_certs(const fs::path& dir)
{
    const std::string script = STIRRUP_SOURCE_DIR "/tests/fakes/gen-certs.sh";
    std::vector<std::string> args = {"bash", script, dir.string()};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, "bash", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc != 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("tests/fakes/gen-certs.sh failed");
}

} // namespace

const TestCerts& test_certs()
{
    static const GeneratedCerts generated = [] {
        GeneratedCerts g;
        TestCerts& c = g.certs;
        c.dir = fresh_temp_dir();
        run_gen_certs(c.dir);
        c.ca_cert = c.dir / "ca.pem";
        c.server_cert = c.cert("server");
        c.server_key = c.key("server");
        c.wrong_host_cert = c.cert("wronghost");
        c.wrong_host_key = c.key("wronghost");
        c.untrusted_cert = c.cert("untrusted");
        c.untrusted_key = c.key("untrusted");
        return g;
    }();
    return generated.certs;
}

} // namespace stirrup::test
