// A real Chromium, headless, driven over its DevTools protocol for browser tests. The protocol runs
// over a pipe (--remote-debugging-pipe: JSON messages ended by a NUL byte on fds 3 and 4), so no
// WebSocket client and no port are needed.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <string>

namespace switchboard::testing {

// Where Chromium is: $SWITCHBOARD_CHROMIUM, else /usr/bin/chromium. Empty when it is not there.
std::string chromium_binary();

class headless_browser {
public:
    // Starts Chromium with a fresh profile in `profile_dir` and opens one tab of `width`×`height`.
    // Throws std::runtime_error when Chromium is missing or does not answer.
    headless_browser(const std::filesystem::path& profile_dir, int width = 1280, int height = 900);
    ~headless_browser();
    headless_browser(const headless_browser&) = delete;
    headless_browser& operator=(const headless_browser&) = delete;

    // Loads `url` in the tab and waits for its load event.
    void navigate(const std::string& url);
    // The value of a JavaScript expression in the page (promises are awaited). Throws with the
    // exception's text when it throws.
    boost::json::value evaluate(const std::string& expression);
    // Evaluates `expression` until it is truthy and returns its value; throws, quoting `what` and
    // the page's text, when `timeout` passes first.
    boost::json::value wait_for(const std::string& expression, const std::string& what,
                                std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Gives the file input that `selector` finds the file `file`, as a person choosing it would.
    void choose_file(const std::string& selector, const std::filesystem::path& file);
    // Downloads go to `dir`.
    void allow_downloads(const std::filesystem::path& dir);
    // The viewport, as a device of that size would have it (a phone: 390×844, mobile).
    void resize(int width, int height, bool mobile);
    // A key pressed and released, as on a keyboard ("Tab", "Enter"; `shift` held for Shift+Tab).
    void press(const std::string& key, bool shift = false);
    // A PNG of the page as it is now (the whole page, not only the viewport).
    void screenshot(const std::filesystem::path& png);

    // One DevTools command to the tab (or to the browser when `to_browser`); its result.
    boost::json::value command(const std::string& method, const boost::json::value& params, bool to_browser = false);

private:
    boost::json::value read_message(std::chrono::steady_clock::time_point deadline);

    int pid_ = -1;
    int to_browser_ = -1;
    int from_browser_ = -1;
    std::string pending_;
    std::int64_t next_id_ = 1;
    std::string session_;
    bool load_fired_ = false;
};

} // namespace switchboard::testing
