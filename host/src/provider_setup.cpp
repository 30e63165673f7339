#include "provider_setup.hpp"

#include <switchboard/core/plugin.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace switchboard::host {

namespace {

void check_channels(const core::route_map& routes, const core::provider_map& providers,
                    std::vector<std::string>& problems) {
    for (const auto& [name, r] : routes)
        for (std::size_t i = 0; i < r.steps.size(); ++i) {
            const core::route_step& step = r.steps[i];
            const auto provider = providers.find(step.provider);
            if (provider == providers.end())
                continue;  // its own problem is reported already
            const auto& channels = provider->second->owner().manifest().channels;
            if (std::find(channels.begin(), channels.end(), step.channel) == channels.end())
                problems.push_back("routes." + name + "[" + std::to_string(i) + "].channel: provider '" +
                                   step.provider + "' has no channel '" + step.channel + "'");
        }
}

} // namespace

core::provider_map create_providers(const daemon_config& config) {
    core::provider_map providers;
    std::vector<std::string> problems;
    for (const provider_config& p : config.providers) {
        try {
            const std::shared_ptr<core::plugin> plugin = core::find_plugin(p.plugin, config.plugin_dirs);
            providers.emplace(p.name, plugin->create_instance(p.name, p.config_json));
            spdlog::info("provider {}: plugin {} {} from {}", p.name, plugin->manifest().name,
                         plugin->manifest().version, plugin->file().string());
        } catch (const core::plugin_error& e) {
            problems.push_back("providers." + p.name + ": " + e.what());
        }
    }
    check_channels(config.routes, providers, problems);
    if (!problems.empty())
        throw config_error(problems);
    return providers;
}

} // namespace switchboard::host
