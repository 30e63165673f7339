// Finding plugins in the configured plugin directories, and nowhere else.
#include <switchboard/core/plugin.hpp>

#include <algorithm>

namespace switchboard::core {
namespace fs = std::filesystem;

std::shared_ptr<plugin> load_named_plugin(const fs::path& file) {
    std::shared_ptr<plugin> loaded = plugin::load(file);
    const std::string name = file.stem().string();
    if (loaded->manifest().name != name)
        throw plugin_error(file.string() + ": its manifest names it '" + loaded->manifest().name + "', not '" + name +
                           "': a configuration names a plugin by its file, so rename the file or the manifest's name");
    return loaded;
}

std::vector<plugin_scan_entry> scan_plugin_dirs(const std::vector<fs::path>& dirs) {
    std::vector<plugin_scan_entry> found;
    for (const fs::path& dir : dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            found.push_back({dir, nullptr, dir.string() + ": plugin directory not found"});
            continue;
        }
        std::vector<fs::path> files;
        for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".so" && entry.is_regular_file(ec))
                files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const fs::path& file : files) {
            try {
                found.push_back({file, load_named_plugin(file), {}});
            } catch (const plugin_error& e) {
                found.push_back({file, nullptr, e.what()});
            }
        }
    }
    return found;
}

std::shared_ptr<plugin> find_plugin(std::string_view name, const std::vector<fs::path>& dirs) {
    std::string searched;
    for (const fs::path& dir : dirs) {
        const fs::path file = dir / (std::string(name) + ".so");
        std::error_code ec;
        if (fs::exists(file, ec))
            return load_named_plugin(file);
        searched += (searched.empty() ? "" : ", ") + dir.string();
    }
    throw plugin_error("no plugin named '" + std::string(name) + "' (file " + std::string(name) +
                       ".so) in the plugin directories: " + (searched.empty() ? "none configured" : searched));
}

} // namespace switchboard::core
