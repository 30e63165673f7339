// A plugin's status code by name, as logs and metrics show it. Internal to the dispatcher.
#pragma once

#include <switchboard/provider.h>

#include <string>

namespace switchboard::core {

inline std::string status_name(sb_status status) {
    switch (status) {
    case SB_STATUS_TRANSIENT: return "transient";
    case SB_STATUS_PERMANENT: return "permanent";
    case SB_STATUS_INVALID_CONFIG: return "invalid_config";
    case SB_STATUS_AUTHENTICATION: return "authentication";
    case SB_STATUS_UNSUPPORTED: return "unsupported";
    default: return "internal";
    }
}

} // namespace switchboard::core
