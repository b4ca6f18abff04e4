#pragma once
// The user_input tool (Stirrup's USER_INPUT_TOOL, tools/user_input.py): the
// model asks the person running the agent one question and gets the answer
// as the tool result. Who answers is a callback: the terminal by default, or
// anything that can produce a string asynchronously (a web UI, a test script).

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "stirrup/core/tool.hpp"
#include "stirrup/core/tool_params.hpp"

namespace stirrup {

struct UserInputParams {
    std::string question;
    std::string question_type;
    std::optional<std::vector<std::string>> choices;
    std::string default_value; ///< "default" to the model

    static auto stirrup_params()
    {
        return params<UserInputParams>(
            "UserInputParams",
            "Parameters for asking the user a single question.\n\nSupports three question types:\n"
            "- \"text\": Free-form text input (default)\n- \"choice\": Multiple choice from a list of options\n"
            "- \"confirm\": Yes/no confirmation",
            field(&UserInputParams::question, "question",
                  "A single question to ask the user (*not* multiple questions)"),
            field(&UserInputParams::question_type, "question_type",
                  "Type of question: 'text' for free-form, 'choice' for multiple choice, 'confirm' for yes/no")
                .with_default("text")
                .one_of({"text", "choice", "confirm"}),
            field(&UserInputParams::choices, "choices",
                  "List of valid choices (required when question_type is 'choice')"),
            field(&UserInputParams::default_value, "default", "Default value if user presses Enter without input")
                .with_default(""));
    }
};

/// What the callback is asked.
struct UserQuestion {
    std::string question;
    /// "text", "choice" or "confirm".
    std::string question_type;
    /// The allowed answers of a "choice" question (may be empty: then any text).
    std::vector<std::string> choices;
    /// The answer an empty reply stands for.
    std::string default_value;
};

/// Produces the user's reply to one question. An exception makes the tool
/// call fail (the run goes on); cancellation propagates.
using UserInputCallback = std::function<boost::asio::awaitable<std::string>(const UserQuestion&)>;

inline constexpr const char* kUserInputToolName = "user_input";
// The missing spaces after "response." and "tool." are Stirrup's.
inline constexpr const char* kUserInputToolDescription =
    "Ask the user a question when you need clarification or are uncertain. "
    "Supports three types: 'text' for free-form input, 'choice' for multiple choice "
    "(provide choices list), 'confirm' for yes/no questions. Returns the user's response."
    "There should only EVER be one question per call to this tool."
    "If you need to ask multiple questions, you should call this tool multiple times.";

/// The user_input tool. While the callback runs, the console logger's live
/// line is paused (ToolContext::pause_live/resume_live). The reply becomes
/// the result text: an empty reply gives the question's default; a confirm
/// question answers "yes" or "no" (y/yes/true/1 and n/no/false/0 in any
/// case, an empty reply meaning yes only when the default is one of the
/// "yes" words); a confirm reply that is none of these is passed through.
/// Without a callback, terminal_user_input() asks.
Tool user_input_tool(UserInputCallback callback = {});

/// Asks on the terminal: prints the question to stderr and reads one line
/// from stdin on a thread of its own, so the event loop keeps running.
/// Re-asks until a "choice" reply is one of the choices and a "confirm" reply
/// is y or n; an empty line means the default. Questions from concurrent
/// sessions are asked one at a time. Cancelling the awaiting operation makes
/// it throw operation_aborted at once, but the pending read still consumes
/// the next line typed. End of input throws stirrup::Error.
UserInputCallback terminal_user_input();

/// The blocking dialogue behind terminal_user_input(), on any streams.
/// Returns the answer ("yes"/"no" for confirm). Throws stirrup::Error when
/// `in` ends before a valid answer.
std::string ask_user_blocking(const UserQuestion& question, std::istream& in, std::ostream& out);

} // namespace stirrup
