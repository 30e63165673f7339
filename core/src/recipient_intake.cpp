#include <switchboard/core/recipient_intake.hpp>

#include <switchboard/core/phone_numbers.hpp>

#include <unordered_map>

namespace switchboard::core {

namespace {

bool refused(const recipient& r) {
    return r.state == recipient_state::skipped_invalid || r.state == recipient_state::skipped_duplicate;
}

} // namespace

void normalise_numbers(std::vector<recipient>& recipients, const route& r, std::string_view region) {
    if (r.steps.empty() || !addressed_by_phone_number(r.steps.front().channel))
        return;
    for (recipient& rec : recipients) {
        if (refused(rec))
            continue;
        const phone_number_verdict verdict = normalise_phone_number(rec.to, region);
        if (verdict.ok()) {
            rec.to = verdict.e164;
            continue;
        }
        rec.state = recipient_state::skipped_invalid;
        rec.code = "to";
        rec.reason = "'" + rec.to + "' is not a valid phone number: " + verdict.reason;
    }
}

void mark_duplicates(std::vector<recipient>& recipients, const earlier_recipient& earlier) {
    std::unordered_map<std::string, std::int64_t> first_seen;
    for (recipient& rec : recipients) {
        if (refused(rec))
            continue;
        std::optional<std::int64_t> first;
        if (const auto seen = first_seen.find(rec.to); seen != first_seen.end())
            first = seen->second;
        else if (earlier)
            first = earlier(rec.to);
        if (!first) {
            first_seen.emplace(rec.to, rec.index);
            continue;
        }
        rec.state = recipient_state::skipped_duplicate;
        rec.code = "duplicate";
        rec.reason = "the same address as recipient " + std::to_string(*first) + ", which is the one sent";
    }
}

} // namespace switchboard::core
