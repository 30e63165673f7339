// What every conformance case works with: the plugin loaded in the case's own process, step by
// step (library, table, manifest, instance), the documents the host would hand it, and the
// judgements cases share. A step that cannot be taken skips the cases that need it; only the case
// about that step fails, so a plugin that breaks one rule fails one case.
#pragma once

#include "plugin_probe.hpp"

#include <switchboard/core/job.hpp>
#include <switchboard/core/plugin_manifest.hpp>
#include <switchboard/core/provider_library.hpp>
#include <switchboard/core/route.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::host {

struct check_inputs {
    std::filesystem::path file;
    std::string config_json = "{}";   // what a provider's "config" holds
    std::string step_json;            // a route step without "provider"; empty: the first channel alone
    std::string params_json;          // every sample recipient's params; empty: the step's "params" names
    double call_budget_ms = 1000;     // the longest one call may take in time.full_call
    unsigned seed = 1;                // of fuzz.documents
};

// How a case ends other than by passing.
class case_failed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
class case_skipped : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& why);
[[noreturn]] void skip(const std::string& why);

class check_env {
public:
    explicit check_env(const check_inputs& inputs);
    ~check_env();
    check_env(const check_env&) = delete;
    check_env& operator=(const check_env&) = delete;

    const check_inputs& inputs() const noexcept { return inputs_; }

    const core::provider_library& library();
    const sb_provider& table();
    const plugin_probe& probe();
    // Skips the case when the table lacks `function` (table.required_functions reports that).
    void require(const void* function, const char* name);
    const core::plugin_manifest& manifest();
    sb_instance* instance();
    const core::route_step& step();

    // `count` recipients the plugin's validate accepts, with ids "0", "1", ...; skips the case
    // when the samples cannot make that many.
    std::vector<core::recipient> valid_recipients(std::size_t count);
    // Sample recipients, valid or not: a phone number or a platform id, and the sample params.
    core::recipient sample(std::size_t index);
    core::recipient invalid_sample(std::size_t index);

    std::string validation_document(const std::vector<core::recipient>& recipients);
    std::string batch_document(const std::vector<core::recipient>& recipients);
    // The time every encode is signed for: fixed, so that two encodes can be compared.
    static constexpr std::int64_t now_ms = 1'767'225'600'000;   // 2026-01-01T00:00:00Z

private:
    const check_inputs& inputs_;
    std::optional<core::provider_library> library_;
    const sb_provider* table_ = nullptr;
    std::unique_ptr<plugin_probe> probe_;
    std::optional<core::plugin_manifest> manifest_;
    sb_instance* instance_ = nullptr;
    std::optional<core::route_step> step_;
};

// ---- judgements: each fails the case with what is wrong, naming `what` (the call and its input)

// The call kept the output's rules (see probe_call::contract_problem).
void expect_sound(const probe_call& call, const std::string& what);
// It failed, with a reason, without writing a result.
void expect_refusal(const probe_call& call, const std::string& what);
// It succeeded and wrote exactly one well-formed request: a method, an absolute http(s) URL,
// header names that are tokens, no line break in any value.
void expect_one_request(const probe_call& call, const std::string& what);
// {"verdicts": [...]}: each {"ok": true} or {"ok": false, "field": "...", "reason": "..."}.
// Returns how many.
std::size_t expect_verdicts(const probe_call& call, const std::string& what);
// Either a failure with a reason, or {"outcomes": [...]} with exactly one outcome for each of
// `ids`, each with a known result; "accepted" only when `may_accept`.
void expect_outcomes_or_refusal(const probe_call& call, const std::vector<std::string>& ids, bool may_accept,
                                const std::string& what);
// Either a failure with a reason, or {"receipts": [...], "reply": {...}} with a message id and a
// known status in each receipt.
void expect_receipts_or_refusal(const probe_call& call, const std::string& what);

// The start of a text, for messages.
std::string shown(std::string_view text, std::size_t size = 100);

} // namespace switchboard::host
