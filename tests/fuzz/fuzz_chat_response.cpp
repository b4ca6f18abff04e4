// libFuzzer target for the chat-completions response side: the whole-body
// parser, the HTTP error mapping and the stream assembler fed through the SSE
// parser. Arbitrary bytes may only produce the library's own errors
// (stirrup::Error subclasses); any other exception escapes and is reported
// as a crash by libFuzzer, as is any memory error under ASan/UBSan.
//
// Byte 0 chooses the split point of the SSE feed and the HTTP status.

#include <cstdint>
#include <string>
#include <string_view>

#include "stirrup/core/error.hpp"
#include "stirrup/llm/detail/chat_completions_format.hpp"
#include "stirrup/llm/detail/chat_stream_assembler.hpp"
#include "stirrup/net/detail/sse_parser.hpp"

#include "fuzz_harness.hpp"

namespace chat = stirrup::detail::chat;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    const std::size_t selector = data[0];
    const std::string_view in = stirrup::fuzz::as_text(data + 1, size - 1);
    const chat::ResponseContext context{"model", 100};

    try {
        (void)chat::parse_response(in, context);
    } catch (const stirrup::Error&) {
    }

    try {
        chat::throw_http_error(400 + static_cast<int>(selector % 200), in);
    } catch (const stirrup::Error&) {
    }

    // The bytes as an SSE body, in two pieces.
    {
        stirrup::net::detail::SseParser parser;
        chat::ChatStreamAssembler assembler(context);
        const std::size_t split = selector % (in.size() + 1);
        try {
            for (const auto piece : {in.substr(0, split), in.substr(split)})
                for (const auto& event : parser.feed(piece))
                    assembler.feed(event.data, event.type);
            (void)assembler.finish();
        } catch (const stirrup::Error&) {
        }
    }

    // The bytes as the data of chunk events, split at newlines, so JSON that
    // reaches the assembler is not first filtered by SSE framing.
    {
        chat::ChatStreamAssembler assembler(context);
        try {
            std::size_t start = 0;
            while (start <= in.size()) {
                std::size_t end = in.find('\n', start);
                if (end == std::string_view::npos)
                    end = in.size();
                assembler.feed(in.substr(start, end - start));
                start = end + 1;
            }
            (void)assembler.finish();
        } catch (const stirrup::Error&) {
        }
    }
    return 0;
}
