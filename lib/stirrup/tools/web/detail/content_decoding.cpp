#include "stirrup/tools/web/detail/content_decoding.hpp"

#include <zlib.h>

#include <array>

#include "stirrup/core/detail/ascii.hpp"

namespace stirrup::detail::web {

std::optional<ContentCoding> parse_content_coding(std::string_view header)
{
    while (!header.empty() && (header.front() == ' ' || header.front() == '\t'))
        header.remove_prefix(1);
    while (!header.empty() && (header.back() == ' ' || header.back() == '\t'))
        header.remove_suffix(1);
    const std::string v = ascii::to_lower(header);
    if (v.empty() || v == "identity")
        return ContentCoding::identity;
    if (v == "gzip" || v == "x-gzip")
        return ContentCoding::gzip;
    if (v == "deflate")
        return ContentCoding::deflate;
    return std::nullopt;
}

struct BoundedDecoder::Zlib {
    z_stream s{};
    bool live = false;

    void init(int window_bits)
    {
        end();
        s = z_stream{};
        if (inflateInit2(&s, window_bits) != Z_OK)
            throw ContentDecodingError("cannot start the zlib decoder");
        live = true;
    }
    void end()
    {
        if (live)
            inflateEnd(&s);
        live = false;
    }
    ~Zlib() { end(); }
};

namespace {

// 15 bits of window; +16 reads the gzip wrapper only. HTTP's "deflate" is the
// zlib wrapper, but servers also send it raw (-15), as browsers and httpx
// accept: that is tried when the zlib header is wrong.
constexpr int kGzip = 15 + 16;
constexpr int kZlib = 15;
constexpr int kRaw = -15;

const char* name_of(ContentCoding c)
{
    return c == ContentCoding::gzip ? "gzip" : "deflate";
}

} // namespace

BoundedDecoder::BoundedDecoder(ContentCoding coding, std::size_t max_decoded) : coding_(coding), max_(max_decoded)
{
    if (coding_ != ContentCoding::identity)
        z_ = std::make_unique<Zlib>();
    if (coding_ == ContentCoding::gzip)
        z_->init(kGzip);
}

BoundedDecoder::~BoundedDecoder() = default;

void BoundedDecoder::check_room(std::size_t more) const
{
    if (more > max_ - decoded_)
        throw ContentDecodingError(std::string("the body is larger than ") + std::to_string(max_) +
                                   " bytes when decoded");
}

void BoundedDecoder::feed(std::string_view in, std::string& out)
{
    if (in.empty())
        return;
    saw_input_ = true;
    if (coding_ == ContentCoding::identity) {
        check_room(in.size());
        out.append(in);
        decoded_ += in.size();
        return;
    }
    if (coding_ == ContentCoding::deflate && !z_->live) {
        // HTTP's "deflate" is the zlib wrapper, but servers also send raw
        // deflate, which browsers and httpx accept: the first two bytes say
        // which (a zlib header is method 8 and a multiple of 31).
        pending_.append(in);
        if (pending_.size() < 2)
            return;
        const unsigned cmf = static_cast<unsigned char>(pending_[0]);
        const unsigned flg = static_cast<unsigned char>(pending_[1]);
        z_->init((cmf & 0x0f) == 8 && (cmf * 256 + flg) % 31 == 0 ? kZlib : kRaw);
        const std::string first = std::move(pending_);
        inflate_into(first, out);
        return;
    }
    inflate_into(in, out);
}

void BoundedDecoder::inflate_into(std::string_view in, std::string& out)
{
    std::array<unsigned char, 64 * 1024> buf;
    for (;;) {
        // Bytes after the end of the stream are ignored, as httpx's decoders
        // (zlib's decompressobj) ignore them.
        if (ended_)
            return;
        z_->s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_->s.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), 1u << 30));
        const std::size_t offered = z_->s.avail_in;
        z_->s.next_out = buf.data();
        z_->s.avail_out = static_cast<uInt>(buf.size());
        const int rc = inflate(&z_->s, Z_NO_FLUSH);
        const std::size_t produced = buf.size() - z_->s.avail_out;
        const std::size_t consumed = offered - z_->s.avail_in;
        in.remove_prefix(consumed);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            throw ContentDecodingError(std::string("the body is not valid ") + name_of(coding_) + " data");
        check_room(produced);
        out.append(reinterpret_cast<const char*>(buf.data()), produced);
        decoded_ += produced;
        if (rc == Z_STREAM_END)
            ended_ = true;
        else if (in.empty() && produced < buf.size())
            return; // everything given was used: the rest comes with the next piece
        else if (produced == 0 && consumed == 0)
            return;
    }
}

void BoundedDecoder::finish()
{
    if (coding_ != ContentCoding::identity && saw_input_ && !ended_)
        throw ContentDecodingError(std::string("the ") + name_of(coding_) + " body ends before its data does");
}

} // namespace stirrup::detail::web
