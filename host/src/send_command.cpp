#include "send_command.hpp"

#include <switchboard/core/http_client.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace switchboard::host {

namespace json = boost::json;

namespace {

// One daemon request, answered with its JSON body; throws with the daemon's own message.
json::value call(const std::string& method, const std::string& url, const std::string& api_key,
                 const std::string& body = {}) {
    core::http_request request{method, url, {{"Content-Type", "application/json"}}, body};
    if (!api_key.empty())
        request.headers.push_back({"Authorization", "Bearer " + api_key});
    const core::http_result r = core::fetch(std::move(request));
    if (!r.ok())
        throw std::runtime_error(r.error);
    boost::system::error_code ec;
    json::value answer = json::parse(r.response.body, ec);
    if (r.response.status / 100 != 2) {
        const bool shaped = !ec && answer.is_object() && answer.as_object().contains("message");
        throw std::runtime_error("the daemon answered HTTP " + std::to_string(r.response.status) + ": " +
                                 (shaped ? std::string(answer.at("message").as_string()) +
                                               (answer.as_object().contains("field")
                                                    ? " (field " + std::string(answer.at("field").as_string()) + ")"
                                                    : "")
                                         : r.response.body));
    }
    if (ec)
        throw std::runtime_error("the daemon's answer is not JSON: " + r.response.body.substr(0, 120));
    return answer;
}

json::array read_recipients(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in)
        throw std::runtime_error(file.string() + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    json::value doc = json::parse(text.str(), ec);
    if (ec || !doc.is_array())
        throw std::runtime_error(file.string() + ": expected a JSON array of recipients ({\"to\": ..., \"params\": {...}})");
    return std::move(doc.as_array());
}

std::string text(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// "accepted 4, failed 1": the states that have recipients.
std::string counts_line(const json::object& counts) {
    std::string line;
    for (const auto& [state, count] : counts)
        if (count.as_int64() != 0)
            line += (line.empty() ? "" : ", ") + std::string(state) + " " + std::to_string(count.as_int64());
    return line.empty() ? "no recipients" : line;
}

void print_recipients(const std::string& base, const std::string& api_key, std::ostream& out) {
    constexpr std::string_view row = "{:>5}  {:<16} {:<10} {:<16} {:<12} {}\n";
    out << fmt::format(fmt::runtime(row), "#", "TO", "REF", "STATE", "PROVIDER", "MESSAGE ID / REASON");
    json::value next = 0;
    while (!next.is_null()) {
        const json::value page =
            call("GET", base + "/recipients?limit=1000&offset=" + std::to_string(next.as_int64()), api_key);
        for (const json::value& item : page.at("recipients").as_array()) {
            const json::object& r = item.as_object();
            // A validation verdict names the field it refused in `code`.
            const std::string detail = r.contains("message_id")               ? text(r, "message_id")
                                       : text(r, "state") == "skipped_invalid" ? text(r, "code") + ": " + text(r, "reason")
                                                                               : text(r, "reason");
            out << fmt::format(fmt::runtime(row), r.at("index").as_int64(), text(r, "to"), text(r, "ref"),
                               text(r, "state"), text(r, "provider"), detail);
        }
        next = page.at("next_offset");
    }
}

} // namespace

int send_job(const send_options& options, std::ostream& out, std::ostream& err) {
    try {
        const json::array recipients = read_recipients(options.recipients_file);
        const json::value submitted = call("POST", options.server + "/v1/jobs", options.api_key,
                                           json::serialize(json::object{{"route", options.route}, {"recipients", recipients}}));
        const std::string id(submitted.at("id").as_string());
        out << "job " << id << ": " << recipients.size() << " recipients on route " << options.route << '\n';

        const std::string base = options.server + "/v1/jobs/" + id;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
        json::value job = call("GET", base, options.api_key);
        auto next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (job.at("state") != "finished") {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("job " + id + " not finished after " + std::to_string(options.timeout_seconds) + " s");
            if (std::chrono::steady_clock::now() > next_progress) {
                err << "progress: " << counts_line(job.at("counts").as_object()) << '\n';
                next_progress += std::chrono::seconds(2);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            job = call("GET", base, options.api_key);
        }
        print_recipients(base, options.api_key, out);

        std::int64_t not_sent = 0;
        for (const auto& [state, count] : job.at("counts").as_object())
            if (state != "accepted" && state != "delivered")
                not_sent += count.as_int64();
        out << "summary: " << counts_line(job.at("counts").as_object()) << '\n';
        return not_sent == 0 ? 0 : 2;
    } catch (const std::exception& e) {
        err << "error: " << e.what() << '\n';
        return 1;
    }
}

} // namespace switchboard::host
