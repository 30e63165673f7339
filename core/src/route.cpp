#include <switchboard/core/route.hpp>

#include <switchboard/core/config_schema.hpp>
#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/job.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/plugin_documents.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace switchboard::core {

namespace json = boost::json;

namespace {

constexpr std::int64_t longest_receipt_wait_ms = 7LL * 24 * 3600 * 1000;

// "120s", "1500ms", "2m", "1h", or a whole number of milliseconds.
std::optional<std::int64_t> duration_ms(const json::value& v) {
    if (v.is_int64())
        return v.get_int64() >= 0 ? std::optional<std::int64_t>(v.get_int64()) : std::nullopt;
    if (!v.is_string())
        return std::nullopt;
    const std::string_view text = v.get_string();
    std::int64_t amount = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (ec != std::errc() || amount < 0)
        return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    for (const auto& [name, scale] : {std::pair<std::string_view, std::int64_t>{"ms", 1}, {"s", 1000}, {"m", 60'000},
                                      {"h", 3'600'000}})
        if (unit == name)
            return amount > longest_receipt_wait_ms / scale ? longest_receipt_wait_ms + 1 : amount * scale;
    return std::nullopt;
}

std::string required_string(const json::object& step, std::string_view key, const std::string& path,
                            std::vector<std::string>& problems) {
    const json::value* v = step.if_contains(key);
    if (v == nullptr || !v->is_string() || v->get_string().empty()) {
        problems.push_back(path + "." + std::string(key) + ": " + (v == nullptr ? "is required" : "expected a non-empty string"));
        return {};
    }
    return std::string(v->get_string());
}

route_step read_step(const json::object& s, const std::string& path, std::vector<std::string>& problems) {
    route_step step;
    step.provider = required_string(s, "provider", path, problems);
    step.channel = required_string(s, "channel", path, problems);
    step.step_json = json::serialize(s);
    if (const json::value* wait = s.if_contains("receipt_wait")) {
        const std::optional<std::int64_t> ms = duration_ms(*wait);
        if (!ms || *ms > longest_receipt_wait_ms)
            problems.push_back(path + ".receipt_wait: expected a duration such as \"120s\", \"500ms\", \"10m\" "
                                      "(at most 7 days), found " + excerpt(json::serialize(*wait)));
        else
            step.receipt_wait_ms = *ms;
    }
    if (const json::value* schedule = s.if_contains("schedule")) {
        const std::string_view text = schedule->is_string() ? std::string_view(schedule->get_string()) : "";
        if (text == "vendor" || text == "host")
            step.vendor_schedules = text == "vendor";
        else
            problems.push_back(path + ".schedule: expected \"host\" (the daemon waits for send_at) or \"vendor\" "
                                      "(the call goes out at once and the vendor holds it), found " +
                               excerpt(json::serialize(*schedule)));
    }
    if (const json::value* policy = s.if_contains("on_unknown")) {
        const std::string_view text = policy->is_string() ? std::string_view(policy->get_string()) : "";
        if (text == "hold")
            step.on_unknown = unknown_outcome_policy::hold;
        else if (text == "resend")
            step.on_unknown = unknown_outcome_policy::resend;
        else if (text == "next_step")
            step.on_unknown = unknown_outcome_policy::next_step;
        else
            problems.push_back(path + ".on_unknown: expected \"hold\", \"resend\" or \"next_step\", found " +
                               excerpt(json::serialize(*policy)));
    }
    return step;
}

// Checks the plugin's own keys of `step` against its manifest's step_schema; false when it breaks it.
bool check_step_schema(const route_step& step, const plugin_manifest& manifest, const std::string& path,
                       std::vector<std::string>& problems) {
    if (manifest.step_schema_json.empty())
        return true;
    const std::vector<std::string> found =
        step_schema_problems(manifest.step_schema_json, step.step_json, path, manifest.name);
    problems.insert(problems.end(), found.begin(), found.end());
    return found.empty();
}

} // namespace

route read_route(std::string name, const json::value& steps, const std::string& path, std::vector<std::string>& problems) {
    route r{std::move(name), {}};
    if (!steps.is_array() || steps.get_array().empty()) {
        problems.push_back(path + ": expected a non-empty array of steps");
        return r;
    }
    const json::array& list = steps.get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string step_path = path + "[" + std::to_string(i) + "]";
        if (!list[i].is_object()) {
            problems.push_back(step_path + ": expected an object with provider and channel");
            continue;
        }
        r.steps.push_back(read_step(list[i].get_object(), step_path, problems));
    }
    return r;
}

void check_route_providers(const route& r, const provider_map& providers, const std::string& path,
                           std::vector<std::string>& problems) {
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
        const route_step& step = r.steps[i];
        const std::string step_path = path + "[" + std::to_string(i) + "]";
        if (step.provider.empty())
            continue;  // reported as missing already
        const auto provider = providers.find(step.provider);
        if (provider == providers.end()) {
            problems.push_back(step_path + ".provider: no provider instance named '" + excerpt(step.provider) + "'");
            continue;
        }
        const plugin_manifest& manifest = provider->second->owner().manifest();
        if (std::find(manifest.channels.begin(), manifest.channels.end(), step.channel) == manifest.channels.end())
            problems.push_back(step_path + ".channel: provider '" + step.provider + "' has no channel '" +
                               excerpt(step.channel) + "'");
        if (step.vendor_schedules && !manifest.vendor_scheduling)
            problems.push_back(step_path + ".schedule: provider '" + step.provider + "' (plugin " + manifest.name +
                               ") cannot have its vendor hold a call until send_at: remove \"schedule\": \"vendor\"");
        if (step.receipt_wait_ms > 0 && manifest.receipts == "none")
            problems.push_back(step_path + ".receipt_wait: provider '" + step.provider + "' (plugin " + manifest.name +
                               ") gets no delivery receipts, so every recipient would wait it out: remove it");
    }
}

void check_route_steps(const route& r, const provider_map& providers, const std::string& path,
                       std::vector<std::string>& problems) {
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
        const route_step& step = r.steps[i];
        const std::string step_path = path + "[" + std::to_string(i) + "]";
        const auto provider = providers.find(step.provider);
        if (provider == providers.end())
            continue;
        const auto& channels = provider->second->owner().manifest().channels;
        if (std::find(channels.begin(), channels.end(), step.channel) == channels.end())
            continue;
        if (!check_step_schema(step, provider->second->owner().manifest(), step_path, problems))
            continue;   // the plugin would only repeat the first of them
        // A sample recipient: only what the plugin says of the step's own fields counts here.
        recipient sample;
        sample.to = addressed_by_phone_number(step.channel) ? "+85255311111" : "1234567890123456";
        const recipient* samples[] = {&sample};
        const plugin_call_result result = provider->second->validate(validation_document(step, samples));
        if (!result.ok()) {
            problems.push_back(step_path + ": provider '" + step.provider + "' cannot check this step: " + result.error);
            continue;
        }
        boost::system::error_code ec;
        const json::value doc = json::parse(result.json, ec);
        const json::value* verdicts = !ec && doc.is_object() ? doc.get_object().if_contains("verdicts") : nullptr;
        if (verdicts == nullptr || !verdicts->is_array() || verdicts->get_array().empty() ||
            !verdicts->get_array().front().is_object())
            continue;
        const json::object& verdict = verdicts->get_array().front().get_object();
        const json::value* field = verdict.if_contains("field");
        const json::value* reason = verdict.if_contains("reason");
        if (field == nullptr || !field->is_string() || !field->get_string().starts_with("step."))
            continue;  // about the sample recipient, not the step
        problems.push_back(step_path + "." + std::string(field->get_string().subview(5)) + ": " +
                           (reason != nullptr && reason->is_string() ? std::string(reason->get_string()) : "refused"));
    }
}

std::string route_to_json(const route& r) {
    json::array steps;
    for (const route_step& step : r.steps)
        steps.push_back(json::parse(step.step_json));
    return json::serialize(json::object{{"name", r.name}, {"steps", std::move(steps)}});
}

route route_from_json(std::string_view text) {
    boost::system::error_code ec;
    const json::value doc = json::parse(text, ec);
    if (ec || !doc.is_object() || !doc.get_object().contains("steps"))
        throw std::runtime_error("the job's stored route cannot be read");
    const json::object& o = doc.get_object();
    std::vector<std::string> problems;
    route r = read_route(o.contains("name") && o.at("name").is_string() ? std::string(o.at("name").get_string()) : "",
                         o.at("steps"), "route", problems);
    if (!problems.empty())
        throw std::runtime_error("the job's stored route is not valid: " + problems.front());
    return r;
}

std::int64_t first_due_at(const route& r, const recipient& at_step, std::int64_t send_at_ms) {
    const auto step = static_cast<std::size_t>(at_step.step);
    return step < r.steps.size() && r.steps[step].vendor_schedules ? 0 : send_at_ms;
}

bool addressed_by_phone_number(std::string_view channel) {
    // Messenger and Instagram address people by page-scoped ids, never by phone number.
    return channel != "messenger" && channel != "instagram";
}

} // namespace switchboard::core
