// Volcengine VMS voice notification: places calls with SingleBatchAppend and takes the CDR
// callbacks VMS pushes. The vendor's document is shared/seeds/000 (its JSON examples are broken;
// VENDORS.md §1 gives the fields, the signature, the answer and the callbacks).
//
// Request: POST {endpoint}/?Action=SingleBatchAppend&Version=2022-01-01, Volcengine V4 signed
//   (X-Date, X-Content-Sha256, Authorization over content-type;host;x-content-sha256;x-date):
//   {"List":[{"SingleOpenId":"<32 hex>","Phone":"13344445555","Type":1,"Resource":"<template id>",
//             "NumberPoolNo":"NP...","PhoneParam":{"code":"1234"},"TriggerTime":"2024-06-19 15:13:06",...}]}
// Answer:  {"ResponseMetadata":{...,"Error":{"CodeN":100010,"Code":"SignatureDoesNotMatch","Message":"..."}},
//           "Result":{"SuccessList":[{"Phone","SingleOpenId","Ext"}],
//                     "FailList":[{"Phone","SingleOpenId","Type":"INVALID_PHONE_FORMAT","Desc":"..."}]}}
// Receipts: CDRs POSTed to the configured callback URL with ?timestamp=...&authCode=...
//
// Route step: {"type": 1, "resource": "<id>", "params": ["code"], "tts_content": "...",
//              "number_type": 1, "number_list": ["0571..."], "select_number_rule": 1,
//              "ring_again_times": 1, "ring_again_interval": 5,
//              "forbid_time_list": [{"Weekdays": [1, 7], "Times": ["00:00-08:00"]}], "ext": "..."}
//
// Phone numbers: VMS dials mainland China and documents only mainland numbers like 13344445555.
// +86 mobiles (+861xxxxxxxxxx) are sent as their 11 national digits, other +86 numbers with the
// domestic trunk prefix 0 (+8657112345678 -> 057112345678), and any other country's number as its
// E.164 digits without '+'.
//
// SingleOpenId is VMS's per-item idempotency key. It is derived from the job id, the recipient id
// and the step, so a batch sent again (after a timeout or a 5xx) carries the same ids and VMS
// answers REDUPLICATED_ITEM for what it already took: that counts as accepted.
#include "vms_signature.hpp"

#include <switchboard/sdk.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_map>

namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace vms = switchboard::vms;

namespace {

constexpr int max_items_per_call = 100;     // undocumented for SingleBatchAppend (VENDORS.md §1.3)
constexpr std::size_t max_tts_chars = 250;  // BatchAppend doc
constexpr std::size_t max_ext_chars = 250;
constexpr std::size_t max_phone_param_chars = 2048;
constexpr std::int64_t max_ring_again_times = 3;
constexpr std::int64_t min_ring_again_interval = 5;
constexpr const char* default_endpoint = "https://cloud-vms.volcengineapi.com";
constexpr const char* default_region = "cn-north-1";
constexpr const char* service = "vms";
constexpr const char* action_query = "/?Action=SingleBatchAppend&Version=2022-01-01";
constexpr const char* reduplicated = "REDUPLICATED_ITEM";

// The gateway's and the API's codes for a call worth making again later (VENDORS.md §1.5).
constexpr std::string_view transient_codes[] = {
    "FlowLimitExceeded", "AccountFlowLimitExceeded", "ServiceUnavailableTemp", "InternalError",
    "ServiceUnavailable", "InternalServiceTimeout", "FailToConnect", "InternalServiceError"};
// Codes that mean the credentials (or what they may do) are wrong.
constexpr std::string_view authentication_codes[] = {
    "SignatureDoesNotMatch", "InvalidAccessKey", "MissingSignature", "InvalidCredential",
    "AccessDenied", "InvalidSecretToken", "LackPolicy"};

template <std::size_t N>
bool listed(const std::string_view (&codes)[N], std::string_view code) {
    return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

// ---- text ------------------------------------------------------------------------------------

std::optional<std::string> text_of(const json::value& value) {
    switch (value.kind()) {
    case json::kind::string: return std::string(value.get_string());
    case json::kind::int64: return std::to_string(value.get_int64());
    case json::kind::uint64: return std::to_string(value.get_uint64());
    case json::kind::double_: {
        char buffer[64];  // the shortest form that reads back the same: 1.5, 1e+21
        const auto written = std::to_chars(buffer, buffer + sizeof buffer, value.get_double());
        return std::string(buffer, written.ptr);
    }
    default: return std::nullopt;
    }
}

// Why `to` is not E.164 (as a mainland mobile, 11 digits after +86), or nothing when it is.
std::optional<std::string> e164_problem(const std::string& to) {
    if (std::optional<std::string> problem = sdk::e164_problem(to, "+8613344445555"))
        return problem;
    const std::string_view digits = std::string_view(to).substr(1);
    if (digits.starts_with("861") && digits.size() != 13)
        return "is a mainland mobile number and must have 11 digits after +86, got " +
               std::to_string(digits.size() - 2) + " in '" + to + "'";
    return std::nullopt;
}

// The Phone VMS dials for a valid E.164 `to` (see the top of this file).
std::string phone_of(const std::string& to) {
    const std::string_view digits = std::string_view(to).substr(1);
    if (digits.starts_with("861"))
        return std::string(digits.substr(2));
    if (digits.starts_with("86"))
        return "0" + std::string(digits.substr(2));
    return std::string(digits);
}

// The E.164 number of a callee as VMS writes it, when it is recognisably mainland; else nothing.
std::string e164_of_callee(std::string_view callee) {
    const std::string digits = sdk::digits_of(callee);
    if (digits.size() == 11 && digits.front() == '1')
        return "+86" + digits;
    if (digits.size() == 13 && digits.starts_with("861"))
        return "+" + digits;
    return {};
}

// ---- the route step --------------------------------------------------------------------------

struct route_step {
    std::int64_t type = 0;
    std::optional<std::string> resource;
    std::optional<std::string> tts_content;
    std::optional<std::int64_t> number_type;
    std::optional<std::vector<std::string>> number_list;
    std::optional<std::int64_t> select_number_rule;
    std::vector<std::string> params;
    std::optional<std::int64_t> ring_again_times;
    std::optional<std::int64_t> ring_again_interval;
    std::optional<json::array> forbid_time_list;
    std::optional<std::string> ext;
};

std::vector<std::string> string_list(const sdk::object_reader& step, std::string_view key, const char* what) {
    std::vector<std::string> out;
    const json::array& items = step.required_array(key);
    const std::string path = sdk::child_path(step.path(), key);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string() || items[i].get_string().empty())
            throw sdk::field_error(sdk::index_path(path, i), std::string("must be ") + what + " (a non-empty string)");
        out.emplace_back(items[i].get_string());
    }
    return out;
}

// "HH:MM" as minutes since midnight, or nothing.
std::optional<int> clock_minutes(std::string_view text) {
    if (text.size() != 5 || text[2] != ':')
        return std::nullopt;
    int hours = 0, minutes = 0;
    if (std::from_chars(text.data(), text.data() + 2, hours).ptr != text.data() + 2 ||
        std::from_chars(text.data() + 3, text.data() + 5, minutes).ptr != text.data() + 5)
        return std::nullopt;
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59)
        return std::nullopt;
    return hours * 60 + minutes;
}

// ForbidTimeList: [{"Weekdays": [1..7] (optional), "Times": ["HH:MM-HH:MM", ...]}], sent as is.
json::array read_forbid_time_list(const sdk::object_reader& step) {
    const json::array& windows = step.required_array("forbid_time_list");
    const std::string path = "step.forbid_time_list";
    for (std::size_t i = 0; i < windows.size(); ++i) {
        const std::string item = sdk::index_path(path, i);
        if (!windows[i].is_object())
            throw sdk::field_error(item, "must be an object with Weekdays and Times");
        const sdk::object_reader window(windows[i].get_object(), item);
        for (const auto& field : window.object())
            if (field.key() != "Weekdays" && field.key() != "Times")
                throw sdk::field_error(sdk::child_path(item, field.key()), "is not a field of a no-call window (Weekdays, Times)");
        if (window.has("Weekdays")) {
            const json::array& days = window.required_array("Weekdays");
            for (std::size_t d = 0; d < days.size(); ++d)
                if (!days[d].is_int64() || days[d].get_int64() < 1 || days[d].get_int64() > 7)
                    throw sdk::field_error(sdk::index_path(item + ".Weekdays", d),
                                           "must be a weekday from 1 (Sunday) to 7 (Saturday), got " + json::serialize(days[d]));
        }
        const json::array& times = window.required_array("Times");
        if (times.empty())
            throw sdk::field_error(item + ".Times", "must name at least one \"HH:MM-HH:MM\" window");
        for (std::size_t t = 0; t < times.size(); ++t) {
            const std::string time_path = sdk::index_path(item + ".Times", t);
            if (!times[t].is_string())
                throw sdk::field_error(time_path, "must be a string \"HH:MM-HH:MM\"");
            const std::string_view range = times[t].get_string();
            const std::optional<int> from = range.size() == 11 && range[5] == '-' ? clock_minutes(range.substr(0, 5)) : std::nullopt;
            const std::optional<int> to = range.size() == 11 && range[5] == '-' ? clock_minutes(range.substr(6)) : std::nullopt;
            if (!from || !to)
                throw sdk::field_error(time_path, "must be \"HH:MM-HH:MM\" with hours 00-23 and minutes 00-59, got '" +
                                                      std::string(range) + "'");
            if (*from == *to)
                throw sdk::field_error(time_path, "starts and ends at the same minute: '" + std::string(range) + "'");
        }
    }
    return windows;
}

// Throws sdk::field_error naming "step.<field>".
route_step read_step(const json::object& object) {
    const sdk::object_reader step(object, "step");
    route_step out;
    out.type = step.required_int("type");
    if (out.type < 0 || out.type > 3)
        throw sdk::field_error("step.type", "must be 0 (recording), 1 (TTS template), 2 (IVR) or 3 (TTS text), got " +
                                                std::to_string(out.type));
    out.resource = step.optional_string("resource");
    if (out.resource && out.resource->empty())
        throw sdk::field_error("step.resource", "must not be empty");
    if (!out.resource && out.type != 3)
        throw sdk::field_error("step.resource", "is required for type " + std::to_string(out.type) +
                                                    " (the recording, TTS template or IVR flow id)");
    out.tts_content = step.optional_string("tts_content");
    if (out.type == 3 && (!out.tts_content || out.tts_content->empty()))
        throw sdk::field_error("step.tts_content", "is required for type 3 (TTS text)");
    if (out.tts_content && out.type != 3)
        throw sdk::field_error("step.tts_content", "is used only with type 3 (TTS text), not type " + std::to_string(out.type));
    if (out.tts_content && sdk::code_points(*out.tts_content) > max_tts_chars)
        throw sdk::field_error("step.tts_content", "is " + std::to_string(sdk::code_points(*out.tts_content)) +
                                                       " characters; VMS takes at most 250");

    out.number_type = step.optional_int("number_type");
    if (out.number_type && *out.number_type != 0 && *out.number_type != 1)
        throw sdk::field_error("step.number_type", "must be 0 (any number of the pool) or 1 (step.number_list), got " +
                                                       std::to_string(*out.number_type));
    if (step.has("number_list")) {
        out.number_list = string_list(step, "number_list", "a caller number");
        for (std::size_t i = 0; i < out.number_list->size(); ++i)
            if ((*out.number_list)[i].find_first_not_of("0123456789") != std::string::npos)
                throw sdk::field_error(sdk::index_path("step.number_list", i),
                                       "must be a caller number of the pool, digits only, got '" + (*out.number_list)[i] + "'");
    }
    const bool chosen_numbers = out.number_type.value_or(0) == 1;
    if (chosen_numbers && (!out.number_list || out.number_list->empty()))
        throw sdk::field_error("step.number_list", "is required (at least one number) when number_type is 1");
    if (!chosen_numbers && out.number_list)
        throw sdk::field_error("step.number_list", "is used only when number_type is 1");
    out.select_number_rule = step.optional_int("select_number_rule");
    if (out.select_number_rule && (*out.select_number_rule < 1 || *out.select_number_rule > 3))
        throw sdk::field_error("step.select_number_rule", "must be 1 (random), 2 (round robin) or 3 (tail-digit match), got " +
                                                              std::to_string(*out.select_number_rule));

    if (step.has("params"))
        out.params = string_list(step, "params", "a parameter name");
    out.ring_again_times = step.optional_int("ring_again_times");
    if (out.ring_again_times && (*out.ring_again_times < 0 || *out.ring_again_times > max_ring_again_times))
        throw sdk::field_error("step.ring_again_times", "must be 0 to 3 redials, got " + std::to_string(*out.ring_again_times));
    out.ring_again_interval = step.optional_int("ring_again_interval");
    if (out.ring_again_interval && *out.ring_again_interval < min_ring_again_interval)
        throw sdk::field_error("step.ring_again_interval", "must be at least 5 minutes, got " +
                                                               std::to_string(*out.ring_again_interval));
    if (step.has("forbid_time_list"))
        out.forbid_time_list = read_forbid_time_list(step);
    out.ext = step.optional_string("ext");
    if (out.ext && sdk::code_points(*out.ext) > max_ext_chars)
        throw sdk::field_error("step.ext", "is " + std::to_string(sdk::code_points(*out.ext)) + " characters; VMS takes at most 250");
    return out;
}

// ---- recipients ------------------------------------------------------------------------------

struct checked_recipient {
    sdk::verdict verdict;
    json::object phone_param;  // when the verdict is ok and the step names params
};

checked_recipient refuse(std::string field, std::string reason) {
    return {sdk::verdict::invalid(std::move(field), std::move(reason)), {}};
}

checked_recipient check_recipient(const route_step& step, const sdk::recipient& r) {
    if (std::optional<std::string> problem = e164_problem(r.to))
        return refuse("to", *problem);
    checked_recipient out;
    for (const std::string& name : step.params) {
        const json::value* value = r.params.if_contains(name);
        if (value == nullptr || value->is_null())
            return refuse("params." + name, "is required by step.params");
        std::optional<std::string> text = text_of(*value);
        if (!text)
            return refuse("params." + name, std::string("must be a string or a number, not ") + sdk::object_reader::kind(*value));
        out.phone_param[name] = std::move(*text);
    }
    if (!step.params.empty()) {
        const std::size_t length = sdk::code_points(json::serialize(out.phone_param));
        if (length > max_phone_param_chars)
            return refuse("params", "make PhoneParam " + std::to_string(length) + " characters of JSON; VMS takes at most 2048");
    }
    return out;
}

// ---- configuration ---------------------------------------------------------------------------

struct settings {
    std::string endpoint;  // scheme://host[:port], without a default port or trailing slash
    std::string host;      // host[:port] as the HTTP client sends it in Host
    std::string access_key_id;
    std::string secret_access_key;
    std::string region;
    std::string number_pool_no;
    int items_per_call = max_items_per_call;
    std::optional<std::string> callback_token;
    std::int64_t callback_max_age_s = 600;   // a callback signed longer ago than this is a replay
};

void refuse_unknown_settings(const sdk::object_reader& config) {
    static constexpr std::string_view known[] = {"endpoint", "access_key_id", "secret_access_key", "region",
                                                 "number_pool_no", "items_per_call", "callback_token",
                                                 "callback_max_age_s"};
    for (const auto& item : config.object())
        if (std::find(std::begin(known), std::end(known), item.key()) == std::end(known))
            throw sdk::field_error(sdk::child_path("config", item.key()), "is not a setting of the vms provider");
}

// The endpoint without a trailing slash or a default port (the port would change the signed Host).
void read_endpoint(const sdk::object_reader& config, settings& out) {
    const std::string given = config.string_or("endpoint", default_endpoint);
    const sdk::base_url url = sdk::read_base_url(given, "config.endpoint");
    if (!url.path.empty())
        throw sdk::field_error("config.endpoint", "must be scheme://host[:port] without a path (VMS signs the path \"/\"), got '" +
                                                      given + "'");
    // The signed Host names no default port.
    out.endpoint = url.origin;
    out.host = url.host;
    const std::string default_port = url.https ? ":443" : ":80";
    if (out.host.size() > default_port.size() && out.host.ends_with(default_port)) {
        out.host.resize(out.host.size() - default_port.size());
        out.endpoint.resize(out.endpoint.size() - default_port.size());
    }
}


settings read_settings(const sdk::object_reader& config) {
    refuse_unknown_settings(config);
    settings out;
    read_endpoint(config, out);
    out.access_key_id = config.required_nonempty_string("access_key_id");
    out.secret_access_key = config.required_nonempty_string("secret_access_key");
    out.region = config.string_or("region", default_region);
    if (out.region.empty() || out.region.find_first_of("/ ") != std::string::npos)
        throw sdk::field_error("config.region", "must be a region name such as cn-north-1, got '" + out.region + "'");
    out.number_pool_no = config.required_nonempty_string("number_pool_no");
    const std::int64_t items = config.int_or("items_per_call", max_items_per_call);
    if (items < 1 || items > max_items_per_call)
        throw sdk::field_error("config.items_per_call", "must be 1 to 100, got " + std::to_string(items));
    out.items_per_call = static_cast<int>(items);
    out.callback_token = config.optional_string("callback_token");
    if (out.callback_token && out.callback_token->empty())
        throw sdk::field_error("config.callback_token", "must not be empty (leave it out to refuse every callback)");
    out.callback_max_age_s = config.int_or("callback_max_age_s", out.callback_max_age_s);
    if (out.callback_max_age_s < 10 || out.callback_max_age_s > 86'400)
        throw sdk::field_error("config.callback_max_age_s", "must be 10 to 86400 seconds, got " +
                                                                std::to_string(out.callback_max_age_s));
    return out;
}

// ---- answers ---------------------------------------------------------------------------------

// Classifies the envelope's Error, or a bad HTTP status without one. Returns when the call went through.
void check_answer(const sdk::http_response& response, const json::object* answer) {
    const int status = response.status;
    const json::object* error = nullptr;
    if (answer != nullptr)
        if (const json::value* metadata = answer->if_contains("ResponseMetadata"); metadata != nullptr && metadata->is_object())
            if (const json::value* e = metadata->get_object().if_contains("Error"); e != nullptr && e->is_object())
                error = &e->get_object();
    const std::string http = "HTTP " + std::to_string(status);
    if (error != nullptr) {
        const std::string code = sdk::text_field(*error, "Code");
        const std::string code_n = sdk::text_field(*error, "CodeN");
        const std::string message = sdk::text_field(*error, "Message");
        const std::string said = http + " " + (code.empty() ? "(no Code)" : code) + (code_n.empty() ? "" : " " + code_n) +
                                 ": " + (message.empty() ? "(no Message)" : message);
        if (status == 429 || status >= 500 || listed(transient_codes, code))
            throw sdk::error(sdk::status::transient, "VMS is busy or failing (" + said + ")", response.retry_after_ms());
        // InvalidTimestamp comes as 400 or 403: the clock, not the credentials, is wrong.
        if (code == "InvalidTimestamp")
            throw sdk::error(sdk::status::permanent, "VMS refused the request's X-Date (" + said + "): check this host's clock");
        if (listed(authentication_codes, code) || status == 401 || (code.empty() && status == 403))
            throw sdk::error(sdk::status::authentication,
                             "VMS refused the credentials (" + said + "): check access_key_id, secret_access_key and region");
        throw sdk::error(sdk::status::permanent, "VMS refused the request (" + said + ")");
    }
    const std::string said = "VMS answered " + http;
    if (status == 401 || status == 403)
        throw sdk::error(sdk::status::authentication, said + ": check access_key_id, secret_access_key and region");
    if (status == 408 || status == 429 || status >= 500)
        throw sdk::error(sdk::status::transient, said + ": " + sdk::excerpt(response.body), response.retry_after_ms());
    if (status < 200 || status > 299)
        throw sdk::error(sdk::status::permanent, said + ": " + sdk::excerpt(response.body));
    if (answer == nullptr)
        throw sdk::error(sdk::status::transient, "VMS's answer is not a JSON object: " + sdk::excerpt(response.body),
                         response.retry_after_ms());
}

std::optional<json::object> parse_answer(const sdk::http_response& response) {
    boost::system::error_code ec;
    json::value doc = json::parse(response.body, ec);
    if (ec || !doc.is_object())
        return std::nullopt;
    return std::move(doc.get_object());
}

// The meaning of a FailList Type code (docs 6358/172950).
std::string fail_meaning(std::string_view type) {
    static const std::unordered_map<std::string_view, const char*> meanings = {
        {"INVALID_PHONE_FORMAT", "invalid phone number"},
        {"REDUPLICATED_ITEM", "duplicate item"},
        {"ITEM_NOT_FOUND", "item not found"},
        {"PARAM_NOT_JSON", "parameters are not JSON"},
        {"TTS_EMPTY_CONTENT", "empty TTS content"},
        {"DECRYPTION_ERROR", "decryption failed"},
        {"RESOURCE_NOT_FOUND", "resource not found"},
        {"WRONG_RING_AGAIN_TIME", "invalid redial settings"},
        {"TTS_PARAM_EMPTY", "TTS template variables not all filled"},
        {"NO_PERMISSION", "the account does not own the resource"},
        {"EXCEL_PARSE_FAIL", "Excel parse failed"},
        {"RESOURCE_TYPE_MISMATCH", "type does not match the resource kind"},
        {"FORBID_TIME_FORMAT_INVALID", "invalid no-call window"},
        {"HANG_UP_SMS_CONFIG_CHECK_FAIL", "hang-up SMS configuration check failed"},
        {"HANG_UP_SMS_PARAM_CHECK_FAIL", "hang-up SMS parameter check failed"},
    };
    const auto it = meanings.find(type);
    return it != meanings.end() ? it->second : std::string(type);
}

// callResult of a CDR (docs 6358/173383).
std::string call_result_reason(std::int64_t result) {
    static const std::unordered_map<std::int64_t, const char*> reasons = {
        {1, "answered"},
        {2, "callee powered off"},
        {3, "callee number suspended"},
        {4, "empty number"},
        {5, "caller hung up first"},
        {6, "callee unreachable"},
        {7, "no answer"},
        {8, "callee busy"},
        {9, "call rejected"},
        {10, "callee not reachable"},
        {11, "line busy"},
        {28, "no pick-up before the timeout"},
        {29, "callee on the blacklist"},
        {30, "call frequency exceeded"},
        {31, "account over its concurrency"},
        {32, "trunk over its concurrency"},
        {33, "validation failed"},
        {34, "no caller number selected"},
        {35, "decryption failed"},
    };
    const auto it = reasons.find(result);
    return it != reasons.end() ? it->second : "call failed (callResult " + std::to_string(result) + ")";
}

// A CDR field that may be a number or a numeric string.
std::optional<std::int64_t> integer_field(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    if (v == nullptr)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64())
        return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_string()) {
        const std::string_view s = v->get_string();
        std::int64_t n = 0;
        if (!s.empty() && std::from_chars(s.data(), s.data() + s.size(), n).ptr == s.data() + s.size())
            return n;
    }
    return std::nullopt;
}

std::string query_value(std::string_view url, std::string_view name) {
    const std::size_t q = url.find('?');
    if (q == std::string_view::npos)
        return {};
    std::string_view query = url.substr(q + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
            // Percent-decoded: the values are digits and hex, but a proxy may encode anyway.
            std::string out;
            const std::string_view value = pair.substr(eq + 1);
            for (std::size_t i = 0; i < value.size(); ++i) {
                unsigned int byte = 0;
                if (value[i] == '%' && i + 2 < value.size() &&
                    std::from_chars(value.data() + i + 1, value.data() + i + 3, byte, 16).ptr == value.data() + i + 3) {
                    out += static_cast<char>(byte);
                    i += 2;
                } else {
                    out += value[i] == '+' ? ' ' : value[i];
                }
            }
            return out;
        }
        if (amp == std::string_view::npos)
            break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

sdk::receipt read_cdr(const json::object& cdr, const std::string& path, const std::string& open_id) {
    sdk::receipt out;
    out.message_id = open_id;
    out.to = e164_of_callee(sdk::text_field(cdr, "callee"));
    const std::optional<std::int64_t> result = integer_field(cdr, "callResult");
    if (!result)
        throw sdk::field_error(path + ".callResult", cdr.contains("callResult") ? "must be an integer" : "is required");
    out.code = std::to_string(*result);
    out.status = *result == 1 ? sdk::delivery::delivered : sdk::delivery::undelivered;
    out.reason = call_result_reason(*result);
    for (const char* key : {"endTime", "releaseTime", "cdrCreateTime"})
        if (const std::optional<std::int64_t> at = integer_field(cdr, key); at && *at > 0) {
            out.at_unix_ms = *at;
            break;
        }
    return out;
}

// Writes `value` with object keys sorted, so equal steps give equal text however they were written.
void canonical_json(const json::value& value, std::string& out) {
    if (const json::object* object = value.if_object()) {
        std::vector<std::string_view> keys;
        for (const auto& item : *object)
            keys.push_back(item.key());
        std::sort(keys.begin(), keys.end());
        out += '{';
        for (std::size_t i = 0; i < keys.size(); ++i) {
            out += (i ? "," : "") + json::serialize(json::string(keys[i])) + ":";
            canonical_json(object->at(keys[i]), out);
        }
        out += '}';
    } else if (const json::array* array = value.if_array()) {
        out += '[';
        for (std::size_t i = 0; i < array->size(); ++i) {
            out += i ? "," : "";
            canonical_json((*array)[i], out);
        }
        out += ']';
    } else {
        out += json::serialize(value);
    }
}

// ---- the provider ----------------------------------------------------------------------------

class vms_provider final : public sdk::provider {
public:
    static constexpr bool names_messages_in_advance = true;  // see do_message_ids

    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "vms";
        m.vendor_scheduling = true;  // TriggerTime: VMS holds the call until the batch's send_at_unix_ms
        m.version = "1.0.0";
        m.description = "Volcengine VMS voice notification (SingleBatchAppend), up to 100 calls per request, "
                        "with pushed CDR receipts";
        m.channels = {"voice"};
        m.max_recipients_per_call = max_items_per_call;
        m.grouping = {"type", "resource"};
        m.receipts = "push";
        m.thread_safe = true;
        m.transient_errors.assign(std::begin(transient_codes), std::end(transient_codes));
        // VMS publishes no API rate; its risk control limits calls per callee (VENDORS.md §1.6).
        m.requests_per_second = 0;
        m.recipients_per_second = 0;
        m.config_schema = json::parse(R"schema({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["access_key_id", "secret_access_key", "number_pool_no"],
            "properties": {
                "endpoint": {"type": "string", "pattern": "^https?://[^/?#]+/?$", "default": "https://cloud-vms.volcengineapi.com",
                             "description": "scheme://host[:port]; /?Action=SingleBatchAppend&Version=2022-01-01 is appended"},
                "access_key_id": {"type": "string", "minLength": 1, "description": "the Volcengine AccessKeyId (AK)"},
                "secret_access_key": {"type": "string", "minLength": 1, "writeOnly": true,
                                      "description": "the SecretAccessKey (SK); a secret"},
                "region": {"type": "string", "minLength": 1, "default": "cn-north-1",
                           "description": "the signing region (cn-north-1; some accounts use cn-beijing)"},
                "number_pool_no": {"type": "string", "minLength": 1,
                                   "description": "the NumberPoolNo whose caller numbers place the calls (NP...)"},
                "items_per_call": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100,
                                   "description": "List items per SingleBatchAppend call"},
                "callback_token": {"type": "string", "minLength": 1, "writeOnly": true,
                                   "description": "the console's callback authToken, to verify CDR callbacks' authCode; a secret"},
                "callback_max_age_s": {"type": "integer", "minimum": 10, "maximum": 86400, "default": 600,
                                       "description": "a callback whose signed timestamp is older (or further ahead) than this is refused as a replay"}
            },
            "additionalProperties": false
        })schema");
        // The step's own keys, checked by the host at start for every route step on this plugin.
        m.step_schema = json::parse(R"schema({
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"enum": [0, 1, 2, 3], "description": "0 recording, 1 TTS template, 2 IVR, 3 TTS text"},
                "resource": {"type": "string", "minLength": 1, "description": "the recording, TTS template or IVR flow id"},
                "tts_content": {"type": "string", "minLength": 1, "maxLength": 250},
                "number_type": {"enum": [0, 1]},
                "number_list": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]+$"}},
                "select_number_rule": {"enum": [1, 2, 3]},
                "params": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "ring_again_times": {"type": "integer", "minimum": 0, "maximum": 3},
                "ring_again_interval": {"type": "integer", "minimum": 5},
                "forbid_time_list": {"type": "array", "items": {"type": "object", "required": ["Times"]}},
                "ext": {"type": "string", "maxLength": 250}
            },
            "additionalProperties": false
        })schema");
        return m;
    }

    vms_provider(const sdk::host& host, const sdk::object_reader& config) : provider(host), settings_(read_settings(config)) {}

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return sdk::verdicts_for(request, [&] { return read_step(request.step); },
                                 [&](const route_step& step, const sdk::recipient& r) { return check_recipient(step, r).verdict; });
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t now_unix_ms) override {
        if (batch.recipients.size() > static_cast<std::size_t>(settings_.items_per_call))
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " + std::to_string(batch.recipients.size()) +
                                                         " recipients; this instance sends at most " +
                                                         std::to_string(settings_.items_per_call) + " per call (items_per_call)");
        route_step step;
        try {
            step = read_step(batch.step);
        } catch (const sdk::field_error& e) {
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + e.what());
        }
        json::array list;
        list.reserve(batch.recipients.size());
        for (std::size_t i = 0; i < batch.recipients.size(); ++i)
            list.push_back(item(step, batch, i, now_unix_ms));
        return sign(json::serialize(json::object{{"List", std::move(list)}}), now_unix_ms);
    }

    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        const std::optional<json::object> answer = parse_answer(response);
        check_answer(response, answer ? &*answer : nullptr);
        const json::value* result = answer->if_contains("Result");
        std::vector<sdk::outcome> outcomes;
        outcomes.reserve(batch.recipients.size());
        if (result == nullptr || !result->is_object()) {
            for (const sdk::recipient& r : batch.recipients)
                outcomes.push_back(sdk::outcome::unknown(r.id, "VMS's answer has no Result: " + sdk::excerpt(response.body)));
            return outcomes;
        }
        std::vector<std::string> open_ids;
        std::unordered_map<std::string, std::size_t> by_open_id;
        std::unordered_multimap<std::string, std::size_t> by_phone;
        for (std::size_t i = 0; i < batch.recipients.size(); ++i) {
            open_ids.push_back(single_open_id(batch, batch.recipients[i]));
            by_open_id.emplace(open_ids.back(), i);
            by_phone.emplace(phone_of_any(batch.recipients[i].to), i);
        }
        std::vector<std::optional<sdk::outcome>> found(batch.recipients.size());
        const auto matches = [&](const json::object& item) {
            std::vector<std::size_t> out;
            if (auto it = by_open_id.find(sdk::text_field(item, "SingleOpenId")); it != by_open_id.end())
                return std::vector<std::size_t>{it->second};
            const auto [first, last] = by_phone.equal_range(sdk::digits_of(sdk::text_field(item, "Phone")));
            for (auto it = first; it != last; ++it)
                out.push_back(it->second);
            return out;
        };
        const json::object& lists = result->get_object();
        if (const json::array* success = sdk::array_field(lists, "SuccessList"))
            for (const json::value& v : *success)
                if (const json::object* item = v.if_object())
                    for (std::size_t i : matches(*item))
                        found[i] = sdk::outcome::accepted(batch.recipients[i].id, open_ids[i]);
        if (const json::array* failed = sdk::array_field(lists, "FailList"))
            for (const json::value& v : *failed)
                if (const json::object* item = v.if_object())
                    for (std::size_t i : matches(*item)) {
                        const std::string type = sdk::text_field(*item, "Type");
                        if (type == reduplicated) {
                            found[i] = sdk::outcome::accepted(batch.recipients[i].id, open_ids[i]);
                            continue;
                        }
                        std::string reason = sdk::text_field(*item, "Desc");
                        if (reason.empty())
                            reason = type.empty() ? "listed in FailList without Type" : fail_meaning(type);
                        found[i] = sdk::outcome::rejected(batch.recipients[i].id, type.empty() ? "FailList" : type, reason);
                    }
        for (std::size_t i = 0; i < batch.recipients.size(); ++i)
            outcomes.push_back(found[i] ? std::move(*found[i])
                                        : sdk::outcome::unknown(batch.recipients[i].id,
                                                                "VMS listed SingleOpenId " + open_ids[i] +
                                                                    " in neither SuccessList nor FailList"));
        return outcomes;
    }

    // SingleOpenId is ours, derived from the batch: receipts name it whether or not the answer came.
    std::vector<sdk::named_message> do_message_ids(const sdk::batch& batch) override {
        std::vector<sdk::named_message> named;
        named.reserve(batch.recipients.size());
        for (const sdk::recipient& r : batch.recipients)
            named.push_back({r.id, single_open_id(batch, r)});
        return named;
    }

    sdk::receipt_batch do_parse_receipt(const sdk::http_request& callback, std::int64_t now_unix_ms) override {
        if (!settings_.callback_token)
            throw sdk::error(sdk::status::authentication, "callback refused: no callback_token is configured");
        const std::string timestamp = query_value(callback.url, "timestamp");
        const std::string auth_code = query_value(callback.url, "authCode");
        if (timestamp.empty() || auth_code.empty())
            throw sdk::error(sdk::status::authentication, "callback refused: its URL has no timestamp and authCode");
        const std::string expected = vms::callback_auth_code(timestamp, callback.body, *settings_.callback_token);
        std::string given = auth_code;
        std::transform(given.begin(), given.end(), given.begin(), [](char c) { return c >= 'A' && c <= 'F' ? char(c + 32) : c; });
        if (!sdk::constant_time_equal(given, expected))
            throw sdk::error(sdk::status::authentication, "callback refused: authCode does not match the body and callback_token");
        // The signature covers the timestamp: an old one is a callback captured and sent again.
        std::int64_t signed_at = 0;
        const auto [end, read] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), signed_at);
        if (read != std::errc() || end != timestamp.data() + timestamp.size() ||
            std::llabs(now_unix_ms / 1000 - signed_at) > settings_.callback_max_age_s)
            throw sdk::error(sdk::status::authentication,
                             "callback refused: its timestamp " + sdk::excerpt(timestamp, 20) + " is more than " +
                                 std::to_string(settings_.callback_max_age_s) + " s from now (a replay, or a wrong clock)");

        boost::system::error_code ec;
        const json::value doc = json::parse(callback.body, ec);
        if (ec || !(doc.is_object() || doc.is_array()))
            throw sdk::field_error("callback", "must be a CDR JSON object or an array of them");
        std::vector<const json::value*> items;
        if (doc.is_object())
            items.push_back(&doc);
        else
            for (const json::value& v : doc.get_array())
                items.push_back(&v);
        sdk::receipt_batch out;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string path = doc.is_object() ? std::string("callback") : sdk::index_path("callback", i);
            if (!items[i]->is_object())
                throw sdk::field_error(path, "must be an object");
            const json::object& cdr = items[i]->get_object();
            // Call-status events and task-mode CDRs carry no singleOpenId: nothing of ours to settle.
            const std::string open_id = sdk::text_field(cdr, "singleOpenId");
            if (open_id.empty())
                continue;
            out.receipts.push_back(read_cdr(cdr, path, open_id));
        }
        return out;
    }

private:
    std::string single_open_id(const sdk::batch& batch, const sdk::recipient& r) const {
        std::string step;
        canonical_json(batch.step, step);
        return sdk::hex(sdk::sha256(batch.job_id + "/" + r.id + "/" + step)).substr(0, 32);
    }

    static std::string phone_of_any(const std::string& to) {
        return e164_problem(to) ? sdk::digits_of(to) : phone_of(to);
    }

    json::object item(const route_step& step, const sdk::batch& batch, std::size_t i, std::int64_t now_unix_ms) const {
        const sdk::recipient& r = batch.recipients[i];
        checked_recipient checked = check_recipient(step, r);
        if (!checked.verdict.ok)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + sdk::index_path("recipients", i) + "." +
                                                         checked.verdict.field + ": " + checked.verdict.reason);
        json::object out{{"SingleOpenId", single_open_id(batch, r)},
                         {"Phone", phone_of(r.to)},
                         {"Type", step.type}};
        if (step.resource)
            out["Resource"] = *step.resource;
        out["NumberPoolNo"] = settings_.number_pool_no;
        if (step.number_type)
            out["NumberType"] = *step.number_type;
        if (step.number_list)
            out["NumberList"] = json::array(step.number_list->begin(), step.number_list->end());
        if (step.select_number_rule)
            out["SelectNumberRule"] = *step.select_number_rule;
        if (!step.params.empty())
            out["PhoneParam"] = std::move(checked.phone_param);
        if (step.tts_content)
            out["TtsContent"] = *step.tts_content;
        if (step.ext)
            out["Ext"] = *step.ext;
        // Beijing time; a time already past means "now", which VMS does when TriggerTime is absent.
        if (batch.send_at_unix_ms && *batch.send_at_unix_ms > now_unix_ms)
            out["TriggerTime"] = sdk::format_time(*batch.send_at_unix_ms, "%Y-%m-%d %H:%M:%S", 8 * 60);
        if (step.ring_again_times)
            out["RingAgainTimes"] = *step.ring_again_times;
        if (step.ring_again_interval)
            out["RingAgainInterval"] = *step.ring_again_interval;
        if (step.forbid_time_list)
            out["ForbidTimeList"] = *step.forbid_time_list;
        return out;
    }

    sdk::http_request sign(std::string body, std::int64_t now_unix_ms) const {
        const std::string x_date = sdk::utc_compact(now_unix_ms);
        const std::string body_hash = sdk::hex(sdk::sha256(body));
        vms::signing_input in;
        in.method = "POST";
        in.path = "/";
        in.query = {{"Action", "SingleBatchAppend"}, {"Version", "2022-01-01"}};
        in.headers = {{"Content-Type", "application/json"},
                      {"Host", settings_.host},
                      {"X-Content-Sha256", body_hash},
                      {"X-Date", x_date}};
        in.body = body;
        sdk::http_request out;
        out.method = "POST";
        out.url = settings_.endpoint + action_query;
        // Host is not sent by the plugin: the HTTP client writes it from the URL, as signed.
        out.headers = {{"Content-Type", "application/json"},
                       {"X-Date", x_date},
                       {"X-Content-Sha256", body_hash},
                       {"Authorization", vms::authorization(in, x_date, settings_.access_key_id, settings_.secret_access_key,
                                                            settings_.region, service)}};
        out.body = std::move(body);
        return out;
    }

    const settings settings_;
};

} // namespace

SWITCHBOARD_PROVIDER(vms_provider)
