#include "status_api.hpp"

#include "metrics.hpp"

#include <switchboard/core/dispatcher.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/sqlite_job_store.hpp>

#include <boost/json.hpp>

#include <cmath>
#include <spdlog/spdlog.h>

namespace switchboard::host {

namespace json = boost::json;

namespace {

// A whole number as an integer (10, not Boost.JSON's 1E1); a fraction as a number.
json::value number(double value) {
    const double whole = std::round(value);
    if (whole == value && std::abs(whole) < 9e15)
        return static_cast<std::int64_t>(whole);
    return value;
}

json::array errors_json(const std::vector<call_error>& errors) {
    json::array out;
    for (const call_error& e : errors)
        out.push_back({{"at_ms", e.at_ms}, {"outcome", e.outcome}, {"error", e.error}});
    return out;
}

json::object circuit_json(const std::optional<core::circuit_status>& circuit) {
    if (!circuit)
        return {{"state", "off"}};
    return {{"state", core::to_string(circuit->state)},
            {"since_ms", circuit->since_ms},
            {"recent_calls", circuit->recent_calls},
            {"recent_failures", circuit->recent_failures}};
}

} // namespace

status_api::status_api(metrics& metrics, const core::dispatcher& dispatcher, const core::provider_map& providers,
                       const core::route_map& routes)
    : metrics_(metrics), dispatcher_(dispatcher), providers_(providers), routes_(routes) {}

std::optional<http_server_response> status_api::handle(const http_server_request& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (request.method != "GET")
        return std::nullopt;
    if (path == "/metrics") {
        try {
            return http_server_response{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.exposition()};
        } catch (const core::store_error& e) {
            spdlog::error("GET /metrics: {}", e.what());
            return http_server_response{503, "application/json",
                                        R"({"code":"store_unavailable","message":"the job store is not available; try again later"})"};
        }
    }
    if (path == "/v1/providers")
        return providers();
    if (path == "/v1/routes")
        return routes();
    return std::nullopt;
}

http_server_response status_api::providers() const {
    json::array list;
    for (const auto& [name, instance] : providers_) {
        const core::plugin_manifest& m = instance->owner().manifest();
        const auto [requests, recipients] = dispatcher_.pace_of(name);
        const provider_health h = metrics_.health(name);
        json::array channels;
        for (const std::string& c : m.channels)
            channels.emplace_back(c);
        list.push_back({{"name", name},
                        {"plugin", m.name},
                        {"version", m.version},
                        {"channels", std::move(channels)},
                        {"receipts", m.receipts},
                        {"max_recipients_per_call", m.max_recipients_per_call},
                        {"rate_limit", {{"requests_per_second", number(requests)},
                                        {"recipients_per_second", number(recipients)}}},
                        {"current", {{"calls_per_second", number(h.calls_per_second)}}},
                        {"health",
                         {{"status", h.status},
                          {"recent_calls", h.recent_calls},
                          {"recent_ok", h.recent_ok},
                          {"last_call_at_ms", h.last_call_at_ms}}},
                        {"last_errors", errors_json(h.last_errors)},
                        {"circuit", circuit_json(dispatcher_.circuit_of(name))}});
    }
    return {200, "application/json", json::serialize(json::object{{"providers", std::move(list)}})};
}

http_server_response status_api::routes() const {
    // Each step's provider and channel only: a step's other settings (templates, senders) are the
    // configuration's business.
    json::array list;
    for (const auto& [name, r] : routes_) {
        json::array steps;
        for (std::size_t s = 0; s < r.steps.size(); ++s) {
            const core::route_step& step = r.steps[s];
            json::object item{{"provider", step.provider}, {"channel", step.channel}};
            if (core::is_weighted_choice(r, s)) {
                item["weight"] = step.weight;
                item["group"] = step.group;
            }
            if (core::has_destination_rules(r))
                item["rule"] = core::chain_of(r, s).rule;
            steps.push_back(std::move(item));
        }
        list.push_back({{"name", name}, {"steps", std::move(steps)}});
    }
    return {200, "application/json", json::serialize(json::object{{"routes", std::move(list)}})};
}

} // namespace switchboard::host
