#include "provider_setup.hpp"

#include <switchboard/core/config_schema.hpp>
#include <switchboard/core/plugin.hpp>

#include <spdlog/spdlog.h>


namespace switchboard::host {

core::provider_map create_providers(const daemon_config& config) {
    core::provider_map providers;
    std::vector<std::string> problems;
    for (const provider_config& p : config.providers) {
        try {
            const std::shared_ptr<core::plugin> plugin = core::find_plugin(p.plugin, config.plugin_dirs);
            // Every breach of the plugin's declared schema at once; the plugin would name only its first.
            std::vector<std::string> breaches =
                core::config_schema_problems(plugin->manifest().config_schema_json, p.config_json, "providers." + p.name + ".config");
            if (!breaches.empty()) {
                problems.insert(problems.end(), breaches.begin(), breaches.end());
                continue;
            }
            providers.emplace(p.name, plugin->create_instance(p.name, p.config_json));
            spdlog::info("provider {}: plugin {} {} from {}", p.name, plugin->manifest().name,
                         plugin->manifest().version, plugin->file().string());
        } catch (const core::plugin_error& e) {
            problems.push_back("providers." + p.name + ": " + e.what());
        }
    }
    for (const auto& [name, r] : config.routes) {
        // A provider that failed to load has its own problem above; report only what it adds.
        std::vector<std::string> route_problems;
        core::check_route_providers(r, providers, "routes." + name, route_problems);
        core::check_route_steps(r, providers, "routes." + name, route_problems);
        for (std::string& p : route_problems)
            if (p.find(": no provider instance named") == std::string::npos)
                problems.push_back(std::move(p));
    }
    if (!problems.empty())
        throw config_error(problems);
    return providers;
}

} // namespace switchboard::host
