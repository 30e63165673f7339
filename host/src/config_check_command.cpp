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

namespace {

// "cams-wa (whatsapp) → uspeedo-a 70 / uspeedo-b 30 (sms)": a chain's steps as a recipient takes them.
std::string describe_steps(const core::route& r, const core::route_chain& chain) {
    std::string out;
    for (std::size_t s = chain.first_step; s < chain.end_step; ++s) {
        const core::route_step& step = r.steps[s];
        const bool group_starts = s == chain.first_step || r.steps[s - 1].group != step.group;
        const bool group_ends = s + 1 == chain.end_step || r.steps[s + 1].group != step.group;
        out += group_starts ? (s == chain.first_step ? "" : " → ") : " / ";
        out += step.provider + (core::is_weighted_choice(r, s) ? " " + std::to_string(step.weight) : "");
        if (group_ends)
            out += " (" + step.channel + ")";
    }
    return out;
}

// Where jobs are kept, as the check reports it; never with a password (the server is not contacted).
std::string store_of(const daemon_config& config) {
    if (config.postgres_store)
        return "store PostgreSQL at " + config.postgres_store->where;
    return config.sqlite_store.empty() ? std::string("jobs in memory only") : "store " + config.sqlite_store.string();
}

void describe_routes(const core::route_map& routes, std::ostream& out) {
    for (const auto& [name, r] : routes) {
        if (!core::has_destination_rules(r)) {
            out << "  route " << name << ": " << describe_steps(r, r.chains.front()) << '\n';
            continue;
        }
        out << "  route " << name << ", by destination:\n";
        for (const core::route_chain& chain : r.chains) {
            std::string takes;
            for (const std::string& c : chain.countries)
                takes += (takes.empty() ? "" : ", ") + c;
            for (const std::string& p : chain.prefixes)
                takes += (takes.empty() ? "" : ", ") + p;
            out << "    rule " << chain.rule << " (" << (takes.empty() ? "everyone else" : takes)
                << "): " << describe_steps(r, chain) << '\n';
        }
    }
}

} // namespace

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
            << store_of(*config) << '\n';
        describe_routes(config->routes, out);
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
