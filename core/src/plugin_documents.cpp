#include <switchboard/core/plugin_documents.hpp>

#include <boost/json.hpp>

namespace switchboard::core {

namespace json = boost::json;

namespace {

// A recipient's parameters as stored: a JSON object's text, written into the document as it is
// (read and written again for each of a thousand recipients, it cost more than the plugin's work).
std::string_view params_text(const recipient& r) { return r.params_json.empty() ? std::string_view("{}") : r.params_json; }

void append_string(std::string& out, std::string_view text) { out += json::serialize(json::string_view(text)); }

// {"channel": ..., "step": ..., the rest is the caller's.
std::string document_start(const route_step& step) {
    std::string out = "{\"channel\":";
    append_string(out, step.channel);
    out += ",\"step\":";
    out += step.step_json.empty() ? "{}" : step.step_json;
    return out;
}

} // namespace

std::string validation_document(const route_step& step, std::span<const recipient* const> recipients) {
    std::string out = document_start(step);
    out.reserve(out.size() + recipients.size() * 64);
    out += ",\"recipients\":[";
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        out += i == 0 ? "{\"to\":" : ",{\"to\":";
        append_string(out, recipients[i]->to);
        out += ",\"params\":";
        out += params_text(*recipients[i]);
        out += '}';
    }
    out += "]}";
    return out;
}

std::string batch_document(const std::string& job_id, const route_step& step, const std::vector<recipient>& batch,
                           std::int64_t send_at_ms) {
    const recipient& first = batch.front();
    std::string out = document_start(step);
    out.reserve(out.size() + batch.size() * 80);
    out += ",\"id\":";
    append_string(out, job_id + "-" + std::to_string(first.step) + "-" + std::to_string(first.index) + "-" +
                           std::to_string(first.attempts));
    out += ",\"job_id\":";
    append_string(out, job_id);
    if (step.vendor_schedules && send_at_ms > 0)
        out += ",\"send_at_unix_ms\":" + std::to_string(send_at_ms);
    out += ",\"recipients\":[";
    for (std::size_t i = 0; i < batch.size(); ++i) {
        out += i == 0 ? "{\"id\":\"" : ",{\"id\":\"";
        out += std::to_string(batch[i].index);
        out += "\",\"to\":";
        append_string(out, batch[i].to);
        out += ",\"params\":";
        out += params_text(batch[i]);
        out += '}';
    }
    out += "]}";
    return out;
}

} // namespace switchboard::core
