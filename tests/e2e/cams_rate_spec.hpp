// The CAMS simulator (10 calls a second, its documented limit) behind an "otp" WhatsApp route: what
// the rate tests, for one daemon and for several, send through. Include only where the build knows
// CAMS_SIMULATOR.
#pragma once

#include "sandbox.hpp"

namespace switchboard::testing {

inline sandbox_spec cams_rate_limit_spec() {
    sandbox_spec spec;
    spec.simulator = CAMS_SIMULATOR;
    spec.simulator_args = {"--access-key-id", "rate-ak", "--access-key-secret", "rate-sk", "--cust-space-id", "cams-rate"};
    spec.plugin = "cams";
    spec.provider_config = {{"access_key_id", "rate-ak"}, {"cust_space_id", "cams-rate"}, {"from", "8613800000000"}};
    spec.secret_field = "access_key_secret";
    spec.secret = "rate-sk";
    spec.route_step = {{"channel", "whatsapp"}, {"template_code", "tpl"}, {"language", "en"},
                       {"params", boost::json::array{"code"}}};
    return spec;
}

} // namespace switchboard::testing
