#include "stirrup/tools/view_image_tool.hpp"

#include <utility>
#include <vector>

#include "stirrup/core/detail/offload.hpp"
#include "stirrup/exec/provider.hpp"

#include "stirrup/tools/detail/image_normalize.hpp"

namespace stirrup {
namespace {

awaitable<ToolResult> view_image(CodeExecProvider* env, std::size_t max_pixels, ViewImageParams params, ToolContext&)
{
    std::string error;
    try {
        ImageFile file = co_await env->view_image(params.path);
        // Decoding and resampling untrusted images is CPU work of unbounded
        // length: keep it off the event loop.
        ImageBlock png;
        co_await detail::offload([&] { png = detail::normalize_image(file.data, max_pixels); });
        std::vector<ContentPart> content;
        content.emplace_back("Viewing image at path: " + params.path);
        content.emplace_back(std::move(png));
        co_return ToolResult{std::move(content), true, ToolMetadata::use_count(1)};
    } catch (const FileNotFoundError&) {
        error = "Image `" + params.path + "` not found.";
    } catch (const PathError& e) {
        // Outside the environment, a directory, or not an image by its bytes.
        error = e.what();
    } catch (const detail::ImageError& e) {
        // Corrupt, truncated, or too many pixels to decode.
        error = e.what();
    }
    co_return ToolResult{std::move(error), false, ToolMetadata::use_count(1)};
}

} // namespace

Tool make_view_image_tool(CodeExecProvider& env, ViewImageToolOptions options)
{
    CodeExecProvider* env_ptr = &env;
    const std::size_t max_pixels = options.max_pixels;
    std::string description = options.description ? std::move(*options.description) : kViewImageToolDescription;
    return make_tool<ViewImageParams>(std::move(options.name), std::move(description),
                                      [env_ptr, max_pixels](ViewImageParams params, ToolContext& context) {
                                          return view_image(env_ptr, max_pixels, std::move(params), context);
                                      });
}

ViewImageToolProvider::ViewImageToolProvider(ViewImageToolOptions options) : options_(std::move(options)) {}

awaitable<std::unique_ptr<StartedTools>> ViewImageToolProvider::start(CodeExecProvider* exec_env) const
{
    if (exec_env == nullptr)
        throw ConfigError("ViewImageToolProvider requires a CodeExecToolProvider. Either pass exec_env explicitly or "
                          "include a CodeExecToolProvider in the Agent's tools list.");
    auto started = std::make_unique<StartedTools>();
    started->tools.push_back(make_view_image_tool(*exec_env, options_));
    co_return started;
}

} // namespace stirrup
