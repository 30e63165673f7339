#include <switchboard/core/plugin_documents.hpp>

#include <boost/json.hpp>

namespace switchboard::core {

namespace json = boost::json;

namespace {

json::object parse_object(const std::string& text) {
    json::value v = json::parse(text);
    return v.is_object() ? std::move(v.get_object()) : json::object{};
}

} // namespace

std::string validation_document(const route_step& step, std::span<const recipient* const> recipients) {
    json::array items;
    items.reserve(recipients.size());
    for (const recipient* r : recipients)
        items.push_back({{"to", r->to}, {"params", parse_object(r->params_json)}});
    return json::serialize(
        json::object{{"channel", step.channel}, {"step", parse_object(step.step_json)}, {"recipients", std::move(items)}});
}

std::string batch_document(const std::string& job_id, const route_step& step, const std::vector<recipient>& batch) {
    json::array recipients;
    recipients.reserve(batch.size());
    for (const recipient& r : batch)
        recipients.push_back({{"id", std::to_string(r.index)}, {"to", r.to}, {"params", parse_object(r.params_json)}});
    const recipient& first = batch.front();
    return json::serialize(json::object{{"id", job_id + "-" + std::to_string(first.step) + "-" + std::to_string(first.index) +
                                                   "-" + std::to_string(first.attempts)},
                                        {"job_id", job_id},
                                        {"channel", step.channel},
                                        {"step", parse_object(step.step_json)},
                                        {"recipients", std::move(recipients)}});
}

} // namespace switchboard::core
