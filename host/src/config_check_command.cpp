#include "config_check_command.hpp"

#include "config.hpp"
#include "logging.hpp"
#include "plugins_command.hpp"
#include "provider_setup.hpp"

#include <switchboard/core/plugin.hpp>
#include <switchboard/core/sqlite_job_store.hpp>

#include <spdlog/spdlog.h>

#include <optional>
#include <ostream>

namespace switchboard::host {

int check_config(const std::filesystem::path& file, std::ostream& out, std::ostream& err) {
    // The verdict is the output: only warnings and errors from loading plugins are worth a line.
    start_early_logging();
    spdlog::set_level(spdlog::level::warn);
    std::optional<daemon_config> config;
    try {
        config = load_config(file);
        if (config->plugin_dirs.empty())
            config->plugin_dirs.push_back(default_plugin_dir());
        const core::provider_map providers = create_providers(*config);
        out << file.string() << ": ok: " << providers.size() << " provider(s), " << config->routes.size()
            << " route(s), listening on " << config->listen << ", "
            << (config->sqlite_store.empty() ? std::string("jobs in memory only") : "store " + config->sqlite_store.string())
            << '\n';
        return 0;
    } catch (const config_error& e) {
        for (const std::string& problem : e.problems())
            err << "error: " << (config ? redact(*config, problem) : problem) << '\n';
    } catch (const std::exception& e) {
        err << "error: " << (config ? redact(*config, e.what()) : std::string(e.what())) << '\n';
    }
    return 1;
}

} // namespace switchboard::host
