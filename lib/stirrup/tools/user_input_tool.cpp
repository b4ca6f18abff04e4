#include "stirrup/tools/user_input_tool.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

namespace stirrup {
namespace asio = boost::asio;
namespace {

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::string lower_trimmed(std::string_view s)
{
    std::string out(trimmed(s));
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

/// Stirrup: a confirm question defaults to yes when its default reads as yes.
bool default_is_yes(const std::string& default_value)
{
    const std::string d = lower_trimmed(default_value);
    return d == "yes" || d == "y" || d == "true" || d == "1";
}

std::optional<bool> confirm_word(std::string_view reply)
{
    const std::string r = lower_trimmed(reply);
    if (r == "y" || r == "yes" || r == "true" || r == "1")
        return true;
    if (r == "n" || r == "no" || r == "false" || r == "0")
        return false;
    return std::nullopt;
}

std::string normalize_reply(const UserQuestion& q, std::string reply)
{
    if (q.question_type == "confirm") {
        if (reply.empty())
            return default_is_yes(q.default_value) ? "yes" : "no";
        const auto yes = confirm_word(reply);
        if (yes)
            return *yes ? "yes" : "no";
        return reply;
    }
    if (reply.empty())
        return q.default_value;
    return reply;
}

asio::awaitable<ToolResult> ask_user(UserInputCallback callback, UserInputParams params, ToolContext& context)
{
    UserQuestion question{std::move(params.question), std::move(params.question_type),
                          params.choices ? std::move(*params.choices) : std::vector<std::string>{},
                          std::move(params.default_value)};
    // The console's live line would draw over the question and the reply.
    context.pause_live();
    std::string reply;
    try {
        reply = co_await callback(question);
    } catch (...) {
        context.resume_live();
        throw;
    }
    context.resume_live();
    co_return ToolResult{normalize_reply(question, std::move(reply)), true, ToolMetadata::use_count(1)};
}

/// The schema exactly as pydantic prints it. pydantic sorts schema keys but
/// skips the mapping under a key named "default" (GenerateJsonSchema's
/// _sort_recursive), so the property called "default" keeps its generation
/// order, which puts "type" first.
std::string user_input_schema()
{
    boost::json::object schema = params_schema<UserInputParams>();
    boost::json::object& prop = schema["properties"].as_object()["default"].as_object();
    boost::json::object reordered;
    reordered["type"] = prop["type"];
    for (const auto& kv : prop)
        if (kv.key() != "type")
            reordered[kv.key()] = kv.value();
    prop = std::move(reordered);
    return boost::json::serialize(schema);
}

// ---- the terminal ----------------------------------------------------------

/// One question being read on its own thread. Whichever comes first, the
/// reply or a cancellation, completes the handler; the other finds it gone.
template <class Handler>
struct PendingReply {
    using Executor = asio::associated_executor_t<Handler>;

    std::mutex mutex;
    std::optional<Handler> handler;
    asio::executor_work_guard<Executor> work;

    PendingReply(Handler h, Executor ex) : handler(std::move(h)), work(asio::make_work_guard(ex)) {}

    void complete(std::exception_ptr error, std::string reply)
    {
        std::unique_lock lock(mutex);
        if (!handler)
            return;
        Handler h = std::move(*handler);
        handler.reset();
        auto guard = std::move(work);
        lock.unlock();
        // Posted, never run inline: a cancellation handler must not clear its
        // own slot (destroying itself) while it runs.
        asio::post(guard.get_executor(), [h = std::move(h), error, reply = std::move(reply)]() mutable {
            auto slot = asio::get_associated_cancellation_slot(h);
            if (slot.is_connected())
                slot.clear();
            std::move(h)(error, std::move(reply));
        });
    }
};

/// Serialises questions from concurrent sessions on the one terminal.
std::mutex& terminal_mutex()
{
    static std::mutex m;
    return m;
}

asio::awaitable<std::string> ask_on_terminal(UserQuestion question)
{
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::string)>(
        [&question](auto handler) {
            using Handler = decltype(handler);
            auto executor = asio::get_associated_executor(handler);
            auto slot = asio::get_associated_cancellation_slot(handler);
            auto pending = std::make_shared<PendingReply<Handler>>(std::move(handler), executor);
            if (slot.is_connected())
                slot.assign([pending](asio::cancellation_type) {
                    pending->complete(
                        std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)), {});
                });
            // A thread of its own rather than the shared blocking pool: a
            // person may take minutes to answer, and a cancelled read keeps
            // its thread until a line arrives. Detached, so process exit
            // does not wait for a reply nobody will type.
            std::thread([pending, question]() {
                try {
                    std::lock_guard lock(terminal_mutex());
                    pending->complete(nullptr, ask_user_blocking(question, std::cin, std::cerr));
                } catch (...) {
                    pending->complete(std::current_exception(), {});
                }
            }).detach();
        },
        asio::use_awaitable);
}

void print_question(const UserQuestion& q, std::ostream& out)
{
    out << "\n\xF0\x9F\xA4\x94 Agent Question\n" << q.question << '\n';
}

/// Rich's prompt line: "Your answer [a/b] (default): ".
void print_prompt(const UserQuestion& q, bool is_confirm, bool is_choice, std::ostream& out)
{
    out << "Your answer";
    if (is_confirm) {
        out << " [y/n] (" << (default_is_yes(q.default_value) ? "y" : "n") << ')';
    } else {
        if (is_choice) {
            out << " [";
            for (std::size_t i = 0; i < q.choices.size(); ++i)
                out << (i > 0 ? "/" : "") << q.choices[i];
            out << ']';
        }
        if (!q.default_value.empty())
            out << " (" << q.default_value << ')';
    }
    out << ": " << std::flush;
}

} // namespace

std::string ask_user_blocking(const UserQuestion& q, std::istream& in, std::ostream& out)
{
    const bool is_confirm = q.question_type == "confirm";
    // Stirrup: a choice question without choices is a free-text question.
    const bool is_choice = q.question_type == "choice" && !q.choices.empty();
    print_question(q, out);
    for (;;) {
        print_prompt(q, is_confirm, is_choice, out);
        std::string line;
        if (!std::getline(in, line))
            throw Error("Input ended before the user answered the question");
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (is_confirm) {
            if (line.empty())
                return default_is_yes(q.default_value) ? "yes" : "no";
            const auto yes = confirm_word(line);
            if (yes)
                return *yes ? "yes" : "no";
            out << "Please enter Y or N\n";
            continue;
        }
        // Like Rich's Prompt: an empty line is the default as given; anything
        // else is stripped, then checked against the choices.
        if (line.empty())
            return q.default_value;
        std::string reply(trimmed(line));
        if (is_choice && std::find(q.choices.begin(), q.choices.end(), reply) == q.choices.end()) {
            out << "Please select one of the available options\n";
            continue;
        }
        return reply;
    }
}

UserInputCallback terminal_user_input()
{
    return [](const UserQuestion& q) { return ask_on_terminal(q); };
}

Tool user_input_tool(UserInputCallback callback)
{
    if (!callback)
        callback = terminal_user_input();
    Tool tool = make_tool<UserInputParams>(kUserInputToolName, kUserInputToolDescription,
                                           [callback = std::move(callback)](UserInputParams p, ToolContext& c) {
                                               return ask_user(callback, std::move(p), c);
                                           });
    tool.parameters_schema = user_input_schema();
    return tool;
}

} // namespace stirrup
