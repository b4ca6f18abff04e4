// --backend e2b.

#include <cstdlib>
#include <optional>

#include "../backend_args.hpp"
#include "../cli_args.hpp"
#include "stirrup/exec/e2b/e2b.hpp"

namespace stirrup::cli {

namespace {

constexpr const char* e2b_options_usage =
    R"(e2b (E2B_API_KEY; E2B_API_URL or E2B_DOMAIN; E2B_SANDBOX_URL; SSL_CERT_FILE for a private CA):
  --template NAME       the sandbox template (base)
  --lifetime S          seconds the sandbox may live (600)
  --env NAME            (also for e2b) set this variable in the sandbox from the environment
)";

class E2BOptions final : public BackendOptions {
public:
    bool parse_flag(const std::vector<std::string>& args, std::size_t& i) override
    {
        const std::string& arg = args[i];
        if (arg == "--template")
            template_id_ = flag_value(args, i);
        else if (arg == "--lifetime")
            lifetime_ = parse_seconds(arg, flag_value(args, i));
        else
            return false;
        return true;
    }

    bool any() const override { return template_id_ || lifetime_; }

    void check(const BackendArgs& a) const override
    {
        if (a.temp_base_dir)
            throw UsageError("--temp-base-dir has no effect with --backend e2b (files live in the sandbox)");
    }

    std::unique_ptr<CodeExecProvider> make_provider(const BackendArgs& a) const override
    {
        return E2BCodeExec::make(options(a));
    }

    std::shared_ptr<CodeExecToolProvider> make_tool_provider(const BackendArgs& a) const override
    {
        return e2b_code_exec(options(a));
    }

private:
    E2BCodeExecOptions options(const BackendArgs& a) const
    {
        E2BCodeExecOptions o;
        apply_common(a, o);
        if (template_id_)
            o.template_id = *template_id_;
        if (lifetime_)
            o.lifetime = *lifetime_;
        // Values are read here, by name, like Docker's forwarding; E2B takes
        // them in the create request.
        for (const auto& name : a.env_vars)
            if (const char* v = std::getenv(name.c_str()))
                o.env_vars[name] = v;
        return o;
    }

    std::optional<std::string> template_id_;
    std::optional<Milliseconds> lifetime_;
};

} // namespace

extern const Backend e2b_backend{
    .name = "e2b",
    .summary = "e2b",
    .usage = e2b_options_usage,
    .misplaced_error = "--template and --lifetime need --backend e2b",
    .options = []() -> std::unique_ptr<BackendOptions> { return std::make_unique<E2BOptions>(); },
    .command = nullptr,
    .command_usage = "",
};

} // namespace stirrup::cli
