// The conformance checker's cases: each one rule of provider.h, checked in its own process.
#pragma once

#include "plugin_check_env.hpp"

#include <functional>
#include <string>
#include <vector>

namespace switchboard::host {

struct check_case {
    std::string name;    // "decode.canned_answers"
    std::string rule;    // what a plugin must do, in one line
    std::function<void(check_env&)> run;   // returns when the plugin keeps the rule; see case_failed, case_skipped
};

// Every case, in the order they run: loading, the manifest, create, validate, encode, then decode,
// receipts, concurrency, fuzzing and time.
const std::vector<check_case>& all_check_cases();

// The two halves of that list, each in its own file.
void add_contract_cases(std::vector<check_case>& cases);
void add_answer_cases(std::vector<check_case>& cases);

} // namespace switchboard::host
