// libFuzzer target for envd's Connect stream decoding. Invariants: the
// process-stream reader fed whole, in pieces (sizes from the first byte) and
// byte by byte reaches the same state (output, pid, end event, end-stream
// error, failure message); only ProtocolError escapes; a decoded envelope
// re-encodes to the bytes it came from.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stirrup/exec/e2b/detail/connect.hpp"

#include "fuzz_harness.hpp"

namespace {

using namespace stirrup::detail::e2b;
using stirrup::fuzz::require;

struct Outcome {
    std::string out, err;
    std::optional<std::uint32_t> pid;
    bool has_end = false;
    int exit_code = 0;
    bool finished = false;
    std::optional<std::string> error_code;
    bool failed = false;
    std::string failure;
};

template <class Split>
Outcome run(std::string_view in, Split&& next_size)
{
    Outcome o;
    StartStreamReader r(1024);
    const StartStreamReader::OutputSink sink = [&](int id, std::string_view b) {
        require(id == 1 || id == 2);
        require(!b.empty());
        (id == 2 ? o.err : o.out).append(b);
    };
    try {
        stirrup::fuzz::feed_pieces(in, next_size, [&](std::string_view piece) { r.feed(piece, sink); });
    } catch (const ProtocolError& e) {
        o.failed = true;
        o.failure = e.what();
    }
    o.pid = r.pid();
    if (r.end()) {
        o.has_end = true;
        o.exit_code = r.end()->exit_code;
    }
    o.finished = r.finished();
    if (r.error())
        o.error_code = r.error()->code;
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto input = stirrup::fuzz::split_seed(data, size);
    if (!input)
        return 0;
    const std::uint8_t seed = input->seed;
    const std::string_view in = input->rest;

    const auto [whole, pieces, bytes] =
        stirrup::fuzz::whole_pieces_bytes(in, {.seed = seed}, [&](auto&& next) { return run(in, next); });
    for (const Outcome* o : {&pieces, &bytes}) {
        require(o->failed == whole.failed);
        require(o->failure == whole.failure);
        require(o->out == whole.out && o->err == whole.err);
        require(o->pid == whole.pid);
        require(o->has_end == whole.has_end && o->exit_code == whole.exit_code);
        require(o->finished == whole.finished);
        require(o->error_code == whole.error_code);
    }

    // Envelopes alone: what decodes re-encodes to the same bytes.
    EnvelopeDecoder d(4096);
    std::string again;
    try {
        d.feed(in, [&](Envelope&& e) { again += encode_envelope(e.payload, e.flags); });
        if (d.at_boundary())
            require(again == in);
        else
            require(in.substr(0, again.size()) == again);
    } catch (const ProtocolError&) {
        require(in.substr(0, again.size()) == again);
    }

    // The single-message parsers on the raw input.
    try {
        (void)parse_process_event(in);
    } catch (const ProtocolError&) {
    }
    try {
        (void)parse_end_stream(in);
    } catch (const ProtocolError&) {
    }
    const ConnectError u = parse_unary_error(400 + seed, in);
    require(!u.code.empty() && !u.message.empty());
    return 0;
}
