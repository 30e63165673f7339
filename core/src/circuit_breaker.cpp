#include <switchboard/core/circuit_breaker.hpp>

#include <algorithm>

namespace switchboard::core {

namespace {

enum class call_kind { success, failure, credentials, neither };

// The vendor's or the network's failures count; a refusal of the batch itself (permanent) or a
// plugin's own error says nothing about the vendor's health.
call_kind kind_of(std::string_view outcome) {
    if (outcome == "ok" || outcome == "permanent")
        return call_kind::success;
    if (outcome == "transient" || outcome == "unknown" || outcome == "not_sent")
        return call_kind::failure;
    if (outcome == "authentication")
        return call_kind::credentials;
    return call_kind::neither;
}

} // namespace

const char* to_string(circuit_state state) noexcept {
    switch (state) {
    case circuit_state::closed: return "closed";
    case circuit_state::open: return "open";
    case circuit_state::half_open: return "half_open";
    }
    return "closed";
}

circuit_breaker::circuit_breaker(circuit_breaker_settings settings) : settings_(settings) {}

void circuit_breaker::open(std::int64_t now_ms) {
    state_ = circuit_state::open;
    since_ms_ = now_ms;
}

std::optional<circuit_state> circuit_breaker::record(std::string_view outcome, std::int64_t now_ms) {
    const call_kind kind = kind_of(outcome);
    if (kind == call_kind::neither)
        return std::nullopt;
    std::lock_guard lock(mutex_);
    const circuit_state before = state_;
    if (state_ == circuit_state::half_open) {
        // The probe's outcome decides: a fresh window when it closes, another cool-down when not.
        window_.clear();
        if (kind == call_kind::success) {
            state_ = circuit_state::closed;
            since_ms_ = now_ms;
        } else {
            open(now_ms);
        }
        return state_ != before ? std::optional(state_) : std::nullopt;
    }
    window_.push_back(kind != call_kind::success);
    if (window_.size() > settings_.window_calls)
        window_.pop_front();
    if (state_ != circuit_state::closed)
        return std::nullopt;   // calls that were out when it opened
    const auto failures = static_cast<std::size_t>(std::count(window_.begin(), window_.end(), true));
    const bool too_many = window_.size() >= settings_.min_calls &&
                          static_cast<double>(failures) >= settings_.failure_ratio * static_cast<double>(window_.size());
    if (kind == call_kind::credentials || too_many)
        open(now_ms);
    return state_ != before ? std::optional(state_) : std::nullopt;
}

bool circuit_breaker::allows_call(std::int64_t now_ms, bool& changed) {
    changed = false;
    std::lock_guard lock(mutex_);
    if (state_ == circuit_state::closed)
        return true;
    if (state_ == circuit_state::open && now_ms >= since_ms_ + settings_.cool_down.count()) {
        state_ = circuit_state::half_open;
        since_ms_ = now_ms;
        changed = true;
        return true;
    }
    return false;
}

circuit_state circuit_breaker::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

circuit_status circuit_breaker::status() const {
    std::lock_guard lock(mutex_);
    return {state_, since_ms_, window_.size(), static_cast<std::size_t>(std::count(window_.begin(), window_.end(), true))};
}

} // namespace switchboard::core
