// A provider instance's circuit breaker: over its recent calls, the share that failed for the
// vendor's or the network's reasons (not a recipient's). Past a ratio it opens: its recipients move
// on along their routes at once instead of waiting out retries. After a cool-down one probe call
// decides whether it closes again. A vendor refusing the credentials opens it at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::core {

struct circuit_breaker_settings {
    double failure_ratio = 0.5;                  // opens when this share of the window failed...
    std::size_t window_calls = 20;               // ...over the last calls, at most this many,
    std::size_t min_calls = 10;                  // ...once there are at least this many
    std::chrono::milliseconds cool_down{30'000}; // open this long before a probe call
};

enum class circuit_state { closed, open, half_open };
const char* to_string(circuit_state state) noexcept;

struct circuit_status {
    circuit_state state = circuit_state::closed;
    std::int64_t since_ms = 0;        // when it came to this state (Unix ms; 0: never changed)
    std::size_t recent_calls = 0;     // in the window
    std::size_t recent_failures = 0;
};

class circuit_breaker {
public:
    explicit circuit_breaker(circuit_breaker_settings settings);

    // A call's outcome as the dispatcher reports it ("ok", "transient", "unknown", "not_sent",
    // "authentication", "permanent", ...). Returns the new state when this call changed it.
    std::optional<circuit_state> record(std::string_view outcome, std::int64_t now_ms);

    // Whether a call may go out now: always when closed; when open, once the cool-down is over (that
    // call is the probe, and the state half open until its outcome comes); never while a probe is out.
    // `changed` is set when this call moved it to half open.
    bool allows_call(std::int64_t now_ms, bool& changed);

    circuit_status status() const;
    // Its state alone: what the dispatcher asks for each recipient a call settles.
    circuit_state state() const;
    const circuit_breaker_settings& settings() const noexcept { return settings_; }

private:
    void open(std::int64_t now_ms);

    const circuit_breaker_settings settings_;
    mutable std::mutex mutex_;
    std::deque<bool> window_;   // the last calls: true for a failure
    circuit_state state_ = circuit_state::closed;
    std::int64_t since_ms_ = 0;
};

} // namespace switchboard::core
