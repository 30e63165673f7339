// The dispatcher: takes a stored job and sends its recipients through their route, batch by batch,
// recording every outcome in the store. One coroutine per job on the shared io executor.
#pragma once

#include <switchboard/core/job.hpp>
#include <switchboard/core/route.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::core {

class http_client;
class job_store;
class provider_instance;
class rate_limiter;

using provider_map = std::map<std::string, std::unique_ptr<provider_instance>, std::less<>>;
using route_map = std::map<std::string, route, std::less<>>;

// A provider instance's pace when the configuration overrides its manifest's (0: no limit).
struct rate_override {
    std::optional<double> requests_per_second;
    std::optional<double> recipients_per_second;
};

struct dispatch_options {
    int max_attempts = 3;                              // vendor calls per recipient and step
    std::chrono::milliseconds base_backoff{500};       // first retry waits up to this (full jitter)
    std::chrono::milliseconds max_backoff{30'000};
    std::map<std::string, rate_override, std::less<>> rate_overrides;  // by provider instance
    std::map<std::string, std::size_t, std::less<>> batch_limits;     // by instance, under the manifest's
};

// Validates `recipients` against the provider of `step`, many per plugin call; those refused
// become skipped_invalid with the plugin's field and reason. Throws std::runtime_error when the
// plugin cannot validate at all.
void validate_recipients(const provider_instance& provider, const route_step& step, std::vector<recipient>& recipients);

class dispatcher {
public:
    // Paces each provider instance at the limits its plugin's manifest declares.
    dispatcher(boost::asio::any_io_executor executor, job_store& store, const route_map& routes,
               const provider_map& providers, http_client& http, dispatch_options options = {});
    ~dispatcher();

    // Starts sending a stored job in the background.
    void start(const std::string& job_id);

    // Resumes every unfinished job in the store, as after a restart. Recipients that were inside a
    // vendor call when the process stopped become `unknown`: the vendor may have taken them, so
    // they are not sent again. Returns how many jobs it resumed.
    std::size_t resume_unfinished();

    // Graceful stop: no job starts another vendor call; calls already out run to their end.
    void stop_sending() noexcept { stopping_ = true; }
    // Vendor calls under way right now.
    int calls_in_flight() const noexcept { return *in_flight_; }
    // Marks every recipient still inside a vendor call as `unknown` (for a stop whose grace
    // period ran out). Returns how many.
    std::size_t abandon_in_flight();

    // Sends a stored job until every recipient is final.
    boost::asio::awaitable<void> run(std::string job_id);

private:
    boost::asio::awaitable<void> send_batch(const job& j, const route_step& step, const provider_instance& provider,
                                            std::vector<recipient> batch);
    // Decides one recipient's next state; a transient failure (state queued) is retried at
    // `retry_at_ms` until its attempts run out.
    void settle(recipient_update& u, const recipient& r, recipient_state state, const std::string& code,
                const std::string& reason, std::int64_t retry_at_ms);
    void apply_outcomes(const std::string& outcomes_json, const std::vector<recipient>& batch,
                        std::vector<recipient_update>& updates,
                        const std::function<std::int64_t(std::int64_t)>& retry_at);
    std::int64_t backoff_ms(int attempts, std::int64_t retry_after_ms);
    // Marks the candidates as in a call, where they are still queued; returns those it took.
    std::vector<recipient> claim(const std::string& job_id, const std::string& provider, std::vector<recipient> candidates);
    // The most recipients one call to this instance carries.
    std::size_t batch_limit(const std::string& name, const provider_instance& provider) const;
    // Waits until the provider's rate limits let a call with `recipients` go out.
    boost::asio::awaitable<void> pace(const std::string& provider, std::size_t recipients);

    boost::asio::any_io_executor executor_;
    job_store& store_;
    const route_map& routes_;
    const provider_map& providers_;
    http_client& http_;
    dispatch_options options_;
    std::map<std::string, std::unique_ptr<rate_limiter>, std::less<>> limiters_;
    std::atomic<bool> stopping_{false};
    std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
};

} // namespace switchboard::core
