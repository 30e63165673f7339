// What the dispatcher reports as it works, for metrics and provider health. The dispatcher calls
// it from any of its threads; implementations must be quick and thread safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::core {

class dispatch_observer {
public:
    virtual ~dispatch_observer() = default;

    // One vendor call to a provider instance, with `recipients` in it, and how it ended: "ok" (the
    // vendor answered and the plugin read each recipient's outcome), "transient", "permanent",
    // "authentication", ... (the plugin's status for the whole call), "not_sent", "unknown" (the
    // answer never came), "encode_error". `latency` is the HTTP exchange (0 when never sent);
    // `error` what went wrong, in the plugin's or the HTTP client's words (empty for "ok").
    virtual void vendor_call(const std::string& provider, std::size_t recipients, std::string_view outcome,
                             std::chrono::steady_clock::duration latency, std::string_view error) = 0;
    // A call that waited `waited` for the provider's rate limit before it went out.
    virtual void rate_wait(const std::string& provider, std::chrono::steady_clock::duration waited) = 0;
    // Receipts from a callback or a poll: how many moved a recipient on, were ignored, named nobody yet.
    virtual void receipts(const std::string& provider, std::size_t applied, std::size_t ignored,
                          std::size_t unmatched) = 0;
    // A breach of the provider contract by the provider's plugin (see dispatcher::note_breach for
    // the rules), once for each time it happens.
    virtual void contract_breach(const std::string& provider, std::string_view rule) {
        (void)provider;
        (void)rule;
    }
    // The provider instance's circuit breaker went to `state` ("open", "half_open", "closed").
    virtual void circuit_changed(const std::string& provider, std::string_view state) {
        (void)provider;
        (void)state;
    }
};

} // namespace switchboard::core
