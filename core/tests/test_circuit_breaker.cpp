// A provider instance's circuit breaker: when it opens, who it lets through, and what closes it.
#include <switchboard/core/circuit_breaker.hpp>

#include <catch2/catch.hpp>

using namespace switchboard::core;

namespace {

circuit_breaker_settings half_of_ten() {
    circuit_breaker_settings s;
    s.failure_ratio = 0.5;
    s.window_calls = 10;
    s.min_calls = 4;
    s.cool_down = std::chrono::milliseconds(1000);
    return s;
}

} // namespace

TEST_CASE("circuit breaker: opens once the window holds enough calls and half of them failed", "[core][circuit]") {
    circuit_breaker b(half_of_ten());
    CHECK_FALSE(b.record("transient", 100));
    CHECK_FALSE(b.record("unknown", 110));
    CHECK_FALSE(b.record("not_sent", 120));   // three failures, but fewer calls than min_calls
    CHECK(b.status().state == circuit_state::closed);
    CHECK(b.record("ok", 130) == circuit_state::open);   // 3 of 4
    CHECK(b.status().since_ms == 130);
    bool changed = false;
    CHECK_FALSE(b.allows_call(1129, changed));   // cooling down
    CHECK_FALSE(changed);
}

TEST_CASE("circuit breaker: only the vendor's and the network's failures count", "[core][circuit]") {
    circuit_breaker b(half_of_ten());
    for (int i = 0; i < 10; ++i) {
        CHECK_FALSE(b.record("permanent", i));     // the vendor answered: refusing a batch is not ill health
        CHECK_FALSE(b.record("encode_error", i));  // the plugin's own failure says nothing of the vendor
    }
    CHECK(b.status().state == circuit_state::closed);
    CHECK(b.status().recent_failures == 0);
    CHECK(b.status().recent_calls == 10);          // permanent counted as a call that went well; encode_error not at all
}

TEST_CASE("circuit breaker: a refusal of the credentials opens it at once", "[core][circuit]") {
    circuit_breaker b(half_of_ten());
    CHECK_FALSE(b.record("ok", 1));
    CHECK(b.record("authentication", 2) == circuit_state::open);
}

TEST_CASE("circuit breaker: after the cool-down one probe goes out, it closes the circuit or opens it again",
          "[core][circuit]") {
    circuit_breaker b(half_of_ten());
    REQUIRE(b.record("authentication", 0) == circuit_state::open);
    bool changed = false;
    CHECK(b.allows_call(1000, changed));   // the probe
    CHECK(changed);
    CHECK(b.status().state == circuit_state::half_open);
    CHECK_FALSE(b.allows_call(1001, changed));   // nothing else while it is out
    CHECK_FALSE(changed);
    CHECK(b.record("transient", 1200) == circuit_state::open);   // the probe failed: another cool-down
    CHECK_FALSE(b.allows_call(2199, changed));
    CHECK(b.allows_call(2200, changed));
    CHECK(b.record("ok", 2300) == circuit_state::closed);
    CHECK(b.status().recent_calls == 0);   // a fresh window
    CHECK(b.allows_call(2301, changed));
}
