#pragma once
// The view_image tool (Stirrup's ViewImageToolProvider, tools/view_image.py
// and CodeExecToolProvider.get_view_image_tool): the model names an image
// file in the execution environment and sees it, normalised to a PNG of at
// most one megapixel.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "stirrup/core/tool.hpp"
#include "stirrup/core/tool_params.hpp"

namespace stirrup {

struct ViewImageParams {
    std::string path;

    static auto stirrup_params()
    {
        return params<ViewImageParams>(
            "ViewImageParams", "Parameters for viewing an image from the execution environment.",
            field(&ViewImageParams::path, "path",
                  "Path to the image file within the execution environment filesystem (supports .png, .jpg, .jpeg, "
                  ".gif, .bmp, .tiff, .psd)"));
    }
};

inline constexpr const char* kViewImageToolDescription =
    "View an image file from the execution environment's filesystem.";

struct ViewImageToolOptions {
    std::string name = "view_image";
    /// Default: kViewImageToolDescription.
    std::optional<std::string> description;
    /// Larger images are downscaled to fit (Stirrup's RESOLUTION_1MP).
    std::size_t max_pixels = 1'000'000;
};

/// The view_image tool reading from `env`, which must outlive the tool.
/// Results: ["Viewing image at path: {path}", the PNG]; "Image `{path}` not
/// found." when there is no such file; the error text for a path outside the
/// environment, a directory, or bytes that are not a valid supported image.
/// All three failures have success == false and leave the run going.
Tool make_view_image_tool(CodeExecProvider& env, ViewImageToolOptions options = {});

/// Contributes view_image to each session, reading from the session's
/// execution environment; the agent must also have a code-exec provider.
class ViewImageToolProvider final : public ToolProvider {
public:
    explicit ViewImageToolProvider(ViewImageToolOptions options = {});

    std::string name() const override { return "ViewImageToolProvider"; }
    /// Throws ConfigError when `exec_env` is null.
    boost::asio::awaitable<std::unique_ptr<StartedTools>> start(CodeExecProvider* exec_env) const override;

private:
    ViewImageToolOptions options_;
};

} // namespace stirrup
