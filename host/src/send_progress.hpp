// What `switchboard send` shows while it works: on a terminal one line redrawn in place (a bar,
// the share done, each state's count), otherwise a plain line every few seconds; and the summary
// table at the end.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace switchboard::host {

// accepted, delivered, failed, unknown, cancelled, skipped_invalid, skipped_duplicate: a recipient
// in one of these has its outcome; queued, sending and awaiting_receipt are still under way.
bool is_final_state(std::string_view state);

// How many of `counts` are in a final state.
std::int64_t final_count(const boost::json::object& counts);

// "2.3 s", "4 min 05 s", "2 h 07 min".
std::string elapsed_text(std::chrono::steady_clock::duration elapsed);

// "[#########-----------]  45%": `width` cells, filled in proportion; 100% only when done == total.
std::string progress_bar(std::int64_t done, std::int64_t total, int width = 20);

// "[#########-----------]  45%  1234/2500  accepted 1200  failed 24  queued 1276  2.3 s"
std::string live_job_line(const boost::json::object& counts, std::int64_t total, std::chrono::steady_clock::duration elapsed);
// "progress: 1234/2500 final (45%): accepted 1200, failed 24, queued 1276; 2.3 s"
std::string plain_job_line(const boost::json::object& counts, std::int64_t total, std::chrono::steady_clock::duration elapsed);

// "uploading [####----------------]  20%  20000/100000 recipients  1.2 s"
std::string live_upload_line(std::int64_t sent, std::int64_t total, std::chrono::steady_clock::duration elapsed);
// "upload: 20000/100000 recipients (20%), 2 pages; 1.2 s"
std::string plain_upload_line(std::int64_t sent, std::int64_t total, int pages, std::chrono::steady_clock::duration elapsed);

// A row per state that has recipients, then the total; names left, numbers right:
//   STATE       RECIPIENTS   SHARE
//   accepted          2497   99.9%
//   failed               3    0.1%
//   total             2500
std::string summary_table(const boost::json::object& counts, std::int64_t total);

// One status line on stderr. Live: each update redraws it in place, cut to the terminal's width.
// Plain: an update prints its plain text when `interval` has passed since the last one printed,
// and always when it is the first or `force` is set.
class status_line {
public:
    status_line(std::ostream& err, bool live, std::chrono::milliseconds interval = std::chrono::seconds(2));
    ~status_line();
    status_line(const status_line&) = delete;
    status_line& operator=(const status_line&) = delete;

    bool live() const { return live_; }
    void update(const std::string& live_text, const std::string& plain_text, bool force = false);
    // Live: ends the line drawn (if any), so that what is printed next starts on its own line.
    void finish();

private:
    std::ostream& err_;
    bool live_;
    std::chrono::milliseconds interval_;
    bool drawn_ = false;
    bool printed_ = false;
    std::chrono::steady_clock::time_point next_plain_{};
};

} // namespace switchboard::host
