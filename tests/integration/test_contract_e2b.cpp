// The backend contract against the E2B backend, on the fake E2B server over
// TLS (real commands in a per-sandbox directory mounted at /home/user).

#include "backend_contract.hpp"

#include "stirrup/exec/e2b/e2b.hpp"
#include "support/fake_e2b.hpp"

namespace {

struct E2BBackend {
    static std::unique_ptr<stirrup::CodeExecProvider> make(const stirrup::CodeExecOptions& common)
    {
        auto o = stirrup::test::shared_fake_e2b().provider_options();
        static_cast<stirrup::CodeExecOptions&>(o) = common;
        return stirrup::E2BCodeExec::make(std::move(o));
    }
    static std::string resource(stirrup::CodeExecProvider& env)
    {
        return static_cast<stirrup::E2BCodeExec&>(env).sandbox_id().value_or("");
    }
    // Killed: the fake no longer lists it.
    static bool released(const std::string& sandbox_id)
    {
        if (sandbox_id.empty())
            return false;
        const auto listed = stirrup::test::shared_fake_e2b().sandboxes();
        for (const auto& sb : listed.as_array())
            if (sb.at("sandboxID") == sandbox_id.c_str())
                return false;
        return true;
    }
};

} // namespace

TYPE_TO_STRING(E2BBackend);
STIRRUP_BACKEND_CONTRACT(E2BBackend);
