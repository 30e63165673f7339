#include "metrics.hpp"

#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/job.hpp>
#include <switchboard/core/cluster.hpp>
#include <switchboard/core/job_store.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace switchboard::host {

namespace {

constexpr std::size_t recent_calls_kept = 100;
constexpr std::size_t errors_kept = 5;
constexpr auto recent_window = std::chrono::minutes(5);
constexpr auto rate_window = std::chrono::seconds(10);

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

struct metrics::families {
    prometheus::Registry registry;
    prometheus::Family<prometheus::Counter>& calls = prometheus::BuildCounter()
        .Name("switchboard_vendor_calls_total")
        .Help("Vendor calls by provider instance and outcome (ok, transient, permanent, authentication, not_sent, "
              "unknown, encode_error)")
        .Register(registry);
    prometheus::Family<prometheus::Counter>& call_recipients = prometheus::BuildCounter()
        .Name("switchboard_vendor_call_recipients_total")
        .Help("Recipients carried by vendor calls, by provider instance")
        .Register(registry);
    prometheus::Family<prometheus::Histogram>& latency = prometheus::BuildHistogram()
        .Name("switchboard_vendor_call_duration_seconds")
        .Help("How long vendor calls took, request written to answer read, by provider instance")
        .Register(registry);
    prometheus::Family<prometheus::Counter>& waits = prometheus::BuildCounter()
        .Name("switchboard_rate_limit_waits_total")
        .Help("Vendor calls that waited for their provider instance's rate limit")
        .Register(registry);
    prometheus::Family<prometheus::Counter>& waited = prometheus::BuildCounter()
        .Name("switchboard_rate_limit_wait_seconds_total")
        .Help("Time vendor calls spent waiting for their provider instance's rate limit")
        .Register(registry);
    prometheus::Family<prometheus::Counter>& receipts = prometheus::BuildCounter()
        .Name("switchboard_receipts_total")
        .Help("Delivery receipts by provider instance and result (applied, ignored, unmatched)")
        .Register(registry);
    prometheus::Family<prometheus::Counter>& breaches = prometheus::BuildCounter()
        .Name("switchboard_plugin_contract_breaches_total")
        .Help("Breaches of the provider contract by a provider instance's plugin, by rule (second_write, "
              "unknown_status, no_request, foreign_outcome, duplicate_outcome, missing_outcome, invalid_result, "
              "invalid_receipt_status)")
        .Register(registry);
    prometheus::Family<prometheus::Counter>& circuit_changes = prometheus::BuildCounter()
        .Name("switchboard_circuit_changes_total")
        .Help("Changes of a provider instance's circuit breaker, by the state it went to (open, half_open, closed)")
        .Register(registry);
    prometheus::Family<prometheus::Gauge>& circuit_open = prometheus::BuildGauge()
        .Name("switchboard_circuit_open")
        .Help("1 while a provider instance's circuit breaker is open or half open (its recipients move on), else 0")
        .Register(registry);
    prometheus::Family<prometheus::Gauge>& jobs = prometheus::BuildGauge()
        .Name("switchboard_jobs")
        .Help("Stored jobs by state")
        .Register(registry);
    prometheus::Family<prometheus::Gauge>& recipients = prometheus::BuildGauge()
        .Name("switchboard_recipients")
        .Help("Recipients of stored jobs by state")
        .Register(registry);
    prometheus::Family<prometheus::Gauge>& queue = prometheus::BuildGauge()
        .Name("switchboard_queue_depth")
        .Help("Recipients waiting for a vendor call (queued), over every daemon sharing the store")
        .Register(registry);
    prometheus::Family<prometheus::Gauge>& daemons = prometheus::BuildGauge()
        .Name("switchboard_daemons")
        .Help("Daemons holding a lease on the shared store at this daemon's last renewal (1 with a store of its own)")
        .Register(registry);
};

metrics::metrics(core::job_store& store) : store_(store), families_(std::make_unique<families>()) {}

metrics::~metrics() = default;

void metrics::vendor_call(const std::string& provider, std::size_t recipients, std::string_view outcome,
                          std::chrono::steady_clock::duration latency, std::string_view error) {
    families_->calls.Add({{"provider", provider}, {"outcome", std::string(outcome)}}).Increment();
    families_->call_recipients.Add({{"provider", provider}}).Increment(static_cast<double>(recipients));
    if (latency.count() > 0)
        families_->latency
            .Add({{"provider", provider}},
                 prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
            .Observe(seconds(latency));

    std::lock_guard lock(recent_mutex_);
    std::deque<recent_call>& calls = recent_[provider];
    calls.push_back({std::chrono::steady_clock::now(), now_ms(), outcome == "ok"});
    if (calls.size() > recent_calls_kept)
        calls.pop_front();
    if (outcome == "ok")
        return;
    std::deque<call_error>& errors = errors_[provider];
    errors.push_front({now_ms(), std::string(outcome), core::excerpt(error, 300)});
    if (errors.size() > errors_kept)
        errors.pop_back();
}

void metrics::rate_wait(const std::string& provider, std::chrono::steady_clock::duration waited) {
    families_->waits.Add({{"provider", provider}}).Increment();
    families_->waited.Add({{"provider", provider}}).Increment(seconds(waited));
}

void metrics::contract_breach(const std::string& provider, std::string_view rule) {
    families_->breaches.Add({{"provider", provider}, {"rule", std::string(rule)}}).Increment();
}

void metrics::circuit_changed(const std::string& provider, std::string_view state) {
    families_->circuit_changes.Add({{"provider", provider}, {"state", std::string(state)}}).Increment();
    families_->circuit_open.Add({{"provider", provider}}).Set(state == "closed" ? 0 : 1);
}

void metrics::receipts(const std::string& provider, std::size_t applied, std::size_t ignored, std::size_t unmatched) {
    for (const auto& [result, count] : {std::pair{"applied", applied}, {"ignored", ignored}, {"unmatched", unmatched}})
        families_->receipts.Add({{"provider", provider}, {"result", result}}).Increment(static_cast<double>(count));
}

std::string metrics::exposition() {
    // Read at each scrape: the store keeps these counts up to date (per-state counts per job).
    for (const auto& [state, count] : store_.jobs_by_state())
        families_->jobs.Add({{"state", core::to_string(state)}}).Set(static_cast<double>(count));
    const auto recipients = store_.recipients_by_state();
    for (const auto& [state, count] : recipients)
        families_->recipients.Add({{"state", core::to_string(state)}}).Set(static_cast<double>(count));
    families_->queue.Add({}).Set(static_cast<double>(recipients.at(core::recipient_state::queued)));
    const core::cluster* shared = store_.shared();
    families_->daemons.Add({}).Set(shared ? static_cast<double>(shared->daemons()) : 1.0);
    return prometheus::TextSerializer().Serialize(families_->registry.Collect());
}

provider_health metrics::health(const std::string& provider) const {
    provider_health h;
    std::lock_guard lock(recent_mutex_);
    if (const auto errors = errors_.find(provider); errors != errors_.end())
        h.last_errors.assign(errors->second.begin(), errors->second.end());
    const auto found = recent_.find(provider);
    if (found == recent_.end() || found->second.empty())
        return h;
    const auto now = std::chrono::steady_clock::now();
    std::size_t in_rate_window = 0;
    for (const recent_call& call : found->second) {
        if (now - call.at > recent_window)
            continue;
        ++h.recent_calls;
        h.recent_ok += call.ok ? 1 : 0;
        in_rate_window += now - call.at <= rate_window ? 1 : 0;
    }
    h.last_call_at_ms = found->second.back().at_ms;
    h.calls_per_second = static_cast<double>(in_rate_window) / std::chrono::duration<double>(rate_window).count();
    if (h.recent_calls == 0)
        return h;
    const double ok_share = static_cast<double>(h.recent_ok) / static_cast<double>(h.recent_calls);
    h.status = ok_share >= 0.9 ? "healthy" : ok_share >= 0.5 ? "degraded" : "failing";
    return h;
}

} // namespace switchboard::host
