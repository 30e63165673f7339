// What the daemon has done, as Prometheus metrics (GET /metrics, the text exposition format) and
// as each provider instance's recent health (GET /v1/providers). Fed by the dispatcher as it
// works; jobs and recipients by state are read from the store at each scrape.
#pragma once

#include <switchboard/core/dispatch_observer.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace switchboard::core {
class job_store;
}

namespace switchboard::host {

// A vendor call that did not end "ok".
struct call_error {
    std::int64_t at_ms = 0;
    std::string outcome;   // "transient", "unknown", "not_sent", ... (see dispatch_observer::vendor_call)
    std::string error;     // in the plugin's or the HTTP client's words
};

// A provider instance as its recent calls show it.
struct provider_health {
    std::string status = "idle";     // idle (no call in 5 minutes), healthy, degraded, failing
    std::size_t recent_calls = 0;    // in the last 5 minutes (at most the last 100)
    std::size_t recent_ok = 0;       // of them, answered and read
    double calls_per_second = 0;     // over the last 10 seconds
    std::int64_t last_call_at_ms = 0;
    std::vector<call_error> last_errors;   // newest first, at most 5, however old
};

class metrics final : public core::dispatch_observer {
public:
    explicit metrics(core::job_store& store);
    ~metrics() override;

    void vendor_call(const std::string& provider, std::size_t recipients, std::string_view outcome,
                     std::chrono::steady_clock::duration latency, std::string_view error) override;
    void rate_wait(const std::string& provider, std::chrono::steady_clock::duration waited) override;
    void receipts(const std::string& provider, std::size_t applied, std::size_t ignored, std::size_t unmatched) override;
    void contract_breach(const std::string& provider, std::string_view rule) override;
    void circuit_changed(const std::string& provider, std::string_view state) override;

    // Every metric, in the Prometheus text exposition format.
    std::string exposition();
    provider_health health(const std::string& provider) const;

private:
    struct families;
    struct recent_call {
        std::chrono::steady_clock::time_point at;
        std::int64_t at_ms;
        bool ok;
    };

    core::job_store& store_;
    std::unique_ptr<families> families_;
    mutable std::mutex recent_mutex_;
    std::map<std::string, std::deque<recent_call>> recent_;   // provider -> its last calls, oldest first
    std::map<std::string, std::deque<call_error>> errors_;    // provider -> its last failed calls, newest first
};

} // namespace switchboard::host
