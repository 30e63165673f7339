// Turning a configuration into running provider instances, for the daemon and for `config check`.
#pragma once

#include "config.hpp"

namespace switchboard::host {

// Loads each configured provider's plugin and creates its instance, and checks that every route
// step names a channel its provider offers. Throws config_error listing every problem at once:
// a plugin that cannot be found or loaded, a configuration the plugin refuses (in its words), a
// channel the provider does not have.
core::provider_map create_providers(const daemon_config& config);

} // namespace switchboard::host
