#include "headless_browser.hpp"

#include "child_process.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

namespace switchboard::testing {

namespace json = boost::json;

namespace {

constexpr auto command_timeout = std::chrono::seconds(30);

std::string base64_decode(const std::string& text) {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0)
        throw std::runtime_error("Chromium sent a screenshot that is not base64");
    // EVP_DecodeBlock counts the padding's bytes as data.
    const std::size_t padding = text.size() >= 2 ? (text[text.size() - 1] == '=') + (text[text.size() - 2] == '=') : 0;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

} // namespace

std::string chromium_binary() {
    if (const char* given = std::getenv("SWITCHBOARD_CHROMIUM"); given != nullptr && *given != '\0')
        return given;
    return ::access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : "";
}

headless_browser::headless_browser(const std::filesystem::path& profile_dir, int width, int height) {
    const std::string binary = chromium_binary();
    if (binary.empty())
        throw std::runtime_error("Chromium is not installed (/usr/bin/chromium): bash scripts/setup.sh installs it, or set "
                                 "SWITCHBOARD_CHROMIUM to a Chromium binary");
    std::filesystem::create_directories(profile_dir);
    int commands[2];   // we write, Chromium reads on its fd 3
    int answers[2];    // Chromium writes on its fd 4, we read
    if (::pipe(commands) != 0 || ::pipe(answers) != 0)
        throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    std::vector<std::string> argv{binary,
                                  "--headless=new",
                                  "--remote-debugging-pipe",
                                  // The tests run as root in CI, where Chromium's own sandbox cannot start; the
                                  // pages it loads are the project's own, on loopback.
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-dev-shm-usage",
                                  "--no-first-run",
                                  "--no-default-browser-check",
                                  "--disable-extensions",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--hide-scrollbars",
                                  "--mute-audio",
                                  "--user-data-dir=" + profile_dir.string(),
                                  "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                  "about:blank"};
    const std::string log = (profile_dir / "chromium.log").string();
    pid_ = spawn(std::move(argv), [&] {
        ::setpgid(0, 0);   // its helper processes go with it
        // Above the fds they go to, so that neither dup2 closes the other's source.
        const int in = ::fcntl(commands[0], F_DUPFD, 10);
        const int out = ::fcntl(answers[1], F_DUPFD, 10);
        ::dup2(in, 3);
        ::dup2(out, 4);
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, STDIN_FILENO);
        const int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(logfd, STDOUT_FILENO);
        ::dup2(logfd, STDERR_FILENO);
        for (int fd = 5; fd < 1024; ++fd)
            ::close(fd);
    });
    ::close(commands[0]);
    ::close(answers[1]);
    to_browser_ = commands[1];
    from_browser_ = answers[0];
    ::signal(SIGPIPE, SIG_IGN);

    const json::value target = command("Target.createTarget", {{"url", "about:blank"}}, true);
    const json::value attached = command("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}}, true);
    session_ = std::string(attached.at("sessionId").as_string());
    command("Page.enable", json::object{});
    command("Runtime.enable", json::object{});
    resize(width, height, false);
}

headless_browser::~headless_browser() {
    if (to_browser_ >= 0)
        ::close(to_browser_);
    if (from_browser_ >= 0)
        ::close(from_browser_);
    if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

json::value headless_browser::read_message(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        if (const std::size_t end = pending_.find('\0'); end != std::string::npos) {
            json::value message = json::parse(std::string_view(pending_).substr(0, end));
            pending_.erase(0, end + 1);
            return message;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw std::runtime_error("Chromium did not answer in time");
        pollfd fd{from_browser_, POLLIN, 0};
        if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char buffer[65536];
        const ssize_t n = ::read(from_browser_, buffer, sizeof buffer);
        if (n <= 0)
            throw std::runtime_error("Chromium closed its DevTools pipe (did it crash? see chromium.log in its profile)");
        pending_.append(buffer, static_cast<std::size_t>(n));
    }
}

json::value headless_browser::command(const std::string& method, const json::value& params, bool to_browser) {
    const std::int64_t id = next_id_++;
    json::object message{{"id", id}, {"method", method}, {"params", params}};
    if (!to_browser)
        message["sessionId"] = session_;
    std::string text = json::serialize(message);
    text.push_back('\0');
    for (std::size_t sent = 0; sent < text.size();) {
        const ssize_t n = ::write(to_browser_, text.data() + sent, text.size() - sent);
        if (n <= 0)
            throw std::runtime_error("cannot write to Chromium's DevTools pipe");
        sent += static_cast<std::size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + command_timeout;
    for (;;) {
        json::value answer = read_message(deadline);
        const json::object& o = answer.as_object();
        if (const json::value* method_name = o.if_contains("method")) {
            if (*method_name == "Page.loadEventFired")
                load_fired_ = true;
            continue;   // other events are not waited for
        }
        if (!o.contains("id") || o.at("id").to_number<std::int64_t>() != id)
            continue;
        if (const json::value* error = o.if_contains("error"))
            throw std::runtime_error(method + ": " + json::serialize(*error));
        return o.contains("result") ? o.at("result") : json::value(json::object{});
    }
}

void headless_browser::navigate(const std::string& url) {
    load_fired_ = false;
    const json::value answer = command("Page.navigate", {{"url", url}});
    if (const json::value* error = answer.as_object().if_contains("errorText"))
        throw std::runtime_error("cannot load " + url + ": " + json::serialize(*error));
    const auto deadline = std::chrono::steady_clock::now() + command_timeout;
    while (!load_fired_) {
        const json::value message = read_message(deadline);
        if (const json::value* method = message.as_object().if_contains("method"); method && *method == "Page.loadEventFired")
            load_fired_ = true;
    }
}

json::value headless_browser::evaluate(const std::string& expression) {
    const json::value answer =
        command("Runtime.evaluate", {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}});
    if (const json::value* thrown = answer.as_object().if_contains("exceptionDetails"))
        throw std::runtime_error("the page's script failed on `" + expression + "`: " + json::serialize(*thrown));
    const json::object& result = answer.at("result").as_object();
    return result.contains("value") ? result.at("value") : json::value(nullptr);
}

json::value headless_browser::wait_for(const std::string& expression, const std::string& what,
                                       std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json::value last;
    for (;;) {
        last = evaluate(expression);
        const bool truthy = !(last.is_null() || (last.is_bool() && !last.get_bool()) ||
                              (last.is_string() && last.get_string().empty()) ||
                              (last.is_int64() && last.get_int64() == 0));
        if (truthy)
            return last;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the page never showed " + what + "; the page says: " +
                                     json::serialize(evaluate("document.body.innerText")));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void headless_browser::choose_file(const std::string& selector, const std::filesystem::path& file) {
    const json::value document = command("DOM.getDocument", json::object{});
    const json::value found = command("DOM.querySelector", {{"nodeId", document.at("root").at("nodeId")}, {"selector", selector}});
    if (found.at("nodeId").to_number<std::int64_t>() == 0)
        throw std::runtime_error("no element matches " + selector);
    command("DOM.setFileInputFiles", {{"files", json::array{file.string()}}, {"nodeId", found.at("nodeId")}});
}

void headless_browser::allow_downloads(const std::filesystem::path& dir) {
    command("Browser.setDownloadBehavior", {{"behavior", "allow"}, {"downloadPath", dir.string()}}, true);
}

void headless_browser::resize(int width, int height, bool mobile) {
    command("Emulation.setDeviceMetricsOverride",
            {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", mobile}});
}

void headless_browser::press(const std::string& key, bool shift) {
    static const std::map<std::string, int> key_codes{{"Tab", 9}, {"Enter", 13}, {"Escape", 27}, {" ", 32}};
    const int code = key_codes.at(key);
    json::object down{{"type", "keyDown"}, {"key", key}, {"code", key == " " ? "Space" : key},
                      {"windowsVirtualKeyCode", code}, {"modifiers", shift ? 8 : 0}};
    if (key == "Enter")
        down["text"] = "\r";
    command("Input.dispatchKeyEvent", down);
    json::object up = down;
    up["type"] = "keyUp";
    up.erase("text");
    command("Input.dispatchKeyEvent", up);
}

void headless_browser::screenshot(const std::filesystem::path& png) {
    const json::value shot = command("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}});
    std::filesystem::create_directories(png.parent_path());
    std::ofstream(png, std::ios::binary) << base64_decode(std::string(shot.at("data").as_string()));
}

} // namespace switchboard::testing
