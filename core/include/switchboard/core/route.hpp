// Routes: named, ordered fallback chains of provider steps.
#pragma once

#include <string>
#include <vector>

namespace switchboard::core {

struct route_step {
    std::string provider;    // the provider instance's name
    std::string channel;
    std::string step_json;   // the whole step as configured (template, params, sender, ...), handed to the plugin
};

struct route {
    std::string name;
    std::vector<route_step> steps;
};

} // namespace switchboard::core
