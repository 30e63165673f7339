// For plugin tests: what a plugin said when it refused a configuration.
#pragma once

#include <switchboard/core/plugin.hpp>

#include <stdexcept>
#include <string>

namespace switchboard::testing {

// Runs `create` (which creates an instance) and returns the plugin's own words for refusing its
// configuration, without the file and instance the loader puts in front. Throws when the
// configuration was accepted, so the test fails.
template <class Create>
std::string config_refusal(Create&& create) {
    try {
        create();
    } catch (const core::plugin_error& e) {
        const std::string what = e.what();
        const std::string marker = "configuration: ";
        const std::size_t at = what.find(marker);
        return at == std::string::npos ? what : what.substr(at + marker.size());
    }
    throw std::runtime_error("the configuration should have been refused");
}

} // namespace switchboard::testing
