#include <switchboard/core/recipient_intake.hpp>

#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/phone_numbers.hpp>

#include <algorithm>
#include <future>
#include <thread>
#include <unordered_map>

namespace switchboard::core {

namespace {

bool refused(const recipient& r) {
    return r.state == recipient_state::skipped_invalid || r.state == recipient_state::skipped_duplicate;
}

void normalise_range(recipient* first, recipient* last, std::string_view region) {
    for (recipient* rec = first; rec != last; ++rec) {
        if (refused(*rec))
            continue;
        const phone_number_verdict verdict = normalise_phone_number(rec->to, region);
        if (verdict.ok()) {
            rec->to = verdict.e164;
            continue;
        }
        rec->state = recipient_state::skipped_invalid;
        rec->code = "to";
        rec->reason = "'" + excerpt(rec->to, longest_phone_number_text) + "' is not a valid phone number: " + verdict.reason;
    }
}

} // namespace

void normalise_numbers(std::vector<recipient>& recipients, const route& r, std::string_view region) {
    if (r.steps.empty() || !addressed_by_phone_number(r.steps.front().channel))
        return;
    // libphonenumber takes some 14 µs a number: a large page is shared among the cores.
    constexpr std::size_t worth_a_thread = 2000;
    const std::size_t threads =
        std::clamp<std::size_t>(recipients.size() / worth_a_thread, 1, std::max(1u, std::thread::hardware_concurrency()));
    const std::size_t share = (recipients.size() + threads - 1) / threads;
    std::vector<std::future<void>> helpers;
    for (std::size_t t = 1; t < threads; ++t) {
        recipient* first = recipients.data() + std::min(recipients.size(), t * share);
        recipient* last = recipients.data() + std::min(recipients.size(), (t + 1) * share);
        helpers.push_back(std::async(std::launch::async, normalise_range, first, last, region));
    }
    normalise_range(recipients.data(), recipients.data() + std::min(recipients.size(), share), region);
    for (std::future<void>& helper : helpers)
        helper.get();
}

void choose_first_steps(std::vector<recipient>& recipients, const route& r) {
    const bool by_country = std::any_of(r.chains.begin(), r.chains.end(), [](const route_chain& c) { return !c.countries.empty(); });
    for (recipient& rec : recipients) {
        if (refused(rec))
            continue;
        const std::string country = by_country ? country_of_number(rec.to) : std::string();
        const route_chain* chain = chain_for(r, rec.to, country);
        if (chain == nullptr) {
            rec.state = recipient_state::skipped_invalid;
            rec.code = "no_rule";
            rec.reason = "no rule of route '" + r.name + "' takes " + rec.to + (country.empty() ? "" : " (" + country + ")") +
                         ": add its country or prefix to a rule, or a last rule without either to take everyone else";
            continue;
        }
        rec.step = first_step(r, *chain, rec.to);
    }
}

void mark_duplicates(std::vector<recipient>& recipients, const earlier_recipients& earlier) {
    std::map<std::string, std::int64_t> earlier_first;
    if (earlier) {
        std::vector<std::string> addresses;
        for (const recipient& rec : recipients)
            if (!refused(rec))
                addresses.push_back(rec.to);
        earlier_first = earlier(addresses);
    }
    std::unordered_map<std::string, std::int64_t> first_seen;
    for (recipient& rec : recipients) {
        if (refused(rec))
            continue;
        std::optional<std::int64_t> first;
        if (const auto before = earlier_first.find(rec.to); before != earlier_first.end())
            first = before->second;
        else if (const auto seen = first_seen.find(rec.to); seen != first_seen.end())
            first = seen->second;
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
