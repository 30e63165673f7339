#include "send_command.hpp"

#include "daemon_client.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace switchboard::host {

namespace json = boost::json;

namespace {

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

} // namespace

int send_job(const send_options& options, std::ostream& out, std::ostream& err) {
    try {
        const json::array recipients = read_recipients(options.recipients_file);
        const json::value submitted = call_daemon("POST", options.server + "/v1/jobs", options.api_key,
                                           json::serialize(json::object{{"route", options.route}, {"recipients", recipients}}));
        const std::string id(submitted.at("id").as_string());
        out << "job " << id << ": " << recipients.size() << " recipients on route " << options.route << '\n';

        const std::string base = options.server + "/v1/jobs/" + id;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
        json::value job = call_daemon("GET", base, options.api_key);
        auto next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (job.at("state") != "finished") {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("job " + id + " not finished after " + std::to_string(options.timeout_seconds) + " s");
            if (std::chrono::steady_clock::now() > next_progress) {
                err << "progress: " << counts_line(job.at("counts").as_object()) << '\n';
                next_progress += std::chrono::seconds(2);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            job = call_daemon("GET", base, options.api_key);
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
