#include "daemon_client.hpp"

#include <ctime>

#include <switchboard/core/http_client.hpp>

#include <fmt/format.h>

#include <ostream>
#include <stdexcept>

namespace switchboard::host {

namespace {

std::string text(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// "cams-main whatsapp: undelivered (receiver is incapable) -> uspeedo-hk sms: accepted".
std::string route_taken(const json::array& steps) {
    std::string out;
    for (const json::value& item : steps) {
        const json::object& step = item.as_object();
        out += (out.empty() ? "" : " -> ") + text(step, "provider") + " " + text(step, "channel") + ": " +
               text(step, "result");
        if (const std::string reason = text(step, "reason"); !reason.empty())
            out += " (" + reason + ")";
    }
    return out;
}

} // namespace

daemon_error::daemon_error(int status_, std::string code_, std::string message_, std::string field_)
    : std::runtime_error("the daemon answered HTTP " + std::to_string(status_) + ": " + message_ +
                         (field_.empty() ? "" : " (field " + field_ + ")")),
      status(status_), code(std::move(code_)), message(std::move(message_)), field(std::move(field_)) {}

int run_command(std::ostream& err, const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const std::exception& e) {
        err << "error: " << e.what() << '\n';
        return 1;
    }
}

std::string utc_time(std::int64_t unix_ms) {
    if (unix_ms <= 0)
        return "-";
    const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

json::value call_daemon(const std::string& method, const std::string& url, const std::string& api_key,
                        const std::string& body, int& status, std::chrono::milliseconds timeout) {
    core::http_request request{method, url, {{"Content-Type", "application/json"}}, body};
    if (!api_key.empty())
        request.headers.push_back({"Authorization", "Bearer " + api_key});
    core::http_client_options options;
    options.request_timeout = timeout;
    const core::http_result r = core::fetch(std::move(request), options);
    if (!r.ok())
        throw std::runtime_error(r.error);
    status = r.response.status;
    boost::system::error_code ec;
    json::value answer = json::parse(r.response.body, ec);
    if (r.response.status / 100 != 2) {
        const bool shaped = !ec && answer.is_object() && answer.as_object().contains("message");
        if (!shaped)
            throw daemon_error(r.response.status, "", r.response.body.substr(0, 200), "");
        const json::object& o = answer.as_object();
        throw daemon_error(r.response.status, text(o, "code"), text(o, "message"), text(o, "field"));
    }
    if (ec)
        throw std::runtime_error("the daemon's answer is not JSON: " + r.response.body.substr(0, 120));
    return answer;
}

json::value call_daemon(const std::string& method, const std::string& url, const std::string& api_key,
                        const std::string& body) {
    int status = 0;
    return call_daemon(method, url, api_key, body, status);
}

std::string counts_line(const json::object& counts) {
    std::string line;
    for (const auto& [state, count] : counts)
        if (count.as_int64() != 0)
            line += (line.empty() ? "" : ", ") + std::string(state) + " " + std::to_string(count.as_int64());
    return line.empty() ? "no recipients" : line;
}

namespace {
constexpr std::string_view recipient_row = "{:>5}  {:<16} {:<10} {:<16} {:<12} {}\n";
}

void print_recipients_header(std::ostream& out) {
    out << fmt::format(fmt::runtime(recipient_row), "#", "TO", "REF", "STATE", "PROVIDER", "MESSAGE ID / REASON");
}

void print_recipients(const std::string& base, const std::string& api_key, std::ostream& out, const std::string& state,
                      bool header) {
    constexpr std::string_view row = recipient_row;
    if (header)
        print_recipients_header(out);
    json::value next = 0;
    while (!next.is_null()) {
        const json::value page =
            call_daemon("GET", base + "/recipients?limit=1000&offset=" + std::to_string(next.as_int64()) +
                                   (state.empty() ? "" : "&state=" + state),
                        api_key);
        for (const json::value& item : page.at("recipients").as_array()) {
            const json::object& r = item.as_object();
            // A validation verdict names the field it refused in `code`.
            const std::string detail = r.contains("message_id")               ? text(r, "message_id")
                                       : text(r, "state") == "skipped_invalid" ? text(r, "code") + ": " + text(r, "reason")
                                                                               : text(r, "reason");
            out << fmt::format(fmt::runtime(row), r.at("index").as_int64(), text(r, "to"), text(r, "ref"),
                               text(r, "state"), text(r, "provider"), detail);
            if (const json::value* steps = r.if_contains("steps"); steps != nullptr && steps->as_array().size() > 1)
                out << "       route: " << route_taken(steps->as_array()) << '\n';
        }
        next = page.at("next_offset");
    }
}

} // namespace switchboard::host
