#include <switchboard/core/suppression.hpp>

#include <ctime>

namespace switchboard::core {

const suppression* find_suppression(const suppression_index& index, const std::string& address, const std::string& channel) {
    const auto found = index.find(address);
    if (found == index.end())
        return nullptr;
    const suppression* any = nullptr;
    for (const suppression& entry : found->second) {
        if (entry.channel == channel)
            return &entry;
        if (entry.channel == every_channel)
            any = &entry;
    }
    return any;
}

std::string suppression_reason(const suppression& entry) {
    const std::time_t seconds = static_cast<std::time_t>(entry.created_at_ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%d", &utc);
    std::string out = "on the suppression list for " +
                      (entry.channel == every_channel ? std::string("every channel") : entry.channel) + " since " + day;
    if (!entry.reason.empty())
        out += ": " + entry.reason;
    return out;
}

} // namespace switchboard::core
