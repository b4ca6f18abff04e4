// The finish and view_image tools against a real local environment: files
// that exist or not, paths outside the environment, and images of every
// supported type generated with libvips at test time.

#include <doctest/doctest.h>

#include <vips/vips.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "stirrup/core/error.hpp"
#include "stirrup/core/tool_params.hpp"
#include "stirrup/exec/local/local.hpp"
#include "stirrup/tools/finish_tool.hpp"
#include "stirrup/tools/user_input_tool.hpp"
#include "stirrup/tools/view_image_tool.hpp"
#include "support/helpers.hpp"
#include "support/local_env.hpp"
#include "support/run_sync.hpp"

using namespace stirrup;
using stirrup::test::run_sync;
using stirrup::test::with_local;

using stirrup::test::text_of;
using stirrup::test::uses;

namespace {

struct EnvContext final : ToolContext {
    CodeExecProvider* env = nullptr;
    explicit EnvContext(CodeExecProvider& e) : env(&e) {}
    CodeExecProvider* exec_env() const override { return env; }
    int depth() const override { return 0; }
};

/// Checks the arguments as the agent does, then runs the tool.
awaitable<ToolResult> call(const Tool& tool, std::string arguments, ToolContext& context)
{
    boost::json::object args = tool.parse_arguments(detail::parse_arguments_text(arguments));
    co_return co_await tool.execute(std::move(args), context);
}

// ---- images made with libvips ----------------------------------------------

void ensure_vips()
{
    static std::once_flag once;
    std::call_once(once, [] { REQUIRE(VIPS_INIT("stirrup-test") == 0); });
}

struct Img {
    VipsImage* p = nullptr;
    explicit Img(VipsImage* i) : p(i) { REQUIRE_MESSAGE(p != nullptr, vips_error_buffer()); }
    Img(const Img&) = delete;
    Img& operator=(const Img&) = delete;
    ~Img() { g_object_unref(p); }
};

/// A w x h RGB image of one colour.
Img solid(int w, int h, unsigned char r, unsigned char g, unsigned char b)
{
    ensure_vips();
    std::vector<unsigned char> px(static_cast<std::size_t>(w) * h * 3);
    for (std::size_t i = 0; i < px.size(); i += 3) {
        px[i] = r;
        px[i + 1] = g;
        px[i + 2] = b;
    }
    return Img(vips_image_new_from_memory_copy(px.data(), px.size(), w, h, 3, VIPS_FORMAT_UCHAR));
}

std::string encode(const Img& img, std::string_view format)
{
    void* buf = nullptr;
    std::size_t len = 0;
    int rc = -1;
    if (format == "png")
        rc = vips_pngsave_buffer(img.p, &buf, &len, nullptr);
    else if (format == "jpeg")
        rc = vips_jpegsave_buffer(img.p, &buf, &len, "Q", 95, nullptr);
    else if (format == "webp")
        rc = vips_webpsave_buffer(img.p, &buf, &len, "lossless", TRUE, nullptr);
    else if (format == "gif")
        rc = vips_gifsave_buffer(img.p, &buf, &len, nullptr);
    else if (format == "tiff")
        rc = vips_tiffsave_buffer(img.p, &buf, &len, nullptr);
    else if (format == "bmp")
        rc = vips_magicksave_buffer(img.p, &buf, &len, "format", "bmp", nullptr);
    REQUIRE_MESSAGE(rc == 0, vips_error_buffer());
    std::string out(static_cast<const char*>(buf), len);
    g_free(buf);
    return out;
}

struct Decoded {
    int width = 0;
    int height = 0;
    int bands = 0;
    std::vector<double> centre;
};

Decoded decode_png(const std::string& png)
{
    ensure_vips();
    REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    VipsImage* raw = nullptr;
    REQUIRE(vips_pngload_buffer(const_cast<char*>(png.data()), png.size(), &raw, nullptr) == 0);
    Img img(raw);
    Decoded d{img.p->Xsize, img.p->Ysize, img.p->Bands, {}};
    double* values = nullptr;
    int n = 0;
    REQUIRE(vips_getpoint(img.p, &values, &n, d.width / 2, d.height / 2, nullptr) == 0);
    d.centre.assign(values, values + n);
    g_free(values);
    return d;
}

/// The PNG of a successful view_image result, after checking its shape.
Decoded viewed_image(const ToolResult& r, const std::string& path)
{
    CHECK(r.success);
    CHECK(uses(r) == 1);
    REQUIRE(std::holds_alternative<std::vector<ContentPart>>(r.content));
    const auto& parts = std::get<std::vector<ContentPart>>(r.content);
    REQUIRE(parts.size() == 2);
    REQUIRE(std::holds_alternative<std::string>(parts[0]));
    CHECK(std::get<std::string>(parts[0]) == "Viewing image at path: " + path);
    REQUIRE(std::holds_alternative<ImageBlock>(parts[1]));
    const auto& block = std::get<ImageBlock>(parts[1]);
    CHECK(block.mime_type == "image/png");
    return decode_png(block.data);
}

std::string finish_args(const std::vector<std::string>& paths)
{
    boost::json::array a;
    for (const auto& p : paths)
        a.emplace_back(p);
    return R"js({"reason":"Done.","paths":)js" + boost::json::serialize(a) + "}";
}

} // namespace

// ---- finish ------------------------------------------------------------

TEST_CASE("finish with files that exist returns the reason")
{
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("report.md", "# Report\n");
        co_await env.write_file("out/data.csv", "a,b\n");
        EnvContext context(env);
        const Tool tool = default_finish_tool();
        const std::string absolute = (*env.temp_dir() / "report.md").string();
        ToolResult r = co_await call(tool, finish_args(test::strings("report.md", "out/data.csv", absolute)), context);
        CHECK(r.success);
        CHECK(text_of(r) == "Done.");
        CHECK(uses(r) == 1);

        const std::string no_paths = finish_args({});
        r = co_await call(tool, no_paths, context);
        CHECK(r.success);
        CHECK(text_of(r) == "Done.");
    });
}

TEST_CASE("finish lists the missing files in Python's repr and fails")
{
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("present.txt", "x");
        co_await env.run_command("mkdir adir");
        EnvContext context(env);
        const Tool tool = default_finish_tool();
        ToolResult r =
            co_await call(tool, finish_args(test::strings("present.txt", "missing.txt", "it's.txt", "adir")), context);
        CHECK(!r.success);
        CHECK(text_of(r) == "ERROR: Files do not exist: ['missing.txt', \"it's.txt\", 'adir']. Verify paths and ensure "
                            "files were saved.");
        CHECK(uses(r) == 1);
    });
}

TEST_CASE("finish counts a path outside the environment as missing")
{
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("ok.txt", "x");
        EnvContext context(env);
        const Tool tool = default_finish_tool();
        ToolResult r = co_await call(tool, finish_args(test::strings("ok.txt", "/etc/passwd", "../x")), context);
        CHECK(!r.success);
        CHECK(text_of(r) ==
              "ERROR: Files do not exist: ['/etc/passwd', '../x']. Verify paths and ensure files were saved.");
    });
}

// ---- view_image ------------------------------------------------------------

TEST_CASE("view_image shows every supported format as an RGB PNG")
{
    // (format, file name, exact colours?) JPEG is lossy: compared with a tolerance.
    struct Case {
        const char* format;
        const char* path;
        double tolerance;
    };
    const std::vector<Case> cases{{"png", "img/a.png", 0}, {"jpeg", "img/b.jpg", 4}, {"gif", "c.gif", 0},
                                  {"webp", "d.webp", 0},   {"bmp", "e.bmp", 0},      {"tiff", "f.tiff", 0}};
    const Img picture = solid(64, 48, 200, 30, 60);
    std::vector<std::string> bytes;
    for (const auto& c : cases)
        bytes.push_back(encode(picture, c.format));

    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        for (std::size_t i = 0; i < cases.size(); ++i)
            co_await env.write_file(cases[i].path, bytes[i]);
        EnvContext context(env);
        const Tool tool = make_view_image_tool(env);
        CHECK(tool.name == "view_image");
        CHECK(tool.description == "View an image file from the execution environment's filesystem.");
        for (const auto& c : cases) {
            CAPTURE(c.format);
            ToolResult r = co_await call(tool, std::string(R"js({"path":")js") + c.path + "\"}", context);
            const Decoded d = viewed_image(r, c.path);
            CHECK(d.width == 64);
            CHECK(d.height == 48);
            CHECK(d.bands == 3);
            REQUIRE(d.centre.size() == 3);
            CHECK(std::abs(d.centre[0] - 200) <= c.tolerance);
            CHECK(std::abs(d.centre[1] - 30) <= c.tolerance);
            CHECK(std::abs(d.centre[2] - 60) <= c.tolerance);
        }
        // An absolute path inside the environment works too.
        const std::string absolute = (*env.temp_dir() / "img/a.png").string();
        ToolResult r = co_await call(tool, R"js({"path":")js" + absolute + "\"}", context);
        CHECK(viewed_image(r, absolute).width == 64);
    });
}

TEST_CASE("view_image downsizes a large image to at most one megapixel")
{
    const std::string png = encode(solid(3000, 2000, 10, 120, 250), "png");
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("big.png", png);
        EnvContext context(env);
        // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
        const Tool tool = make_view_image_tool(env);
        ToolResult r = co_await call(tool, R"js({"path":"big.png"})js", context);
        const Decoded d = viewed_image(r, "big.png");
        CHECK(static_cast<long>(d.width) * d.height <= 1'000'000);
        CHECK(static_cast<long>(d.width) * d.height >= 900'000);
        CHECK(std::abs(static_cast<double>(d.width) / d.height - 1.5) < 0.01);
        CHECK(d.centre == std::vector<double>{10, 120, 250});
    });
}

TEST_CASE("view_image failures are failed results, not exceptions")
{
    std::string corrupt = encode(solid(32, 32, 1, 2, 3), "png");
    corrupt.resize(corrupt.size() / 2); // a truncated PNG: right signature, broken body
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("broken.png", corrupt);
        co_await env.write_file("notes.txt", "just text, not an image");
        co_await env.run_command("mkdir pictures");
        EnvContext context(env);
        const Tool tool = make_view_image_tool(env);

        ToolResult r = co_await call(tool, R"js({"path":"nope.png"})js", context);
        CHECK(!r.success);
        CHECK(text_of(r) == "Image `nope.png` not found.");
        CHECK(uses(r) == 1);

        r = co_await call(tool, R"js({"path":"broken.png"})js", context);
        CHECK(!r.success);
        CHECK(!text_of(r).empty());
        CHECK(text_of(r).find("Viewing image") == std::string::npos);

        r = co_await call(tool, R"js({"path":"notes.txt"})js", context);
        CHECK(!r.success);
        CHECK(text_of(r) == "File is not a supported image (png, jpeg, webp, gif, bmp, tiff, psd): notes.txt");

        r = co_await call(tool, R"js({"path":"pictures"})js", context);
        CHECK(!r.success);
        CHECK(text_of(r) == "Is a directory: pictures");

        r = co_await call(tool, R"js({"path":"/etc/hostname"})js", context);
        CHECK(!r.success);
        CHECK(text_of(r) == "Path is outside execution environment: /etc/hostname");
    });
}

TEST_CASE("ViewImageToolProvider gives the session a view_image tool on its environment")
{
    const std::string png = encode(solid(8, 8, 0, 0, 0), "png");
    with_local([&](LocalCodeExec& env) -> awaitable<void> {
        co_await env.write_file("x.png", png);
        ViewImageToolOptions options;
        options.name = "look";
        options.description = "Look at a picture.";
        ViewImageToolProvider provider(options);
        std::unique_ptr<StartedTools> started = co_await provider.start(&env);
        REQUIRE(started->tools.size() == 1);
        const Tool& tool = started->tools[0];
        CHECK(tool.name == "look");
        CHECK(tool.description == "Look at a picture.");
        EnvContext context(env);
        ToolResult r = co_await call(tool, R"js({"path":"x.png"})js", context);
        CHECK(viewed_image(r, "x.png").width == 8);
        co_await started->stop();
    });
}

// ---- user_input on the real stdin and stderr ------------------------------

namespace {

struct CountingContext final : ToolContext {
    int pauses = 0;
    int resumes = 0;
    CodeExecProvider* exec_env() const override { return nullptr; }
    int depth() const override { return 0; }
    void pause_live() override { ++pauses; }
    void resume_live() override { ++resumes; }
};

/// Points fds 0 and 2 at pipes for the test's lifetime: the test writes the
/// user's lines and reads what the tool prints.
struct FakeTerminal {
    int saved_in = -1;
    int saved_err = -1;
    int in_write = -1;
    int err_read = -1;

    FakeTerminal()
    {
        int in[2];
        int err[2];
        REQUIRE(::pipe(in) == 0);
        REQUIRE(::pipe(err) == 0);
        std::cerr.flush();
        saved_in = ::dup(0);
        saved_err = ::dup(2);
        REQUIRE(::dup2(in[0], 0) == 0);
        REQUIRE(::dup2(err[1], 2) == 2);
        ::close(in[0]);
        ::close(err[1]);
        in_write = in[1];
        err_read = err[0];
        std::cin.clear();
    }
    ~FakeTerminal()
    {
        std::cerr.flush();
        ::dup2(saved_in, 0);
        ::dup2(saved_err, 2);
        ::close(saved_in);
        ::close(saved_err);
        ::close(in_write);
        ::close(err_read);
        std::cin.clear();
    }

    void type(std::string_view text) const
    {
        REQUIRE(::write(in_write, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }

    /// Reads what the tool printed until `marker` has appeared.
    std::string read_until(std::string_view marker) const
    {
        std::string seen;
        char buf[256];
        while (seen.find(marker) == std::string::npos) {
            const ssize_t n = ::read(err_read, buf, sizeof buf);
            if (n <= 0)
                break;
            seen.append(buf, static_cast<std::size_t>(n));
        }
        return seen;
    }
};

} // namespace

TEST_CASE("user_input asks on the terminal without blocking the event loop")
{
    FakeTerminal terminal;
    const Tool tool = user_input_tool();
    CountingContext context;
    terminal.type("purple\n");
    ToolResult r = run_sync([&]() -> awaitable<ToolResult> {
        co_return co_await call(tool, R"js({"question":"Favourite colour?"})js", context);
    });
    CHECK(r.success);
    CHECK(text_of(r) == "purple");
    CHECK(context.pauses == 1);
    CHECK(context.resumes == 1);
    CHECK(terminal.read_until("Your answer: ") ==
          "\n\xF0\x9F\xA4\x94 Agent Question\nFavourite colour?\nYour answer: ");

    // A choice re-asked after an invalid reply; the loop keeps serving other work meanwhile.
    terminal.type("green\nb\n");
    r = run_sync([&]() -> awaitable<ToolResult> {
        co_return co_await call(tool, R"js({"question":"Pick","question_type":"choice","choices":["a","b"]})js",
                                context);
    });
    CHECK(text_of(r) == "b");
    CHECK(terminal.read_until("options\nYour answer [a/b]: ").find("Please select one of the available options") !=
          std::string::npos);
}

TEST_CASE("cancelling a terminal question returns at once; the pending read takes the next line")
{
    FakeTerminal terminal;
    const Tool tool = user_input_tool();
    CountingContext context;
    boost::asio::io_context io;
    boost::asio::cancellation_signal cancel;
    std::exception_ptr failure;
    bool done = false;
    boost::asio::co_spawn(io, call(tool, R"js({"question":"First?"})js", context),
                          boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, ToolResult) {
                              failure = e;
                              done = true;
                          }));
    // Cancel once the question is on screen, i.e. while the read is blocked.
    std::thread watcher([&] {
        terminal.read_until("Your answer: ");
        boost::asio::post(io, [&] { cancel.emit(boost::asio::cancellation_type::terminal); });
    });
    io.run();
    watcher.join();
    CHECK(done);
    REQUIRE(failure);
    try {
        std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == boost::asio::error::operation_aborted);
    }
    CHECK(context.pauses == 1);
    CHECK(context.resumes == 1);

    // The abandoned read still owns the terminal: it swallows "late", and
    // only then is the next question asked.
    terminal.type("late\nsecond\n");
    ToolResult r = run_sync(
        [&]() -> awaitable<ToolResult> { co_return co_await call(tool, R"js({"question":"Second?"})js", context); });
    CHECK(text_of(r) == "second");
    CHECK(terminal.read_until("Second?\nYour answer: ").find("Second?") != std::string::npos);
}
