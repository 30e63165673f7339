#include "send_progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ostream>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

namespace switchboard::host {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 8> final_states = {"accepted",        "delivered",         "failed",
                                                          "unknown",         "cancelled",         "skipped_invalid",
                                                          "skipped_duplicate", "skipped_suppressed"};

int percent(std::int64_t done, std::int64_t total) {
    if (total <= 0 || done >= total)
        return 100;
    return static_cast<int>(std::min<std::int64_t>(99, done * 100 / total));
}

// The terminal's width in columns, or 0 when it cannot be told.
int terminal_columns() {
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    return 0;
}

} // namespace

bool is_final_state(std::string_view state) {
    return std::find(final_states.begin(), final_states.end(), state) != final_states.end();
}

std::int64_t final_count(const json::object& counts) {
    std::int64_t done = 0;
    for (const auto& [state, count] : counts)
        if (is_final_state(state) && count.is_int64())
            done += count.get_int64();
    return done;
}

namespace {

// Each state that has recipients, with its count: those with an outcome first, then those under way.
std::vector<std::pair<std::string_view, std::int64_t>> states_with_recipients(const json::object& counts) {
    std::vector<std::pair<std::string_view, std::int64_t>> out;
    for (const bool final : {true, false})
        for (const auto& [state, count] : counts)
            if (is_final_state(state) == final && count.is_int64() && count.get_int64() != 0)
                out.emplace_back(state, count.get_int64());
    return out;
}

} // namespace

std::string elapsed_text(std::chrono::steady_clock::duration elapsed) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    if (ms < 60'000)
        return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
    const auto s = ms / 1000;
    if (s < 3600)
        return fmt::format("{} min {:02} s", s / 60, s % 60);
    return fmt::format("{} h {:02} min", s / 3600, s % 3600 / 60);
}

std::string progress_bar(std::int64_t done, std::int64_t total, int width) {
    const int p = percent(done, total);
    // Cells are filled by the exact share, so that a bar is full only when everything is done.
    const int filled = total <= 0 || done >= total ? width : static_cast<int>(std::min<std::int64_t>(width - 1, done * width / total));
    return "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '-') +
           "] " + fmt::format("{:>3}%", p);
}

std::string live_job_line(const json::object& counts, std::int64_t total, std::chrono::steady_clock::duration elapsed) {
    const std::int64_t done = final_count(counts);
    std::string line = progress_bar(done, total) + fmt::format("  {}/{}", done, total);
    for (const auto& [state, count] : states_with_recipients(counts))
        line += fmt::format("  {} {}", state, count);
    return line + "  " + elapsed_text(elapsed);
}

std::string plain_job_line(const json::object& counts, std::int64_t total, std::chrono::steady_clock::duration elapsed) {
    const std::int64_t done = final_count(counts);
    std::string states;
    for (const auto& [state, count] : states_with_recipients(counts))
        states += fmt::format("{}{} {}", states.empty() ? "" : ", ", state, count);
    return fmt::format("progress: {}/{} final ({}%): {}; {}", done, total, percent(done, total),
                       states.empty() ? "no recipients" : states, elapsed_text(elapsed));
}

std::string live_upload_line(std::int64_t sent, std::int64_t total, std::chrono::steady_clock::duration elapsed) {
    return "uploading " + progress_bar(sent, total) + fmt::format("  {}/{} recipients  {}", sent, total, elapsed_text(elapsed));
}

std::string plain_upload_line(std::int64_t sent, std::int64_t total, int pages, std::chrono::steady_clock::duration elapsed) {
    return fmt::format("upload: {}/{} recipients ({}%), {} page{}; {}", sent, total, percent(sent, total), pages,
                       pages == 1 ? "" : "s", elapsed_text(elapsed));
}

std::string summary_table(const json::object& counts, std::int64_t total) {
    std::size_t name_width = std::string_view("STATE").size();
    std::size_t count_width = std::string_view("RECIPIENTS").size();
    const auto rows = states_with_recipients(counts);
    for (const auto& [state, count] : rows)
        name_width = std::max(name_width, state.size());
    count_width = std::max(count_width, std::to_string(total).size());
    const auto row = [&](std::string_view name, std::string_view number, std::string_view share) {
        return fmt::format("{:<{}}  {:>{}}  {:>6}\n", name, name_width, number, count_width, share);
    };
    std::string out = row("STATE", "RECIPIENTS", "SHARE");
    for (const auto& [state, count] : rows) {
        const double share = total > 0 ? 100.0 * static_cast<double>(count) / static_cast<double>(total) : 0.0;
        // Rounding must not show a part as all or nothing.
        const std::string shown = count < total && share >= 99.95 ? ">99.9%"
                                  : count > 0 && share < 0.05      ? "<0.1%"
                                                                   : fmt::format("{:.1f}%", share);
        out += row(state, std::to_string(count), shown);
    }
    out += row("total", std::to_string(total), "");
    // The total row has no share: drop the padding it leaves at the end of the line.
    while (out.size() >= 2 && out[out.size() - 2] == ' ')
        out.erase(out.size() - 2, 1);
    return out;
}

status_line::status_line(std::ostream& err, bool live, std::chrono::milliseconds interval)
    : err_(err), live_(live), interval_(interval) {}

status_line::~status_line() { finish(); }

void status_line::update(const std::string& live_text, const std::string& plain_text, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (live_) {
        std::string shown = live_text;
        // One column short of the width: a line that fills the last column wraps on some terminals.
        if (const int columns = terminal_columns(); columns > 1 && shown.size() >= static_cast<std::size_t>(columns))
            shown.resize(static_cast<std::size_t>(columns - 1));
        err_ << '\r' << shown << "\x1b[K" << std::flush;
        drawn_ = true;
        return;
    }
    if (!printed_ || force || now >= next_plain_) {
        err_ << plain_text << '\n' << std::flush;
        printed_ = true;
        next_plain_ = now + interval_;
    }
}

void status_line::finish() {
    if (live_ && drawn_) {
        err_ << '\n' << std::flush;
        drawn_ = false;
    }
}

} // namespace switchboard::host
