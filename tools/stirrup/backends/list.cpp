// The CLI's backends: one line each, in alphabetical order (texts name the
// default first). A backend is defined in backends/<name>.cpp as
// `const Backend <name>_backend`.

#include "backend.hpp"

#define STIRRUP_CLI_BACKENDS(X)                                                                                        \
    X(docker)                                                                                                          \
    X(e2b)                                                                                                             \
    X(local)

namespace stirrup::cli {

#define STIRRUP_CLI_DECLARE(name) extern const Backend name##_backend;
STIRRUP_CLI_BACKENDS(STIRRUP_CLI_DECLARE)
#undef STIRRUP_CLI_DECLARE

const std::string_view default_backend = "local";

const std::vector<const Backend*>& backends()
{
#define STIRRUP_CLI_ENTRY(name) &name##_backend,
    static const std::vector<const Backend*> list{STIRRUP_CLI_BACKENDS(STIRRUP_CLI_ENTRY)};
#undef STIRRUP_CLI_ENTRY
    return list;
}

} // namespace stirrup::cli
