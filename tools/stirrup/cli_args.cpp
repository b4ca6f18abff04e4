#include "cli_args.hpp"

#include <cctype>
#include <cmath>

namespace stirrup::cli {

std::int64_t parse_positive(const std::string& flag, const std::string& text)
{
    std::size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || n <= 0)
        throw UsageError(flag + " needs a positive whole number, got '" + text + "'");
    return n;
}

double parse_positive_number(const std::string& flag, const std::string& text)
{
    std::size_t used = 0;
    double n = 0;
    try {
        n = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !(n > 0) || !std::isfinite(n))
        throw UsageError(flag + " needs a positive number, got '" + text + "'");
    return n;
}

Milliseconds parse_seconds(const std::string& flag, const std::string& text)
{
    std::size_t used = 0;
    double seconds = 0;
    try {
        seconds = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || !(seconds > 0) || seconds > 1e9)
        throw UsageError(flag + " needs a positive number of seconds, got '" + text + "'");
    return Milliseconds(static_cast<long long>(seconds * 1000 + 0.5));
}

std::int64_t parse_bytes(const std::string& flag, const std::string& text)
{
    std::string digits = text;
    std::int64_t unit = 1;
    if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
        switch (std::tolower(static_cast<unsigned char>(digits.back()))) {
        case 'b':
            unit = 1;
            break;
        case 'k':
            unit = 1024;
            break;
        case 'm':
            unit = 1024 * 1024;
            break;
        case 'g':
            unit = 1024LL * 1024 * 1024;
            break;
        default:
            throw UsageError(flag + " needs a size like 512m or 2g, got '" + text + "'");
        }
        digits.pop_back();
    }
    const std::int64_t n = parse_positive(flag, digits);
    if (n > INT64_MAX / unit)
        throw UsageError(flag + " is too large: '" + text + "'");
    return n * unit;
}

} // namespace stirrup::cli
