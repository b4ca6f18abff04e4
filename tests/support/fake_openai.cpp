#include "support/fake_openai.hpp"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>

#include <boost/json/parse.hpp>

namespace stirrup::test {
namespace fs = std::filesystem;

namespace {

fs::path fresh_temp_dir(const std::string& prefix)
{
    std::string templ = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (!::mkdtemp(templ.data()))
        throw std::runtime_error("mkdtemp failed");
    return templ;
}

} // namespace

FakeOpenAi::FakeOpenAi(const std::string& scenario) : FakeOpenAi(scenario, Options{}) {}

FakeOpenAi::FakeOpenAi(const std::string& scenario, Options options) : plain_(options.plain)
{
    const auto& certs = test_certs();
    dir_ = fresh_temp_dir("stirrup-fake-openai-");
    std::ofstream(dir_ / "scenario.json") << scenario;
    std::vector<std::string> args = {"--scenario", (dir_ / "scenario.json").string(), "--record",
                                     (dir_ / "requests.jsonl").string()};
    if (options.plain) {
        args.push_back("--plain");
    } else {
        args.insert(args.end(), {"--cert", certs.cert(options.certificate).string(), "--key",
                                 certs.key(options.certificate).string()});
    }
    if (options.forever)
        args.push_back("--forever");

    server_ = std::make_unique<NodeServer>(STIRRUP_SOURCE_DIR "/tests/fakes/openai/server.mjs", std::move(args));
    port_ = server_->port();
}

FakeOpenAi::~FakeOpenAi()
{
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string FakeOpenAi::base_url() const
{
    return std::string(plain_ ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::vector<boost::json::value> FakeOpenAi::requests() const
{
    std::vector<boost::json::value> out;
    std::ifstream in(dir_ / "requests.jsonl");
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.push_back(boost::json::parse(line));
    return out;
}

std::string FakeOpenAi::control_url(const std::string& path) const
{
    return std::string(plain_ ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeOpenAi::set_scenario(const std::string& json)
{
    const auto r = blocking_request("POST", control_url("/__scenario"), json);
    if (r.status != 200)
        throw std::runtime_error("the fake OpenAI server refused the scenario: " + r.body);
}

boost::json::value FakeOpenAi::stats()
{
    const auto r = blocking_request("GET", control_url("/__stats"));
    if (r.status != 200)
        throw std::runtime_error("GET /__stats answered " + std::to_string(r.status) + ": " + r.body);
    return boost::json::parse(r.body);
}

} // namespace stirrup::test
