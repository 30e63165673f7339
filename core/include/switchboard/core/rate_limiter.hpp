// Pacing of vendor calls: a token bucket per provider instance for requests per second and one for
// recipients per second. A call reserves its tokens and waits until they are due, so a limit is
// kept in every window, not just on average.
#pragma once

#include <chrono>
#include <mutex>

namespace switchboard::core {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    // `rate` tokens per second, at most `burst` saved up; a rate of 0 means no limit.
    token_bucket(double rate, double burst);

    // Takes `tokens` (possibly into debt) and returns how long from `now` until they are covered.
    clock::duration reserve(double tokens, clock::time_point now);

private:
    double rate_;
    double burst_;
    double available_;
    clock::time_point updated_{};
    bool started_ = false;
};

class rate_limiter {
public:
    // Limits of 0 mean none. Calls are spaced evenly (a burst of one call) at 95% of
    // `requests_per_second`, so that no one-second window at the vendor holds more than the limit
    // even when a call goes out a little late.
    rate_limiter(double requests_per_second, double recipients_per_second);

    // Reserves one call carrying `recipients`; returns how long to wait before sending it.
    // Thread safe.
    token_bucket::clock::duration reserve(std::size_t recipients, token_bucket::clock::time_point now = token_bucket::clock::now());

    // Back-pressure: the vendor said "throttled, come back in `wait`", so no call of this instance
    // goes out before then, whichever job it belongs to. Thread safe.
    void hold(token_bucket::clock::duration wait, token_bucket::clock::time_point now = token_bucket::clock::now());

private:
    std::mutex mutex_;
    token_bucket::clock::time_point held_until_{};
    token_bucket requests_;
    token_bucket recipients_;
};

} // namespace switchboard::core
