#include "vms_simulator.hpp"
#include "vendor_crypto.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <map>

namespace switchboard::vms_simulator {

namespace json = boost::json;
using simulator::response;

namespace {

constexpr std::int64_t timestamp_window_s = 15 * 60;
constexpr const char* action_name = "SingleBatchAppend";
constexpr const char* version_name = "2022-01-01";

// ---- crypto, written here rather than borrowed from the SDK, so a plugin bug cannot cancel out --




// RFC 3986: unreserved characters stay, everything else is %XX in upper case.
std::string uri_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 0x0f];
        }
    }
    return out;
}

std::string uri_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned int byte = 0;
        if (text[i] == '%' && i + 2 < text.size() &&
            std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16).ptr == text.data() + i + 3) {
            out += static_cast<char>(byte);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::multimap<std::string, std::string> query_of(std::string_view target) {
    std::multimap<std::string, std::string> out;
    const std::size_t q = target.find('?');
    if (q == std::string_view::npos)
        return out;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        if (!pair.empty()) {
            const std::size_t eq = pair.find('=');
            out.emplace(uri_decode(pair.substr(0, eq)), eq == std::string_view::npos ? "" : uri_decode(pair.substr(eq + 1)));
        }
        if (amp == std::string_view::npos)
            break;
        query.remove_prefix(amp + 1);
    }
    return out;
}



std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> out;
    std::size_t begin = 0;
    while (true) {
        const std::size_t at = text.find(separator, begin);
        out.emplace_back(text.substr(begin, at == std::string_view::npos ? std::string_view::npos : at - begin));
        if (at == std::string_view::npos)
            return out;
        begin = at + 1;
    }
}

// "20240619T071306Z" as Unix seconds, or -1.
std::int64_t parse_x_date(const std::string& text) {
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z')
        return -1;
    std::tm parts{};
    const auto number = [&](std::size_t at, std::size_t length, int& out) {
        return std::from_chars(text.data() + at, text.data() + at + length, out).ptr == text.data() + at + length;
    };
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!number(0, 4, year) || !number(4, 2, month) || !number(6, 2, day) || !number(9, 2, hour) ||
        !number(11, 2, minute) || !number(13, 2, second))
        return -1;
    parts.tm_year = year - 1900;
    parts.tm_mon = month - 1;
    parts.tm_mday = day;
    parts.tm_hour = hour;
    parts.tm_min = minute;
    parts.tm_sec = second;
    return static_cast<std::int64_t>(timegm(&parts));
}

// ---- the request's List ---------------------------------------------------------------------

bool is_int(const json::value* v) { return v != nullptr && (v->is_int64() || v->is_uint64()); }
bool is_nonempty_string(const json::value* v) { return v != nullptr && v->is_string() && !v->get_string().empty(); }

// What is wrong with List item `i`, with the gateway code to answer; "" when nothing.
std::string check_item(const json::value& value, std::size_t i, std::string& code) {
    const std::string at = "List[" + std::to_string(i) + "].";
    code = "InvalidParameter";
    if (!value.is_object())
        return "List[" + std::to_string(i) + "] must be an object";
    const json::object& item = value.get_object();
    for (const char* required : {"SingleOpenId", "Phone", "Type", "NumberPoolNo"})
        if (!item.contains(required)) {
            code = "MissingParameter";
            return at + required + " is required";
        }
    if (!is_nonempty_string(item.if_contains("SingleOpenId")))
        return at + "SingleOpenId must be a non-empty string";
    if (!is_nonempty_string(item.if_contains("Phone")))
        return at + "Phone must be a non-empty string";
    if (!is_int(item.if_contains("Type")) || item.at("Type").to_number<std::int64_t>() < 0 ||
        item.at("Type").to_number<std::int64_t>() > 3)
        return at + "Type must be an integer 0 to 3";
    if (!is_nonempty_string(item.if_contains("NumberPoolNo")))
        return at + "NumberPoolNo must be a non-empty string";
    const std::int64_t type = item.at("Type").to_number<std::int64_t>();
    if (type != 3 && !item.contains("Resource")) {
        code = "MissingParameter";
        return at + "Resource is required unless Type is 3";
    }
    if (item.contains("Resource") && !is_nonempty_string(item.if_contains("Resource")))
        return at + "Resource must be a non-empty string";
    for (const char* text : {"TtsContent", "Ext", "TriggerTime"})
        if (const json::value* v = item.if_contains(text); v != nullptr && !v->is_string())
            return at + text + " must be a string";
    for (const char* number : {"NumberType", "SelectNumberRule", "RingAgainTimes", "RingAgainInterval"})
        if (const json::value* v = item.if_contains(number); v != nullptr && !is_int(v))
            return at + number + " must be an integer";
    if (const json::value* v = item.if_contains("NumberList")) {
        if (!v->is_array())
            return at + "NumberList must be an array of strings";
        for (const json::value& n : v->get_array())
            if (!n.is_string())
                return at + "NumberList must be an array of strings";
    }
    if (const json::value* v = item.if_contains("PhoneParam"); v != nullptr && !v->is_object())
        return at + "PhoneParam must be an object";
    if (const json::value* v = item.if_contains("ForbidTimeList"); v != nullptr && !v->is_array())
        return at + "ForbidTimeList must be an array";
    if (const json::value* v = item.if_contains("TriggerTime")) {
        const std::string_view t = v->get_string();
        if (t.size() != 19 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' || t[16] != ':')
            return at + "TriggerTime must be \"YYYY-MM-DD HH:MM:SS\"";
    }
    return {};
}

// The item-level code VMS answers for a well-formed item it still refuses, or "".
std::string item_refusal(const json::object& item) {
    if (item.at("Type").to_number<std::int64_t>() == 3) {
        const json::value* tts = item.if_contains("TtsContent");
        if (tts == nullptr || tts->get_string().empty())
            return "TTS_EMPTY_CONTENT";
    }
    if (const json::value* times = item.if_contains("RingAgainTimes"); times != nullptr) {
        const std::int64_t n = times->to_number<std::int64_t>();
        if (n < 0 || n > 3)
            return "WRONG_RING_AGAIN_TIME";
    }
    if (const json::value* interval = item.if_contains("RingAgainInterval"); interval != nullptr &&
                                                                            interval->to_number<std::int64_t>() < 5)
        return "WRONG_RING_AGAIN_TIME";
    return {};
}

// Whether `list` names `phone` as VMS received it: E.164 digits, or a mainland number written
// nationally (13300000001, 057112345678) that the list may hold as +86...
bool listed(const std::set<std::string>& list, const std::string& phone) {
    return simulator::listed(list, phone) || list.count("+86" + phone) > 0 ||
           (phone.starts_with("0") && list.count("+86" + phone.substr(1)) > 0);
}

// callResult values (docs 6358/173383) the simulator reports.
constexpr std::int64_t answered = 1;
constexpr std::int64_t no_answer = 7;

} // namespace

std::string check_signature(const simulator::request& call, const credentials& creds, std::int64_t now_unix_ms,
                            std::string& code) {
    code = "SignatureDoesNotMatch";
    const std::string* authorization = call.header("Authorization");
    if (authorization == nullptr)
        return "missing Authorization";
    const std::string prefix = "HMAC-SHA256 ";
    if (authorization->rfind(prefix, 0) != 0)
        return "Authorization does not start with 'HMAC-SHA256 '";
    std::map<std::string, std::string> parts;
    for (const std::string& part : split(std::string_view(*authorization).substr(prefix.size()), ',')) {
        const std::string item = simulator::trim(part);
        const std::size_t eq = item.find('=');
        if (eq != std::string::npos)
            parts[item.substr(0, eq)] = item.substr(eq + 1);
    }
    if (!parts.count("Credential") || !parts.count("SignedHeaders") || !parts.count("Signature"))
        return "Authorization needs Credential, SignedHeaders and Signature";
    const std::vector<std::string> scope = split(parts["Credential"], '/');
    if (scope.size() != 5)
        return "Credential must be AK/date/region/service/request";
    if (scope[0] != creds.access_key_id) {
        code = "InvalidAccessKey";
        return "unknown access key";
    }
    const std::string* x_date = call.header("X-Date");
    if (x_date == nullptr)
        return "missing X-Date";
    const std::int64_t signed_at = parse_x_date(*x_date);
    if (signed_at < 0) {
        code = "InvalidTimestamp";
        return "X-Date is not YYYYMMDDTHHMMSSZ";
    }
    if (std::llabs(signed_at - now_unix_ms / 1000) > timestamp_window_s) {
        code = "InvalidTimestamp";
        return "X-Date is more than 15 minutes off";
    }
    if (scope[1] != x_date->substr(0, 8))
        return "Credential date is not X-Date's";
    if (scope[2] != creds.region)
        return "Credential region '" + scope[2] + "' is not " + creds.region;
    if (scope[3] != "vms")
        return "Credential service '" + scope[3] + "' is not vms";
    if (scope[4] != "request")
        return "Credential must end in /request";

    const std::vector<std::string> names = split(parts["SignedHeaders"], ';');
    if (std::find(names.begin(), names.end(), "host") == names.end() ||
        std::find(names.begin(), names.end(), "x-date") == names.end())
        return "SignedHeaders must include host and x-date";
    if (!std::is_sorted(names.begin(), names.end()))
        return "SignedHeaders must be sorted";
    std::string canonical_headers;
    for (const std::string& name : names) {
        if (name != simulator::lower(name))
            return "SignedHeaders must be lower case";
        const std::string* value = call.header(name);
        if (value == nullptr)
            return "signed header '" + name + "' is missing";
        canonical_headers += name + ":" + simulator::trim(*value) + "\n";
    }
    const std::string body_hash = simulator::sha256_hex(call.body);
    if (const std::string* declared = call.header("X-Content-Sha256"); declared != nullptr && *declared != body_hash)
        return "X-Content-Sha256 does not match the body";

    std::vector<std::pair<std::string, std::string>> query;
    for (const auto& [name, value] : query_of(call.target))
        query.emplace_back(uri_encode(name), uri_encode(value));
    std::sort(query.begin(), query.end());
    std::string canonical_query;
    for (const auto& [name, value] : query)
        canonical_query += (canonical_query.empty() ? "" : "&") + name + "=" + value;

    const std::string canonical = call.method + "\n" + std::string(call.path()) + "\n" + canonical_query + "\n" +
                                  canonical_headers + "\n" + parts["SignedHeaders"] + "\n" + body_hash;
    const std::string string_to_sign = "HMAC-SHA256\n" + *x_date + "\n" + scope[1] + "/" + scope[2] + "/" + scope[3] +
                                       "/request\n" + simulator::sha256_hex(canonical);
    std::string key = creds.secret_access_key;
    for (const std::string& part : {scope[1], scope[2], scope[3], std::string("request")})
        key = simulator::hmac(EVP_sha256(), key, part);  // date, region, service, "request"
    const std::string expected = simulator::hmac(EVP_sha256(), key, string_to_sign);
    if (parts["Signature"] != simulator::to_hex(expected))
        return "signature mismatch";
    code.clear();
    return {};
}

void vms_api::reset() {
    accepted_open_ids_.clear();
    next_request_ = 1;
    next_call_ = 1;
}

// The documented envelope; `error` {"CodeN","Code","Message"} on failure.
response vms_api::envelope(int status, const json::object* error, json::object result) {
    json::object metadata{{"RequestId", "sim-request-" + std::to_string(next_request_++)},
                          {"Action", action_name},
                          {"Version", version_name},
                          {"Service", "vms"},
                          {"Region", credentials_.region}};
    if (error != nullptr)
        metadata["Error"] = *error;
    json::object body{{"ResponseMetadata", std::move(metadata)}};
    if (error == nullptr)
        body["Result"] = std::move(result);
    return response::json(status, body);
}

namespace {

json::object error_of(std::string_view code, std::string message) {
    static const std::map<std::string_view, std::int64_t> numbers = {
        {"MissingParameter", 100002}, {"InvalidTimestamp", 100006}, {"InvalidActionOrVersion", 100008},
        {"InvalidAccessKey", 100009}, {"SignatureDoesNotMatch", 100010}, {"InternalError", 100014}};
    json::object out;
    if (const auto it = numbers.find(code); it != numbers.end())
        out["CodeN"] = it->second;
    out["Code"] = code;
    out["Message"] = std::move(message);
    return out;
}

} // namespace

response vms_api::handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                         std::int64_t now_unix_ms, json::object& record) {
    const auto query = query_of(call.target);
    const auto action = query.find("Action");
    const auto version = query.find("Version");
    record["action"] = action != query.end() ? action->second : "";
    if (call.path() != "/" || action == query.end() || action->second != action_name || version == query.end() ||
        version->second != version_name) {
        const json::object error = error_of("InvalidActionOrVersion", "this simulator serves only POST /?Action=SingleBatchAppend&Version=2022-01-01");
        return envelope(404, &error);
    }
    if (call.method != "POST") {
        const json::object error = error_of("MethodNotAllowed", "SingleBatchAppend takes POST only");
        return envelope(405, &error);
    }

    std::string code;
    const std::string auth_problem = check_signature(call, credentials_, now_unix_ms, code);
    record["auth_ok"] = auth_problem.empty();
    if (!auth_problem.empty()) {
        record["auth_problem"] = auth_problem;
        const json::object error = error_of(code, code == "InvalidTimestamp" ? "The request timestamp is invalid: " + auth_problem
                                                  : code == "InvalidAccessKey" ? "The AccessKeyId is invalid"
                                                                               : "The request signature we calculated does not match the signature you provided");
        return envelope(code == "InvalidTimestamp" ? 400 : 401, &error);
    }
    if (vendor_error) {
        const json::object error = error_of("FlowLimitExceeded", "flow limit exceeded (injected)");
        response r = envelope(429, &error);
        r.headers.push_back({"Retry-After", "1"});
        return r;
    }
    if (call.header("Content-Type") == nullptr || call.header("Content-Type")->rfind("application/json", 0) != 0) {
        const json::object error = error_of("InvalidParameter", "Content-Type must be application/json");
        return envelope(400, &error);
    }
    boost::system::error_code ec;
    const json::value parsed = json::parse(call.body, ec);
    if (ec || !parsed.is_object()) {
        const json::object error = error_of("InvalidParameter", "the body is not a JSON object");
        return envelope(400, &error);
    }
    return single_batch_append(parsed.get_object(), settings, now_unix_ms, record);
}

response vms_api::single_batch_append(const json::object& body, const simulator::faults& settings,
                                      std::int64_t now_unix_ms, json::object& record) {
    const json::value* list = body.if_contains("List");
    std::string problem, code = "MissingParameter";
    if (list == nullptr || !list->is_array() || list->get_array().empty())
        problem = "List must be a non-empty array";
    for (std::size_t i = 0; problem.empty() && i < list->get_array().size(); ++i)
        problem = check_item(list->get_array()[i], i, code);
    if (!problem.empty()) {
        record["problem"] = problem;
        const json::object error = error_of(code, problem);
        return envelope(400, &error);
    }

    json::array numbers, accepted, success, fail, callbacks, undelivered, silent, trigger_times;
    for (const json::value& value : list->get_array()) {
        const json::object& item = value.get_object();
        const std::string phone(item.at("Phone").get_string());
        const std::string open_id(item.at("SingleOpenId").get_string());
        numbers.emplace_back(phone);
        std::string refusal;
        if (listed(settings.block_list, phone))
            refusal = "INVALID_PHONE_FORMAT";
        else if (accepted_open_ids_.count(open_id) > 0)
            refusal = "REDUPLICATED_ITEM";
        else
            refusal = item_refusal(item);
        if (!refusal.empty()) {
            fail.push_back({{"Phone", phone}, {"SingleOpenId", open_id}, {"Type", refusal}});
            continue;
        }
        accepted_open_ids_.insert(open_id);
        accepted.emplace_back(phone);
        if (const json::value* at = item.if_contains("TriggerTime"))
            trigger_times.push_back(*at);  // when VMS would place the call (Beijing time)
        const bool unanswered = listed(settings.undelivered_list, phone);
        if (unanswered)
            undelivered.emplace_back(phone);
        if (listed(settings.silent_list, phone))
            silent.emplace_back(phone);  // the call is placed, its CDR never comes
        else
            callbacks.push_back(cdr_callback(phone, open_id, unanswered ? no_answer : answered, now_unix_ms));
        json::object ok{{"Phone", phone}, {"SingleOpenId", open_id}};
        if (const json::value* ext = item.if_contains("Ext"))
            ok["Ext"] = *ext;
        success.push_back(std::move(ok));
    }
    record["count"] = numbers.size();
    record["trigger_times"] = std::move(trigger_times);
    record["numbers"] = std::move(numbers);
    record["accepted"] = std::move(accepted);
    record["undelivered"] = std::move(undelivered);
    record["silent"] = std::move(silent);
    record["callbacks"] = std::move(callbacks);  // what VMS posts once each call ended (receipt_callbacks)
    return envelope(200, nullptr, {{"SuccessList", std::move(success)}, {"FailList", std::move(fail)}});
}

json::object vms_api::cdr_callback(const std::string& phone, const std::string& open_id, std::int64_t call_result,
                                   std::int64_t now_unix_ms) {
    const std::int64_t ended_ms = now_unix_ms + 30'000;
    const json::object cdr{{"accountId", "sim-account"},   {"callId", "V" + std::to_string(next_call_++)},
                           {"serviceType", 100},           {"subServiceType", 102},
                           {"caller", "02100000000"},      {"callee", phone},
                           {"beginCallTime", now_unix_ms}, {"endTime", ended_ms},
                           {"callDuration", call_result == answered ? 12 : 0},
                           {"callResult", call_result},    {"singleOpenId", open_id}};
    const std::string body = json::serialize(cdr);
    const std::string timestamp = std::to_string(ended_ms / 1000);
    const std::string auth_code = simulator::sha256_hex(timestamp + simulator::sha256_hex(body) + credentials_.callback_token);
    return {{"query", "?timestamp=" + timestamp + "&authCode=" + auth_code}, {"body", body}};
}

std::vector<core::http_request> vms_api::receipt_callbacks(const json::object& record, const std::string& receipt_url) {
    const json::value* callbacks = record.if_contains("callbacks");
    if (callbacks == nullptr || !callbacks->is_array())
        return {};
    // One POST per CDR, its timestamp and authCode added to the configured URL's query (docs 6358/173362).
    std::vector<core::http_request> out;
    for (const json::value& callback : callbacks->get_array()) {
        const std::string query(callback.at("query").as_string());  // "?timestamp=...&authCode=..."
        const std::string url = receipt_url + (receipt_url.find('?') == std::string::npos ? query : "&" + query.substr(1));
        out.push_back({"POST", url, {{"Content-Type", "application/json"}}, std::string(callback.at("body").as_string())});
    }
    return out;
}

} // namespace switchboard::vms_simulator
