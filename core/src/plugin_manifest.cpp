#include <switchboard/core/plugin_manifest.hpp>

#include <boost/json.hpp>

#include <stdexcept>

namespace switchboard::core {
namespace json = boost::json;

namespace {

[[noreturn]] void bad_field(std::string_view field, const std::string& why) {
    throw std::invalid_argument("manifest field '" + std::string(field) + "' " + why);
}

const json::value& required(const json::object& doc, std::string_view field) {
    const json::value* v = doc.if_contains(field);
    if (v == nullptr)
        bad_field(field, "is missing");
    return *v;
}

std::string string_field(const json::value& v, std::string_view field) {
    if (!v.is_string())
        bad_field(field, std::string("must be a string, not ") + json::to_string(v.kind()).data());
    return std::string(v.get_string());
}

std::vector<std::string> string_list(const json::value& v, std::string_view field) {
    if (!v.is_array())
        bad_field(field, std::string("must be an array of strings, not ") + json::to_string(v.kind()).data());
    std::vector<std::string> out;
    for (const json::value& item : v.get_array())
        out.push_back(string_field(item, field));
    return out;
}

double rate(const json::object& limits, std::string_view field) {
    const json::value* v = limits.if_contains(field);
    if (v == nullptr)
        return 0;
    if (!v->is_number() || v->to_number<double>() < 0)
        bad_field(std::string("rate_limits.") + std::string(field), "must be a number of at least 0");
    return v->to_number<double>();
}

bool is_plugin_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

} // namespace

plugin_manifest parse_plugin_manifest(std::string_view text) {
    boost::system::error_code ec;
    const json::value parsed = json::parse(text, ec);
    if (ec)
        throw std::invalid_argument("manifest is not valid JSON (" + ec.message() + ")");
    if (!parsed.is_object())
        throw std::invalid_argument("manifest is not a JSON object");
    const json::object& doc = parsed.get_object();

    plugin_manifest m;
    m.json = std::string(text);
    m.name = string_field(required(doc, "name"), "name");
    if (!is_plugin_name(m.name))
        bad_field("name", "must be 1 to 64 of [a-z0-9_-], got '" + m.name + "'");
    m.version = string_field(required(doc, "version"), "version");
    m.abi = string_field(required(doc, "abi"), "abi");
    m.channels = string_list(required(doc, "channels"), "channels");
    if (m.channels.empty())
        bad_field("channels", "must name at least one channel");

    const json::value& max = required(doc, "max_recipients_per_call");
    if (!max.is_int64() || max.get_int64() < 1 || max.get_int64() > 1000000)
        bad_field("max_recipients_per_call", "must be an integer from 1 to 1000000");
    m.max_recipients_per_call = static_cast<int>(max.get_int64());

    const json::value& schema = required(doc, "config_schema");
    if (!schema.is_object())
        bad_field("config_schema", "must be a JSON Schema object");
    m.config_schema_json = json::serialize(schema);

    if (const json::value* v = doc.if_contains("step_schema")) {
        if (!v->is_object())
            bad_field("step_schema", "must be a JSON Schema object");
        m.step_schema_json = json::serialize(*v);
    }
    if (const json::value* v = doc.if_contains("description"))
        m.description = string_field(*v, "description");
    if (const json::value* v = doc.if_contains("grouping"))
        m.grouping = string_list(*v, "grouping");
    if (const json::value* v = doc.if_contains("transient_errors"))
        m.transient_errors = string_list(*v, "transient_errors");
    if (const json::value* v = doc.if_contains("rate_limits")) {
        if (!v->is_object())
            bad_field("rate_limits", "must be an object");
        m.requests_per_second = rate(v->get_object(), "requests_per_second");
        m.recipients_per_second = rate(v->get_object(), "recipients_per_second");
    }
    if (const json::value* v = doc.if_contains("receipts")) {
        m.receipts = string_field(*v, "receipts");
        if (m.receipts != "none" && m.receipts != "push" && m.receipts != "pull")
            bad_field("receipts", "must be none, push or pull, got '" + m.receipts + "'");
    }
    if (const json::value* v = doc.if_contains("thread_safe")) {
        if (!v->is_bool())
            bad_field("thread_safe", "must be true or false");
        m.thread_safe = v->get_bool();
    }
    if (const json::value* v = doc.if_contains("vendor_scheduling")) {
        if (!v->is_bool())
            bad_field("vendor_scheduling", "must be true or false");
        m.vendor_scheduling = v->get_bool();
    }
    return m;
}

} // namespace switchboard::core
