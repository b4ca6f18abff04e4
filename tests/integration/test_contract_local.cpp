// The backend contract against the local backend.

#include "backend_contract.hpp"

#include "stirrup/exec/local/local.hpp"

namespace {

struct LocalBackend {
    static std::unique_ptr<stirrup::CodeExecProvider> make(const stirrup::CodeExecOptions& common)
    {
        stirrup::LocalCodeExecOptions o;
        static_cast<stirrup::CodeExecOptions&>(o) = common;
        return stirrup::LocalCodeExec::make(std::move(o));
    }
    static std::string resource(stirrup::CodeExecProvider& env)
    {
        return static_cast<stirrup::LocalCodeExec&>(env).temp_dir()->string();
    }
    static bool released(const std::string& temp_dir) { return !std::filesystem::exists(temp_dir); }
};

} // namespace

TYPE_TO_STRING(LocalBackend);
STIRRUP_BACKEND_CONTRACT(LocalBackend);
