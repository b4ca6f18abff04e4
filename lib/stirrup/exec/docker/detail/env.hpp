#pragma once
// The environment a Docker container gets: variables forwarded by name from
// the process environment, as Stirrup does after python-dotenv's
// load_dotenv() (a .env file in the current directory, never overriding
// what is already set). The .env values are looked up, not put into the
// process environment: setenv is not safe while other threads run.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stirrup::detail::docker {

/// python-dotenv's parse of a .env text: `KEY=value` lines, optional
/// `export `, `#` comments, single quotes (literal), double quotes (escapes,
/// several lines), unquoted values (a ` #comment` stripped, trimmed), and
/// ${NAME} / ${NAME:-default} expanded in unquoted and double-quoted values
/// from `getenv` first, then from the keys read so far. Lines it cannot
/// parse are skipped, as python-dotenv does (it only warns).
std::map<std::string, std::string>
parse_dotenv(std::string_view text, const std::function<std::optional<std::string>(std::string_view)>& getenv);

/// ./.env parsed, or empty when there is none.
std::map<std::string, std::string> load_dotenv_file();

struct ForwardedEnv {
    /// "NAME=value", in the order asked.
    std::vector<std::string> entries;
    /// Names found neither in the environment nor in the .env file.
    std::vector<std::string> missing;
};

/// For each name: its value in the process environment, else in `dotenv`.
ForwardedEnv forward_env(const std::vector<std::string>& names,
                         const std::function<std::optional<std::string>(std::string_view)>& getenv,
                         const std::map<std::string, std::string>& dotenv);

/// std::getenv as the functions above take it.
std::optional<std::string> process_getenv(std::string_view name);

} // namespace stirrup::detail::docker
