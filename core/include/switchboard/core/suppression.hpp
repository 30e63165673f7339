// The suppression list: addresses that must never be messaged, on one channel or on every one
// (people who opted out, numbers a regulator lists). Kept in the job store, checked as recipients
// come in and before each later route step.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace switchboard::core {

inline constexpr const char* every_channel = "*";

struct suppression {
    std::string address;               // E.164 for a phone number, else as given (a platform's user id)
    std::string channel = every_channel;   // "sms", "whatsapp", ... or "*": every channel
    std::string reason;                // why, as the operator wrote it ("opted out by SMS STOP")
    std::int64_t created_at_ms = 0;
};

// The entries that name some addresses: address -> its entries.
using suppression_index = std::map<std::string, std::vector<suppression>>;

// The entry that keeps `address` from `channel`, if any (one for that channel, else one for every
// channel).
const suppression* find_suppression(const suppression_index& index, const std::string& address, const std::string& channel);

// "on the suppression list for sms since 2026-12-06: opted out" (the reason, when there is one).
std::string suppression_reason(const suppression& entry);

} // namespace switchboard::core
