// libFuzzer target for typed tool parameters: the model's argument text goes
// through parse_arguments_text and parse_params into a struct with every kind
// of field the library supports.
// Invariants: nothing but InvalidToolArguments is thrown; an accepted struct
// holds what the JSON said (integers in range, enum values among the
// choices); params_to_json's object parses again to the same struct, both as
// a value and (when every number is finite) through to_json_text.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fuzz_harness.hpp"
#include "stirrup/core/tool_params.hpp"
#include "stirrup/pycompat/detail/json_dumps.hpp"

namespace {

using stirrup::fuzz::require;

struct AllKinds {
    std::string text;
    int count = 0;
    double ratio = 0;
    bool flag = false;
    std::vector<std::string> items;
    std::optional<int> limit;
    std::int64_t big = 0;
    int retries = 0;
    std::string mode;
    std::vector<std::string> tags;

    static auto stirrup_params()
    {
        return stirrup::params<AllKinds>(
            "AllKinds", "Every field kind.", stirrup::field(&AllKinds::text, "text", "A string."),
            stirrup::field(&AllKinds::count, "count", "An int."),
            stirrup::field(&AllKinds::ratio, "ratio", "A double."), stirrup::field(&AllKinds::flag, "flag", "A bool."),
            stirrup::field(&AllKinds::items, "items", "Strings."),
            stirrup::field(&AllKinds::limit, "limit", "An optional int."),
            stirrup::field(&AllKinds::big, "big", "A 64-bit int.").with_default(-1),
            stirrup::field(&AllKinds::retries, "retries", "A defaulted int.").with_default(3),
            stirrup::field(&AllKinds::mode, "mode", "A choice.").with_default("fast").one_of({"fast", "slow"}),
            stirrup::field(&AllKinds::tags, "tags", "A default factory.").with_default_factory({"a"}));
    }
};

bool same_double(double a, double b)
{
    return a == b || (std::isnan(a) && std::isnan(b));
}

bool same(const AllKinds& a, const AllKinds& b)
{
    return a.text == b.text && a.count == b.count && same_double(a.ratio, b.ratio) && a.flag == b.flag &&
           a.items == b.items && a.limit == b.limit && a.big == b.big && a.retries == b.retries && a.mode == b.mode &&
           a.tags == b.tags;
}

// An integer field holds exactly the integer the JSON gave, when it gave one.
template <class I>
void check_integer(const boost::json::object& args, std::string_view key, I got)
{
    const auto it = args.find(key);
    if (it == args.end())
        return;
    const auto& v = it->value();
    if (v.is_int64())
        require(static_cast<std::int64_t>(got) == v.get_int64());
    else if (v.is_uint64())
        require(got >= 0 && static_cast<std::uint64_t>(got) == v.get_uint64());
    else if (v.is_double())
        require(static_cast<double>(got) == v.get_double());
}

AllKinds parse(const boost::json::value& args)
{
    try {
        return stirrup::parse_params<AllKinds>(args);
    } catch (const stirrup::InvalidToolArguments&) {
        std::abort(); // callers only pass what parsed before
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const bool schema_ok = !stirrup::params_schema<AllKinds>().empty();
    require(schema_ok);

    const std::string_view text = stirrup::fuzz::as_text(data, size);
    boost::json::value args;
    AllKinds parsed;
    try {
        args = stirrup::detail::parse_arguments_text(text);
        parsed = stirrup::parse_params<AllKinds>(args);
    } catch (const stirrup::InvalidToolArguments&) {
        return 0;
    }

    const auto& obj = args.get_object();
    check_integer(obj, "count", parsed.count);
    check_integer(obj, "big", parsed.big);
    check_integer(obj, "retries", parsed.retries);
    if (parsed.limit)
        check_integer(obj, "limit", *parsed.limit);
    require(parsed.mode == "fast" || parsed.mode == "slow");
    if (!obj.contains("mode"))
        require(parsed.mode == "fast");
    if (!obj.contains("tags"))
        require(parsed.tags == std::vector<std::string>{"a"});

    const boost::json::object dumped = stirrup::params_to_json(parsed);
    require(dumped.size() == 10);
    require(same(parse(dumped), parsed));

    // Through text as the run loop logs and resends it; NaN and infinity have
    // no JSON spelling that reads back as a number of a double field. Boost
    // 1.81 reads some shortest-form doubles one ulp off, so the writer's
    // digits are checked with the exact std::from_chars, and the reread
    // ratio against what Boost makes of those digits.
    if (std::isfinite(parsed.ratio)) {
        boost::json::value reread;
        try {
            reread = stirrup::detail::parse_arguments_text(stirrup::detail::to_json_text(dumped));
        } catch (const stirrup::InvalidToolArguments&) {
            std::abort();
        }
        AllKinds again = parse(reread);
        const std::string digits = stirrup::detail::to_json_text(parsed.ratio);
        double exact = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), exact);
        require(ec == std::errc{} && end == digits.data() + digits.size() && exact == parsed.ratio);
        require(again.ratio == boost::json::parse(digits).get_double());
        again.ratio = parsed.ratio;
        require(same(again, parsed));
    }
    return 0;
}
