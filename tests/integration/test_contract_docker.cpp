// The backend contract against the Docker backend, in both file modes: a
// bind-mounted host directory, and tar archives through the engine (as with a
// remote engine).

#include "backend_contract.hpp"

#include "stirrup/exec/docker/docker.hpp"
#include "support/docker_env.hpp"

namespace {

template <stirrup::DockerFileMode Mode>
struct DockerBackend {
    static std::unique_ptr<stirrup::CodeExecProvider> make(const stirrup::CodeExecOptions& common)
    {
        auto o = stirrup::test::docker_options(Mode);
        static_cast<stirrup::CodeExecOptions&>(o) = common;
        return stirrup::DockerCodeExec::from_image(stirrup::test::docker_test_image(), std::move(o));
    }
    static std::string resource(stirrup::CodeExecProvider& env)
    {
        return static_cast<stirrup::DockerCodeExec&>(env).container_id().value_or("");
    }
    static bool released(const std::string& container_id)
    {
        return !container_id.empty() && !stirrup::test::inspect_container(container_id).has_value();
    }
};

using DockerBindMount = DockerBackend<stirrup::DockerFileMode::bind_mount>;
using DockerArchive = DockerBackend<stirrup::DockerFileMode::archive>;

} // namespace

TYPE_TO_STRING(DockerBindMount);
TYPE_TO_STRING(DockerArchive);
STIRRUP_BACKEND_CONTRACT(DockerBindMount);
STIRRUP_BACKEND_CONTRACT(DockerArchive);
