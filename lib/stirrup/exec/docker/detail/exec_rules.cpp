#include "stirrup/exec/docker/detail/exec_rules.hpp"

#include "stirrup/pycompat/detail/shlex.hpp"

namespace stirrup::detail::docker {

const std::string_view missing_timeout_advice =
    "DockerCodeExecToolProvider wraps every command with coreutils `timeout(1)` to enforce the per-command "
    "shell_timeout. The active image does not provide it. Use a base image that includes coreutils (most "
    "Debian/Ubuntu/Alpine images do) or install it (e.g. `apt-get install -y coreutils` / `apk add coreutils`).";

const std::string_view docker_api_error_advice = "Docker API error occurred. Check Docker daemon is running.";

namespace {

bool starts_with(std::string_view s, std::string_view p)
{
    return s.substr(0, p.size()) == p;
}

bool contains(std::string_view s, std::string_view p)
{
    return s.find(p) != std::string_view::npos;
}

// The kill script. `$1` is the marker value. stderr is silenced: processes
// vanish between listing /proc and reading their files.
constexpr std::string_view kill_script = R"sh(exec 2>/dev/null
m="STIRRUP_EXEC_ID=$1"
for round in 1 2 3 4 5 6 7 8; do
  pids=
  sids=' '
  for d in /proc/[0-9]*; do
    case "$(cat "$d/environ")" in
      *"$m"*)
        read -r st < "$d/stat" || continue
        st=${st##*) }
        set -- $st
        [ "$1" = Z ] && continue
        pids="$pids ${d#/proc/}"
        sids="$sids$4 " ;;
    esac
  done
  [ "$sids" = ' ' ] && exit 0
  for d in /proc/[0-9]*; do
    read -r st < "$d/stat" || continue
    st=${st##*) }
    set -- $st
    [ "$1" = Z ] && continue
    case "$sids" in *" $4 "*) pids="$pids ${d#/proc/}" ;; esac
  done
  kill -KILL $pids
done
exit 0
)sh";

} // namespace

std::vector<std::string> timeout_wrapped_argv(const PreparedCommand& cmd, std::chrono::milliseconds timeout)
{
    const std::string t = seconds_text(timeout) + "s";
    if (cmd.argv) {
        std::vector<std::string> argv{"timeout", "--kill-after=5s", t};
        argv.insert(argv.end(), cmd.argv->begin(), cmd.argv->end());
        return argv;
    }
    return {"bash", "-c", "timeout --kill-after=5s " + t + " bash -c " + detail::shell::quote(cmd.shell)};
}

std::vector<std::string> kill_marked_argv(std::string_view marker)
{
    return {"sh", "-c", std::string(kill_script), "stirrup-kill", std::string(marker)};
}

std::optional<std::string> engine_exec_error(int exit_code, std::string_view out, std::string_view err)
{
    if (exit_code != 126 && exit_code != 127)
        return std::nullopt;
    if (!err.empty() || out.size() < 2 || out.size() > 8192 || out.substr(out.size() - 2) != "\r\n")
        return std::nullopt;
    // The daemon writes the error with fmt.Fprintf(stdout, "%v\r\n", err).
    for (std::string_view prefix : {"OCI runtime exec failed", "OCI runtime", "unable to find user",
                                    "Error: Exec command", "exec failed", "failed to"})
        if (starts_with(out, prefix))
            return std::string(out.substr(0, out.size() - 2));
    return std::nullopt;
}

std::string timed_out_message(std::chrono::milliseconds timeout)
{
    return "Command timed out after " + seconds_text(timeout) + " seconds";
}

CommandResult exec_command_result(int exit_code, std::string stdout_text, std::string stderr_text,
                                  std::chrono::milliseconds timeout)
{
    CommandResult r;
    r.exit_code = exit_code;
    if (auto engine = engine_exec_error(exit_code, stdout_text, stderr_text)) {
        r.stderr_text = *engine;
        if (contains(*engine, "\"timeout\"") && (contains(*engine, "not found") || contains(*engine, "no such file"))) {
            r.error_kind = "image_missing_timeout";
            r.advice = std::string(missing_timeout_advice);
        } else {
            r.error_kind = "execution_error";
        }
        return r;
    }
    r.stdout_text = std::move(stdout_text);
    if (exit_code == 124 || exit_code == 137) {
        const std::string message = timed_out_message(timeout);
        r.stderr_text = stderr_text.empty() ? message : stderr_text + "\n" + message;
        r.error_kind = "timeout";
        return r;
    }
    if (exit_code == 127 && contains(stderr_text, "timeout") && contains(stderr_text, "not found")) {
        r.error_kind = "image_missing_timeout";
        r.advice = std::string(missing_timeout_advice);
    }
    r.stderr_text = std::move(stderr_text);
    return r;
}

CommandResult client_timeout_result(std::chrono::milliseconds timeout)
{
    CommandResult r;
    r.exit_code = 1;
    r.stderr_text = timed_out_message(timeout);
    r.error_kind = "timeout";
    return r;
}

} // namespace stirrup::detail::docker
