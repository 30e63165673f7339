// What `switchboard send` shows while it follows a job: the live line, the plain lines, the summary.
#include "send_progress.hpp"

#include <catch2/catch.hpp>

#include <sstream>

namespace json = boost::json;
using namespace switchboard::host;
using namespace std::chrono_literals;

namespace {

// The counts as the daemon gives them: every state, in its order, zeros included.
json::object counts(std::int64_t queued, std::int64_t accepted, std::int64_t delivered, std::int64_t failed,
                    std::int64_t awaiting = 0) {
    return {{"queued", queued},     {"sending", 0},   {"accepted", accepted},       {"delivered", delivered},
            {"failed", failed},     {"unknown", 0},   {"cancelled", 0},             {"skipped_invalid", 0},
            {"skipped_duplicate", 0}, {"awaiting_receipt", awaiting}};
}

} // namespace

TEST_CASE("final states count as done, the rest as under way", "[host][progress]") {
    for (const char* state : {"accepted", "delivered", "failed", "unknown", "cancelled", "skipped_invalid", "skipped_duplicate"})
        CHECK(is_final_state(state));
    for (const char* state : {"queued", "sending", "awaiting_receipt"})
        CHECK_FALSE(is_final_state(state));
    CHECK(final_count(counts(1266, 1200, 10, 24, 5)) == 1234);
}

TEST_CASE("the bar fills in proportion and is full only when everything is done", "[host][progress]") {
    CHECK(progress_bar(0, 2500) == "[--------------------]   0%");
    CHECK(progress_bar(1234, 2500) == "[#########-----------]  49%");
    CHECK(progress_bar(2499, 2500) == "[###################-]  99%");
    CHECK(progress_bar(2500, 2500) == "[####################] 100%");
    CHECK(progress_bar(0, 0) == "[####################] 100%");
    CHECK(progress_bar(1, 4, 4) == "[#---]  25%");
}

TEST_CASE("the live line has the bar, done of total, each state that has recipients, and the time", "[host][progress]") {
    CHECK(live_job_line(counts(1266, 1200, 10, 24), 2500, 2300ms) ==
          "[#########-----------]  49%  1234/2500  accepted 1200  delivered 10  failed 24  queued 1266  2.3 s");
    CHECK(plain_job_line(counts(1266, 1200, 10, 24), 2500, 2300ms) ==
          "progress: 1234/2500 final (49%): accepted 1200, delivered 10, failed 24, queued 1266; 2.3 s");
    CHECK(live_upload_line(20000, 100000, 1200ms) == "uploading [####----------------]  20%  20000/100000 recipients  1.2 s");
    CHECK(plain_upload_line(20000, 100000, 2, 1200ms) == "upload: 20000/100000 recipients (20%), 2 pages; 1.2 s");
    CHECK(elapsed_text(245s) == "4 min 05 s");
    CHECK(elapsed_text(2h + 7min) == "2 h 07 min");
}

TEST_CASE("the summary table lists the states that have recipients, aligned, then the total", "[host][progress]") {
    CHECK(summary_table(counts(0, 2497, 0, 3), 2500) == "STATE     RECIPIENTS   SHARE\n"
                                                         "accepted        2497   99.9%\n"
                                                         "failed             3    0.1%\n"
                                                         "total           2500\n");
    CHECK(summary_table(counts(0, 11999, 0, 1), 12000) == "STATE     RECIPIENTS   SHARE\n"
                                                           "accepted       11999  >99.9%\n"
                                                           "failed             1   <0.1%\n"
                                                           "total          12000\n");
    json::object skipped = counts(0, 1, 0, 0);
    skipped["skipped_duplicate"] = 1;
    CHECK(summary_table(skipped, 2) == "STATE              RECIPIENTS   SHARE\n"
                                       "accepted                    1   50.0%\n"
                                       "skipped_duplicate           1   50.0%\n"
                                       "total                       2\n");
}

TEST_CASE("a live status line redraws in place, a plain one prints now and then, and when forced", "[host][progress]") {
    std::ostringstream live_err;
    {
        status_line live(live_err, true);
        live.update("one", "plain one");
        live.update("two", "plain two");
    }   // finishing ends the line
    CHECK(live_err.str() == "\rone\x1b[K\rtwo\x1b[K\n");

    std::ostringstream plain_err;
    status_line plain(plain_err, false, 1h);
    plain.update("live", "first");
    plain.update("live", "too soon");
    plain.update("live", "last", true);
    plain.finish();
    CHECK(plain_err.str() == "first\nlast\n");
}
