#pragma once
// Decoding an HTTP body's Content-Encoding (gzip, deflate) with a bound on
// the decoded size: a page is hostile input, and a few megabytes of gzip can
// expand to gigabytes. No I/O: fed the body in pieces of any size.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stirrup/core/error.hpp"

namespace stirrup::detail::web {

enum class ContentCoding { identity, gzip, deflate };

/// The coding a Content-Encoding value names ("gzip", "x-gzip", "deflate",
/// "identity" or empty, any case, spaces around); nullopt for anything else
/// (br, zstd, several codings), which the caller did not ask for.
std::optional<ContentCoding> parse_content_coding(std::string_view header);

/// The body is not valid data of its coding, is cut short, or decodes past
/// the limit; what() says which.
class ContentDecodingError : public Error {
public:
    using Error::Error;
};

class BoundedDecoder {
public:
    /// `max_decoded` bounds the bytes feed() may produce in total.
    BoundedDecoder(ContentCoding coding, std::size_t max_decoded);
    ~BoundedDecoder();
    BoundedDecoder(const BoundedDecoder&) = delete;
    BoundedDecoder& operator=(const BoundedDecoder&) = delete;

    /// Appends what `in` decodes to to `out`. Throws ContentDecodingError.
    void feed(std::string_view in, std::string& out);
    /// At the end of the body: throws when the data stopped mid-stream.
    void finish();
    std::size_t decoded() const noexcept { return decoded_; }

private:
    struct Zlib;
    void check_room(std::size_t more) const;
    void inflate_into(std::string_view in, std::string& out);

    ContentCoding coding_;
    std::size_t max_;
    std::size_t decoded_ = 0;
    bool ended_ = false;
    bool saw_input_ = false;
    /// deflate: the bytes before the wrapper is known.
    std::string pending_;
    std::unique_ptr<Zlib> z_;
};

} // namespace stirrup::detail::web
