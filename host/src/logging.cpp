#include "logging.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <regex>
#include <stdexcept>

namespace switchboard::host {

namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v";

// A log file that can be opened again under the same name, after logrotate moved it away.
class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit reopenable_file_sink(const std::filesystem::path& file) { file_.open(file.string()); }
    void reopen() {
        std::lock_guard lock(mutex_);
        file_.reopen(false);
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        file_.write(formatted);
    }
    void flush_() override { file_.flush(); }

private:
    spdlog::details::file_helper file_;
};

// One line per message, whatever the message holds: control characters (a line break in a vendor's
// answer quoted in an error, say) are written escaped, so that no text from outside can end a log
// line early or forge the next one.
class text_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        if (std::none_of(text.begin(), text.end(), is_control)) {
            pattern_.format(msg, dest);
            return;
        }
        std::string escaped;
        for (const char c : text) {
            if (!is_control(c)) {
                escaped += c;
                continue;
            }
            static constexpr char hex[] = "0123456789abcdef";
            const auto u = static_cast<unsigned char>(c);
            escaped += c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : std::string{'\\', 'x', hex[u >> 4], hex[u & 0xF]};
        }
        spdlog::details::log_msg copy = msg;
        copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
        pattern_.format(copy, dest);
        msg.color_range_start = copy.color_range_start;  // where a colour sink paints the level
        msg.color_range_end = copy.color_range_end;
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<text_formatter>(); }

private:
    static bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == '\x7f'; }
    spdlog::pattern_formatter pattern_{text_pattern};
};

// {"time": "2026-11-23T17:00:00.123Z", "level": "info", "job_id": "job_…", "message": "…"}: one
// JSON object per line, the job id of a line about a job as a field of its own.
class json_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        std::string line = R"({"time":")" + utc_time(msg.time) + R"(","level":")" +
                           std::string(spdlog::level::to_string_view(msg.level).data(),
                                       spdlog::level::to_string_view(msg.level).size()) +
                           "\"";
        static const std::regex job_id(R"(\bjob (job_[0-9a-f]+))");
        std::match_results<std::string_view::const_iterator> found;
        if (std::regex_search(text.begin(), text.end(), found, job_id))
            line += R"(,"job_id":")" + found[1].str() + "\"";
        line += ",\"message\":" + boost::json::serialize(boost::json::string(text)) + "}\n";
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }

private:
    static std::string utc_time(spdlog::log_clock::time_point at) {
        const std::time_t seconds = spdlog::log_clock::to_time_t(at);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
        std::tm parts{};
        gmtime_r(&seconds, &parts);
        char out[80];
        std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<int>(ms));
        return out;
    }
};

} // namespace

void start_early_logging() {
    auto logger = spdlog::stderr_color_mt("switchboard");
    logger->set_formatter(std::make_unique<text_formatter>());
    spdlog::set_default_logger(logger);
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug, for whoever needs to see more before the configuration
}

std::function<void()> start_logging(const log_settings& settings) {
    spdlog::sink_ptr sink;
    std::shared_ptr<reopenable_file_sink> file;
    if (settings.file.empty()) {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
        try {
            file = std::make_shared<reopenable_file_sink>(settings.file);
        } catch (const spdlog::spdlog_ex& e) {
            throw std::runtime_error("log.file: cannot open " + settings.file.string() + " (" + e.what() + ")");
        }
        sink = file;
    }
    if (settings.format == "json")
        sink->set_formatter(std::make_unique<json_formatter>());
    else
        sink->set_formatter(std::make_unique<text_formatter>());
    auto logger = std::make_shared<spdlog::logger>("switchboard", sink);
    logger->set_level(spdlog::level::from_str(settings.level));
    logger->flush_on(spdlog::level::info);  // a line is in the file when what it tells has happened
    spdlog::set_default_logger(logger);
    if (!file)
        return [] {};
    return [file] {
        file->reopen();
        spdlog::info("log file reopened");
    };
}

} // namespace switchboard::host
