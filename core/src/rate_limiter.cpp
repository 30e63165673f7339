#include <switchboard/core/rate_limiter.hpp>

#include <algorithm>

namespace switchboard::core {

token_bucket::token_bucket(double rate, double burst)
    : rate_(rate), burst_(std::max(burst, 1.0)), available_(std::max(burst, 1.0)) {}

token_bucket::clock::duration token_bucket::reserve(double tokens, clock::time_point now) {
    if (rate_ <= 0)
        return clock::duration::zero();
    if (!started_) {  // a bucket starts full at its first use
        started_ = true;
        updated_ = now;
    }
    if (now > updated_) {
        available_ = std::min(burst_, available_ + rate_ * std::chrono::duration<double>(now - updated_).count());
        updated_ = now;
    }
    available_ -= tokens;
    if (available_ >= 0)
        return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(-available_ / rate_));
}

namespace {
// A bucket with a burst of one call lets a one-second window hold 1 + rate x (1 s + lateness)
// calls when a call goes out late and the next one on time. At 95% of the vendor's limit that stays
// at the limit for lateness up to 50 ms (1 + 9.5 x 1.05 < 11 calls for 10/s), at the price of 5%
// of the rate.
constexpr double pacing_margin = 0.95;
} // namespace

rate_limiter::rate_limiter(double requests_per_second, double recipients_per_second)
    : requests_(requests_per_second * pacing_margin, 1), recipients_(recipients_per_second, recipients_per_second) {}

token_bucket::clock::duration rate_limiter::reserve(std::size_t recipients, token_bucket::clock::time_point now) {
    std::lock_guard lock(mutex_);
    const token_bucket::clock::duration held = held_until_ > now ? held_until_ - now : token_bucket::clock::duration::zero();
    return std::max({held, requests_.reserve(1, now), recipients_.reserve(static_cast<double>(recipients), now)});
}

void rate_limiter::hold(token_bucket::clock::duration wait, token_bucket::clock::time_point now) {
    std::lock_guard lock(mutex_);
    held_until_ = std::max(held_until_, now + wait);
}

} // namespace switchboard::core
