// The web console's files (host/console/), embedded in the binary at build time by
// cmake/embed_files.cmake: the daemon serves them with nothing read from disk or fetched elsewhere.
#pragma once

#include <span>
#include <string_view>

namespace switchboard::host {

struct console_asset {
    std::string_view name;           // "index.html", as under /console/
    std::string_view content_type;
    std::string_view body;
};

std::span<const console_asset> console_assets();

} // namespace switchboard::host
