#include "support/fake_e2b.hpp"

#include <stdexcept>
#include <vector>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include "support/eventually.hpp"

namespace stirrup::test {

FakeE2B::FakeE2B() : FakeE2B(Options{}) {}

FakeE2B::FakeE2B(Options options) : options_(std::move(options))
{
    const auto& certs = test_certs();
    std::vector<std::string> args = {"--api-key", options_.api_key};
    if (options_.plain)
        args.push_back("--plain");
    else
        args.insert(args.end(), {"--cert", certs.server_cert.string(), "--key", certs.server_key.string()});
    server_ = std::make_unique<NodeServer>(STIRRUP_SOURCE_DIR "/tests/fakes/e2b/server.mjs", std::move(args));
    port_ = server_->port();
}

FakeE2B::~FakeE2B() = default;

std::string FakeE2B::url() const
{
    return std::string(options_.plain ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_);
}

E2BCodeExecOptions FakeE2B::provider_options() const
{
    E2BCodeExecOptions o;
    o.api_key = options_.api_key;
    o.api_url = url();
    o.sandbox_url = url();
    o.http_options.tls.ca_file = test_certs().ca_cert.string();
    o.http_options.use_env_proxy = false;
    return o;
}

std::string FakeE2B::control(const std::string& method, const std::string& path, const std::string& body) const
{
    const auto response = blocking_request(method, url() + path, body);
    if (response.status != 200)
        throw std::runtime_error(method + " " + path + " answered " + std::to_string(response.status) + ": " +
                                 response.body);
    return response.body;
}

boost::json::value FakeE2B::stats() const
{
    return boost::json::parse(control("GET", "/__stats"));
}
boost::json::value FakeE2B::sandboxes() const
{
    return boost::json::parse(control("GET", "/__sandboxes"));
}
boost::json::value FakeE2B::requests() const
{
    return boost::json::parse(control("GET", "/__requests"));
}
void FakeE2B::clear_requests() const
{
    control("DELETE", "/__requests");
}
void FakeE2B::set_faults(const std::string& json) const
{
    control("POST", "/__faults", json);
}
void FakeE2B::clear_faults() const
{
    control("DELETE", "/__faults");
}
void FakeE2B::vanish(const std::string& id) const
{
    control("POST", "/__sandboxes/" + id + "/vanish", "{}");
}
void FakeE2B::reset() const
{
    control("POST", "/__reset", "{}");
}

std::int64_t FakeE2B::live_sandboxes() const
{
    return stats().at("live_sandboxes").to_number<std::int64_t>();
}
std::int64_t FakeE2B::running_processes() const
{
    return stats().at("running_processes").to_number<std::int64_t>();
}

std::int64_t FakeE2B::route_count(const std::string& route) const
{
    const auto s = stats();
    const auto* v = s.at("requests_by_route").as_object().if_contains(route);
    return v ? v->to_number<std::int64_t>() : 0;
}

FakeE2B& shared_fake_e2b()
{
    static FakeE2B fake;
    return fake;
}

FakeE2B& fresh_fake_e2b()
{
    auto& fake = shared_fake_e2b();
    fake.reset();
    return fake;
}

void check_fake_e2b_clean(FakeE2B& fake)
{
    CHECK(eventually([&] { return fake.live_sandboxes() == 0; }));
    CHECK(eventually([&] { return fake.running_processes() == 0; }));
}

} // namespace stirrup::test
