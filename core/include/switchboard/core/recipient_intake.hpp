// What happens to recipients as a job takes them in, before anything is stored: phone numbers to
// E.164, repeats marked, each checked by the plugin of the route step it starts at.
#pragma once

#include <switchboard/core/job.hpp>
#include <switchboard/core/route.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

// For each address the job holds already (pages stored before), the index of its first recipient.
using earlier_recipients = std::function<std::map<std::string, std::int64_t>(const std::vector<std::string>& addresses)>;

// When the route's first step addresses people by phone number, rewrites each `to` to E.164
// (numbers without a country code read in `region`); one that is not a valid number becomes
// skipped_invalid with libphonenumber's reason.
void normalise_numbers(std::vector<recipient>& recipients, const route& r, std::string_view region);

// Sets each recipient not refused yet at the step it starts at: the first step of the chain its
// number's country or prefix chooses (on a route with destination rules), or its weighted choice.
// One no rule covers becomes skipped_invalid, code "no_rule".
void choose_first_steps(std::vector<recipient>& recipients, const route& r);

// Marks each repeat of an earlier recipient, in this list or (by `earlier`) in the job, as
// skipped_duplicate: the first occurrence is the one sent. Recipients already refused (skipped)
// neither count as a first occurrence nor are marked.
void mark_duplicates(std::vector<recipient>& recipients, const earlier_recipients& earlier);

} // namespace switchboard::core
