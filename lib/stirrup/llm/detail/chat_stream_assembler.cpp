#include "stirrup/llm/detail/chat_stream_assembler.hpp"
#include "stirrup/llm/detail/json_fields.hpp"

#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "stirrup/llm/errors.hpp"

namespace json = boost::json;

namespace stirrup::detail::chat {

namespace {

const json::string* string_member(const json::value& v, std::string_view key)
{
    const auto* p = member(v, key);
    return p && p->is_string() ? &p->get_string() : nullptr;
}

std::optional<std::int64_t> integer(const json::value* v)
{
    if (!v)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v->get_uint64());
    return std::nullopt;
}

[[noreturn]] void invalid(const std::string& why, std::string_view data)
{
    throw LlmApiError(200, std::string("invalid_response"), "invalid chat completion stream: " + why,
                      std::string(data));
}

} // namespace

ChatStreamAssembler::ChatStreamAssembler(ResponseContext context) : context_(std::move(context)) {}

void ChatStreamAssembler::feed(std::string_view data, std::string_view event)
{
    if (done_)
        return;
    if (event == "error")
        throw_http_error(200, data);
    if (data == "[DONE]") {
        done_ = true;
        return;
    }
    feed_chunk(data);
}

void ChatStreamAssembler::feed_chunk(std::string_view data)
{
    std::error_code ec;
    const json::value v = json::parse(data, ec);
    if (ec)
        invalid("chunk is not JSON (" + ec.message() + ")", data);
    if (!v.is_object())
        invalid("chunk is not a JSON object", data);
    if (member(v, "error"))
        throw_http_error(200, data);
    ++chunks_;

    if (!raw_.response_id)
        if (const auto* id = string_member(v, "id"))
            raw_.response_id = std::string(*id);

    if (const auto* usage = member(v, "usage"); usage && usage->is_object()) {
        raw_.prompt_tokens = count_of(member(*usage, "prompt_tokens"));
        raw_.completion_tokens = count_of(member(*usage, "completion_tokens"));
        const auto* details = member(*usage, "completion_tokens_details");
        raw_.reasoning_tokens = details ? count_of(member(*details, "reasoning_tokens")) : 0;
    }

    const auto* choices = member(v, "choices");
    if (!choices)
        return;
    if (!choices->is_array())
        invalid("choices is not a list", data);
    for (const auto& choice : choices->get_array()) {
        if (!choice.is_object())
            invalid("a choice is not an object", data);
        // Only the first choice is assembled, as the non-streaming path reads choices[0].
        if (integer(member(choice, "index")).value_or(0) != 0)
            continue;
        saw_choice_ = true;
        if (const auto* fr = string_member(choice, "finish_reason"))
            raw_.finish_reason = std::string(*fr);
        const auto* delta = member(choice, "delta");
        if (!delta)
            continue;
        if (!delta->is_object())
            invalid("delta is not an object", data);
        if (const auto* c = member(*delta, "content")) {
            if (c->is_string())
                raw_.content += c->get_string();
            else if (c->is_array())
                for (const auto& part : c->get_array())
                    if (const auto* t = string_member(part, "text"))
                        raw_.content += *t;
        }
        if (const auto* r = string_member(*delta, "reasoning_content"))
            raw_.reasoning_content += *r;

        const auto* calls = member(*delta, "tool_calls");
        if (!calls)
            continue;
        if (!calls->is_array())
            invalid("tool_calls is not a list", data);
        for (const auto& call : calls->get_array()) {
            if (!call.is_object())
                invalid("a tool call delta is not an object", data);
            const auto* id = string_member(call, "id");
            std::int64_t index;
            if (const auto i = integer(member(call, "index"))) {
                index = *i;
            } else {
                // Servers that leave out "index" send each call whole or
                // start each one with its id.
                const bool new_call = last_index_ < 0 || (id && !id->empty() && calls_[last_index_].call.id &&
                                                          *calls_[last_index_].call.id != *id);
                index = new_call ? (calls_.empty() ? 0 : calls_.rbegin()->first + 1) : last_index_;
            }
            last_index_ = index;
            PartialCall& partial = calls_[index];
            // The id arrives once; some servers repeat it in every delta.
            if (id && !id->empty() && !partial.call.id)
                partial.call.id = std::string(*id);
            const auto* function = member(call, "function");
            if (!function)
                continue;
            if (!function->is_object())
                invalid("a tool call function is not an object", data);
            if (const auto* name = string_member(*function, "name")) {
                if (!partial.call.name)
                    partial.call.name.emplace();
                *partial.call.name += *name;
            }
            if (const auto* args = member(*function, "arguments")) {
                if (args->is_string())
                    partial.call.arguments += args->get_string();
                else
                    partial.call.arguments += json::serialize(*args);
            }
        }
    }
}

AssistantMessage ChatStreamAssembler::finish()
{
    if (!done_ && !raw_.finish_reason)
        invalid(chunks_ == 0 ? "the stream ended without any chunk" : "the stream ended before the model finished", "");
    if (!saw_choice_)
        invalid("no choices", "");
    RawCompletion raw = std::move(raw_);
    raw_ = RawCompletion{};
    for (auto& [index, partial] : calls_)
        raw.tool_calls.push_back(std::move(partial.call));
    calls_.clear();
    return to_assistant_message(std::move(raw), context_);
}

} // namespace stirrup::detail::chat
