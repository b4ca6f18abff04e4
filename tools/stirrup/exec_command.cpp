#include "exec_command.hpp"

#include <csignal>
#include <iostream>
#include <optional>
#include <stdexcept>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "backend_args.hpp"
#include "cli_args.hpp"
#include "stirrup/exec/detail/format_result.hpp"

namespace stirrup::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct ExecArgs {
    BackendArgs env;
    std::vector<std::string> inputs;
    std::optional<std::string> output;
    std::vector<std::string> saves;
    bool json = false;
    std::vector<std::string> commands;
};

ExecArgs parse(const std::vector<std::string>& args)
{
    ExecArgs a;
    std::size_t i = 0;
    auto value = [&](const std::string& flag) -> const std::string& {
        if (i + 1 >= args.size())
            throw UsageError(flag + " needs a value");
        return args[++i];
    };
    for (; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            a.commands.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (parse_backend_flag(args, i, a.env))
            continue;
        if (arg == "--input")
            a.inputs.push_back(value(arg));
        else if (arg == "--output")
            a.output = value(arg);
        else if (arg == "--save")
            a.saves.push_back(value(arg));
        else if (arg == "--json")
            a.json = true;
        else
            throw UsageError("unknown option '" + arg + "' (commands go after --)");
    }
    if (a.commands.empty())
        throw UsageError("no command given: stirrup exec [options] -- CMD [CMD...]");
    check_backend_args(a.env);
    if (!a.saves.empty() && !a.output)
        throw UsageError("--save needs --output DIR");
    return a;
}

json::value optional_text(const std::optional<std::string>& s)
{
    return s ? json::value(*s) : json::value(nullptr);
}

void print_result(const ExecArgs& a, const CommandResult& r)
{
    if (!a.json) {
        std::cout << detail::format_result(r) << '\n';
        return;
    }
    json::object o;
    o["exit_code"] = r.exit_code;
    o["stdout"] = r.stdout_text;
    o["stderr"] = r.stderr_text;
    o["error_kind"] = optional_text(r.error_kind);
    o["advice"] = optional_text(r.advice);
    std::cout << json::serialize(o) << '\n';
}

void print_saved(const ExecArgs& a, const SaveOutputFilesResult& r)
{
    if (a.json) {
        json::array saved;
        for (const auto& f : r.saved)
            saved.push_back(json::object{{"source", f.source_path}, {"path", f.output_path}, {"size", f.size}});
        json::object failed;
        for (const auto& [src, reason] : r.failed)
            failed[src] = reason;
        std::cout << json::serialize(json::object{{"saved", std::move(saved)}, {"failed", std::move(failed)}}) << '\n';
        return;
    }
    for (const auto& f : r.saved)
        std::cout << "saved " << f.source_path << " -> " << f.output_path << " (" << f.size << " bytes)\n";
    for (const auto& [src, reason] : r.failed)
        std::cout << "failed " << src << ": " << reason << '\n';
}

int shell_status(int exit_code)
{
    // A signal death is -N in Python's convention; shells report 128+N.
    if (exit_code < 0)
        return 128 - exit_code;
    return exit_code & 0xff;
}

awaitable<int> run(const ExecArgs& a)
{
    auto env = make_provider(a.env);
    CodeExecProvider& provider = *env;
    co_await provider.start();
    int status = 0;
    std::exception_ptr failure;
    try {
        if (!a.inputs.empty()) {
            auto uploaded = co_await provider.upload_files(a.inputs);
            for (const auto& [src, reason] : uploaded.skipped)
                std::cerr << "stirrup: warning: " << src << " skipped: " << reason << '\n';
            if (!uploaded.failed.empty()) {
                for (const auto& [src, reason] : uploaded.failed)
                    std::cerr << "stirrup: cannot upload " << src << ": " << reason << '\n';
                status = 1;
            }
        }
        for (std::size_t i = 0; status == 0 && i < a.commands.size(); ++i) {
            auto result = co_await provider.run_command(a.commands[i]);
            print_result(a, result);
            if (i + 1 == a.commands.size())
                status = shell_status(result.exit_code);
        }
        if (!a.saves.empty() && a.output) {
            auto saved = co_await provider.save_output_files(a.saves, *a.output);
            print_saved(a, saved);
        }
    } catch (...) {
        failure = std::current_exception();
    }
    co_await provider.stop();
    if (failure)
        std::rethrow_exception(failure);
    co_return status;
}

} // namespace

const char* const exec_usage_head = R"(usage: stirrup exec [options] -- CMD [CMD...]

Runs shell commands one after another in a fresh execution environment, as the
code_exec tool does, prints each result, and removes the environment. The exit
status is the last command's.

files:
  --input PATH          upload into the environment first (repeatable)
  --output DIR          where --save copies files to
  --save PATH           a file to copy out of the environment at the end (repeatable)
  --json                one JSON object per result on stdout
)";

int exec_command(const std::vector<std::string>& args)
{
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << exec_usage_head << backend_usage();
        return 0;
    }
    ExecArgs parsed;
    try {
        parsed = parse(args);
    } catch (const std::exception& e) {
        std::cerr << "stirrup exec: " << e.what() << '\n';
        return 1;
    }

    asio::io_context io;
    asio::cancellation_signal cancel;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    int status = 1;
    bool interrupted = false;
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec)
            return;
        interrupted = true;
        cancel.emit(asio::cancellation_type::terminal);
    });
    asio::co_spawn(io, run(parsed), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, int s) {
                       signals.cancel();
                       if (!e) {
                           status = s;
                           return;
                       }
                       try {
                           std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                           if (!interrupted)
                               std::cerr << "stirrup exec: " << ex.what() << '\n';
                           status = interrupted ? 130 : 1;
                       }
                   }));
    io.run();
    return status;
}

} // namespace stirrup::cli
