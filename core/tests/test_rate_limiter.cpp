// Pacing is measured on a clock the test controls: the limits hold in every window.
#include <switchboard/core/rate_limiter.hpp>

#include <catch2/catch.hpp>

#include <deque>

using namespace switchboard::core;
using namespace std::chrono_literals;
using clock_type = token_bucket::clock;

TEST_CASE("rate limiter: no more than the limit in any one-second window, and at least 95% of it", "[core][rate]") {
    rate_limiter limiter(10, 0);
    clock_type::time_point now{};
    std::deque<clock_type::time_point> sent;
    std::size_t worst = 0;
    for (int call = 0; call < 200; ++call) {
        now += limiter.reserve(1000, now);
        if (call % 7 == 3)
            now += 40ms;  // a call that goes out late (encoding, connecting), then the next on time
        sent.push_back(now);
        while (sent.front() <= now - 1s)
            sent.pop_front();
        worst = std::max(worst, sent.size());
    }
    CHECK(worst <= 10);
    const double seconds = std::chrono::duration<double>(now - clock_type::time_point{}).count();
    CHECK(200 / seconds >= 9.0);
}

TEST_CASE("rate limiter: a sender that waits exactly as told gets 95% of the limit", "[core][rate]") {
    rate_limiter limiter(10, 0);
    clock_type::time_point now{};
    for (int call = 0; call < 100; ++call)
        now += limiter.reserve(1, now);
    const double seconds = std::chrono::duration<double>(now - clock_type::time_point{}).count();
    CHECK(99 / seconds == Approx(9.5).epsilon(0.01));
}

TEST_CASE("rate limiter: recipients per second pace large calls", "[core][rate]") {
    rate_limiter limiter(0, 1000);
    const clock_type::time_point start{};
    CHECK(limiter.reserve(1000, start) == 0s);     // the first second's worth is available
    CHECK(limiter.reserve(500, start) == 500ms);   // then the next 500 come due in half a second
}

TEST_CASE("rate limiter: no limits mean no waiting", "[core][rate]") {
    rate_limiter limiter(0, 0);
    for (int i = 0; i < 100; ++i)
        CHECK(limiter.reserve(1000, clock_type::time_point{}) == 0s);
}

TEST_CASE("rate limiter: an idle bucket saves up only its burst", "[core][rate]") {
    token_bucket bucket(10, 1);
    const clock_type::time_point start{};
    CHECK(bucket.reserve(1, start) == 0s);
    CHECK(bucket.reserve(1, start + 1h) == 0s);          // an hour idle buys one call, not 36000
    CHECK(bucket.reserve(1, start + 1h) == 100ms);  // a bare bucket keeps the exact rate
}

TEST_CASE("rate limiter: a vendor's throttling answer holds every later call of the instance", "[core][rate]") {
    rate_limiter limiter(0, 0);
    const clock_type::time_point start{};
    limiter.hold(2s, start);
    CHECK(limiter.reserve(1, start) == 2s);
    CHECK(limiter.reserve(1, start + 500ms) == 1500ms);
    limiter.hold(1s, start + 500ms);                  // a shorter hold never shortens a longer one
    CHECK(limiter.reserve(1, start + 1s) == 1s);
    CHECK(limiter.reserve(1, start + 3s) == 0s);
}
