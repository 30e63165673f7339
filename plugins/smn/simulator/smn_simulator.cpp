#include "smn_simulator.hpp"
#include "vendor_crypto.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

namespace switchboard::smn_simulator {

namespace json = boost::json;
using simulator::response;

namespace {

constexpr std::size_t max_endpoints = 1000;
constexpr std::int64_t max_report_limit = 100;
constexpr std::int64_t date_window_s = 15 * 60;

// ---- answers as SMN and its API gateway give them ---------------------------------------------

std::string request_id(std::uint64_t n) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%032llx", static_cast<unsigned long long>(n) * 7919ULL + 0x5a5aULL);
    return buffer;
}

// {"request_id","code","message"}: SMN's own errors (api-smn "Exception Response").
response smn_error(int status, const std::string& code, const std::string& message) {
    return response::json(status, {{"request_id", request_id(static_cast<std::uint64_t>(std::time(nullptr)))},
                                   {"code", code},
                                   {"message", message}});
}

// {"error_code","error_msg"}: the API gateway's errors.
response gateway_error(int status, const std::string& code, const std::string& message) {
    return response::json(status, {{"error_code", code}, {"error_msg", message}});
}

// ---- the SDK-HMAC-SHA256 check, written apart from the plugin's signer ------------------------




std::string rfc3986(std::string_view text) {
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

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> query_of(const std::string& target) {
    std::vector<std::pair<std::string, std::string>> out;
    const std::size_t q = target.find('?');
    if (q == std::string::npos)
        return out;
    std::string_view rest = std::string_view(target).substr(q + 1);
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        if (!pair.empty()) {
            const std::size_t eq = pair.find('=');
            out.emplace_back(percent_decode(pair.substr(0, eq)),
                             eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
        }
        if (amp == std::string_view::npos)
            break;
        rest = rest.substr(amp + 1);
    }
    return out;
}

std::string canonical_path(std::string_view path) {
    std::string out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        out += rfc3986(percent_decode(path.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                                           : slash - start)));
        if (slash == std::string_view::npos)
            break;
        out += '/';
        start = slash + 1;
    }
    if (out.empty() || out.back() != '/')
        out += '/';
    return out;
}



// "20191115T033655Z" as Unix seconds, or -1.
std::int64_t parse_sdk_date(const std::string& text) {
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z')
        return -1;
    std::tm parts{};
    if (std::sscanf(text.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &parts.tm_year, &parts.tm_mon, &parts.tm_mday, &parts.tm_hour,
                    &parts.tm_min, &parts.tm_sec) != 6)
        return -1;
    parts.tm_year -= 1900;
    parts.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&parts));
}

struct authorization_parts {
    std::string access;
    std::vector<std::string> signed_headers;
    std::string signature;
};

// "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex"; false when it is not that form.
bool parse_authorization(const std::string& value, authorization_parts& out) {
    const std::string prefix = "SDK-HMAC-SHA256 ";
    if (value.rfind(prefix, 0) != 0)
        return false;
    std::map<std::string, std::string> fields;
    std::string_view rest = std::string_view(value).substr(prefix.size());
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string item = simulator::trim(rest.substr(0, comma));
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos)
            return false;
        fields[item.substr(0, eq)] = item.substr(eq + 1);
        if (comma == std::string_view::npos)
            break;
        rest = rest.substr(comma + 1);
    }
    if (!fields.count("Access") || !fields.count("SignedHeaders") || !fields.count("Signature"))
        return false;
    out.access = fields["Access"];
    out.signature = fields["Signature"];
    std::string_view names = fields["SignedHeaders"];
    while (!names.empty()) {
        const std::size_t semi = names.find(';');
        out.signed_headers.emplace_back(names.substr(0, semi));
        if (semi == std::string_view::npos)
            break;
        names = names.substr(semi + 1);
    }
    return !out.signed_headers.empty();
}

// ---- request fields -----------------------------------------------------------------------------

bool is_hex32(const json::value* v) {
    if (v == nullptr || !v->is_string() || v->get_string().size() != 32)
        return false;
    const json::string& s = v->get_string();
    return std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

// The legacy SDKs' endpoint rule: ^\+?[0-9]{1}[0-9 /\-]{1,31}$
bool valid_endpoint(std::string_view e) {
    if (!e.empty() && e.front() == '+')
        e.remove_prefix(1);
    if (e.size() < 2 || e.size() > 32 || e.front() < '0' || e.front() > '9')
        return false;
    return std::all_of(e.begin() + 1, e.end(), [](char c) { return (c >= '0' && c <= '9') || c == ' ' || c == '/' || c == '-'; });
}

bool blocked(const simulator::faults& settings, const std::string& endpoint) {
    return settings.block_list.count(endpoint) > 0 || settings.block_list.count("+" + endpoint) > 0;
}

std::string without_plus(const std::string& endpoint) {
    return !endpoint.empty() && endpoint.front() == '+' ? endpoint.substr(1) : endpoint;
}

bool digits_only(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::int64_t to_int(std::string_view text) {
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

} // namespace

std::string authentication_problem(const simulator::request& call, const credentials& creds, std::int64_t now_unix_ms) {
    if (const std::string* token = call.header("X-Auth-Token")) {
        if (*token != creds.auth_token)
            return "X-Auth-Token is not a valid token";
        return {};
    }
    const std::string* header = call.header("Authorization");
    if (header == nullptr)
        return "neither Authorization nor X-Auth-Token is present";
    authorization_parts auth;
    if (!parse_authorization(*header, auth))
        return "Authorization is not 'SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...'";
    if (auth.access != creds.access_key_id)
        return "unknown access key";
    if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "x-sdk-date") == auth.signed_headers.end())
        return "x-sdk-date is not a signed header";
    const std::string* date = call.header("X-Sdk-Date");
    if (date == nullptr)
        return "X-Sdk-Date is missing";
    const std::int64_t signed_at = parse_sdk_date(*date);
    if (signed_at < 0)
        return "X-Sdk-Date is not YYYYMMDDTHHMMSSZ";
    if (std::llabs(signed_at - now_unix_ms / 1000) > date_window_s)
        return "X-Sdk-Date is more than 15 minutes off";

    std::string canonical_headers;
    for (std::size_t i = 0; i < auth.signed_headers.size(); ++i) {
        const std::string& name = auth.signed_headers[i];
        if (name != simulator::lower(name) || (i > 0 && auth.signed_headers[i - 1] >= name))
            return "SignedHeaders must be lower-case and sorted";
        const std::string* value = call.header(name);
        if (value == nullptr)
            return "signed header '" + name + "' is missing";
        canonical_headers += name + ":" + simulator::trim(*value) + "\n";
    }
    std::vector<std::pair<std::string, std::string>> query = query_of(call.target);
    std::sort(query.begin(), query.end());
    std::string canonical_query;
    for (const auto& [name, value] : query)
        canonical_query += (canonical_query.empty() ? "" : "&") + rfc3986(name) + "=" + rfc3986(value);
    std::string signed_names;
    for (const std::string& name : auth.signed_headers)
        signed_names += (signed_names.empty() ? "" : ";") + name;
    const std::string* content_hash = call.header("X-Sdk-Content-Sha256");
    const std::string canonical = call.method + "\n" + canonical_path(call.path()) + "\n" + canonical_query + "\n" +
                                  canonical_headers + "\n" + signed_names + "\n" +
                                  (content_hash != nullptr ? *content_hash : simulator::sha256_hex(call.body));
    const std::string to_sign = "SDK-HMAC-SHA256\n" + *date + "\n" + simulator::sha256_hex(canonical);
    if (auth.signature != simulator::to_hex(simulator::hmac(EVP_sha256(), creds.secret_access_key, to_sign)))
        return "signature mismatch";
    return {};
}

void smn_api::reset() {
    accepted_.clear();
    next_id_ = 1;
}

response smn_api::handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                         std::int64_t now_unix_ms, json::object& record) {
    // /v2/{project_id}/notifications/sms/{promotion|report}
    const std::string path(call.path());
    const std::string prefix = "/v2/";
    const std::size_t pid_end = path.find('/', prefix.size());
    const std::string rest = pid_end == std::string::npos ? "" : path.substr(pid_end);
    std::string action;
    if (path.rfind(prefix, 0) == 0 && rest == "/notifications/sms/promotion" && call.method == "POST")
        action = "PromotionSmsPublish";
    else if (path.rfind(prefix, 0) == 0 && rest == "/notifications/sms/report" && call.method == "GET")
        action = "ListSmsMsgReport";
    else
        return gateway_error(404, "APIGW.0101", "The API does not exist or has not been published in the environment");
    record["action"] = action;

    // The gateway authenticates before SMN sees the call.
    const std::string problem = authentication_problem(call, credentials_, now_unix_ms);
    record["auth_ok"] = problem.empty();
    if (!problem.empty()) {
        record["auth_problem"] = problem;
        return gateway_error(401, "APIGW.0301", "Incorrect IAM authentication information: " + problem);
    }
    const std::string project = path.substr(prefix.size(), pid_end - prefix.size());
    const std::string* header_project = call.header("X-Project-Id");
    if (project != credentials_.project_id || (header_project != nullptr && *header_project != project)) {
        record["problem"] = "wrong project id";
        return smn_error(400, "SMN.0001", "Parameter: project_id is invalid.");
    }
    if (vendor_error)
        return gateway_error(429, "APIGW.0308", "The throttling threshold has been reached");
    return action == "PromotionSmsPublish" ? publish(call, settings, now_unix_ms, record)
                                           : report(call, now_unix_ms, record);
}

response smn_api::publish(const simulator::request& call, const simulator::faults& settings, std::int64_t now_unix_ms,
                          json::object& record) {
    const auto refuse = [&](const std::string& code, const std::string& message) {
        record["problem"] = message;
        return smn_error(400, code, message);
    };
    const std::string* type = call.header("Content-Type");
    if (type == nullptr || simulator::lower(*type).rfind("application/json", 0) != 0)
        return refuse("SMN.0001", "Content-Type must be application/json");
    boost::system::error_code ec;
    const json::value parsed = json::parse(call.body, ec);
    if (ec || !parsed.is_object())
        return refuse("SMN.0001", "request body is not a JSON object");
    const json::object& body = parsed.get_object();

    if (!is_hex32(body.if_contains("sms_template_id")))
        return refuse("SMN.0031", "Parameter: template_id is invalid.");
    const json::value* endpoints = body.if_contains("endpoints");
    if (endpoints == nullptr || !endpoints->is_array() || endpoints->get_array().empty())
        return refuse("SMN.0012", "Parameter: Endpoint is invalid.");
    const json::array& list = endpoints->get_array();
    json::array received;
    for (const json::value& e : list) {
        if (!e.is_string() || !valid_endpoint(e.get_string()))
            return refuse("SMN.0012", "Parameter: Endpoint is invalid.");
        received.push_back(e);
    }
    record["numbers"] = received;
    record["count"] = list.size();
    if (list.size() > max_endpoints)
        return refuse("SMN.0012", "at most 1000 endpoints per request, got " + std::to_string(list.size()));
    std::string sign_id, extend_code;
    if (const json::value* v = body.if_contains("sign_id")) {
        if (!v->is_string() || v->get_string().empty())
            return refuse("SMN.0001", "Parameter: sign_id is invalid.");
        sign_id = v->get_string();
    }
    if (const json::value* v = body.if_contains("extend_code")) {
        if (!v->is_string() || v->get_string().size() > 32)
            return refuse("SMN.0001", "Parameter: extend_code is invalid.");
        extend_code = v->get_string();
    }
    if (const json::value* v = body.if_contains("extend_src_id")) {
        if (!v->is_string() || v->get_string().size() > 8 || !digits_only(v->get_string()))
            return refuse("SMN.0001", "Parameter: extend_src_id is invalid.");
    }

    // "去重规则是“字符串完全匹配”": exact strings, so 18888888888 and +8618888888888 are two numbers.
    std::set<std::string> seen;
    json::array result, accepted;
    for (const json::value& e : list) {
        const std::string endpoint(e.get_string());
        if (!seen.insert(endpoint).second)
            continue;
        if (blocked(settings, endpoint)) {
            result.push_back({{"code", "SMN.0087"}, {"message", "Fail send this message."}, {"endpoint", without_plus(endpoint)}});
            continue;
        }
        const std::string message_id = request_id(next_id_++ * 104729ULL);
        accepted_.push_back({message_id, endpoint, sign_id, extend_code, now_unix_ms});
        accepted.emplace_back(endpoint);
        result.push_back({{"message_id", message_id}, {"endpoint", without_plus(endpoint)}});
    }
    record["accepted"] = accepted;
    return response::json(200, {{"request_id", request_id(next_id_++)}, {"result", std::move(result)}});
}

response smn_api::report(const simulator::request& call, std::int64_t now_unix_ms, json::object& record) {
    const auto refuse = [&](const std::string& code, const std::string& message) {
        record["problem"] = message;
        return smn_error(400, code, message);
    };
    std::int64_t start = 0, end = INT64_MAX, limit = max_report_limit, offset = 0;
    std::string mobile, sign_id;
    for (const auto& [name, value] : query_of(call.target)) {
        if (name == "start_time" || name == "end_time") {
            if (!digits_only(value) || value.size() > 15)
                return refuse("SMN.0001", "Parameter: " + name + " is invalid.");
            (name == "start_time" ? start : end) = to_int(value);
        } else if (name == "limit" || name == "offset") {
            if (!digits_only(value) || value.size() > 9)
                return refuse("SMN.0015", "Parameter: Offset or limit is invalid.");
            (name == "limit" ? limit : offset) = to_int(value);
        } else if (name == "mobile") {
            mobile = value;
        } else if (name == "sign_id") {
            sign_id = value;
        }
    }
    if (limit < 1 || limit > max_report_limit)
        return refuse("SMN.0015", "Parameter: Offset or limit is invalid.");
    if (start > end)
        return refuse("SMN.0001", "Parameter: start_time is invalid.");

    json::array data;
    std::int64_t count = 0;
    for (const accepted_message& m : accepted_) {
        const std::int64_t delivered_at = m.accepted_at_ms + receipt_delay_ms_;
        if (m.accepted_at_ms < start || m.accepted_at_ms > end || delivered_at > now_unix_ms)
            continue;
        if ((!mobile.empty() && without_plus(mobile) != without_plus(m.endpoint)) || (!sign_id.empty() && sign_id != m.sign_id))
            continue;
        if (count++ < offset || static_cast<std::int64_t>(data.size()) >= limit)
            continue;
        data.push_back({{"message_id", m.message_id},
                        {"status", 0},
                        {"sign_id", m.sign_id},
                        {"status_desc", "DELIVRD"},
                        {"fee_num", 1},
                        {"extend_code", m.extend_code},
                        {"nation_code", ""},
                        {"mobile", m.endpoint},
                        {"submit_time", std::to_string(m.accepted_at_ms)},
                        {"deliver_time", std::to_string(delivered_at)}});
    }
    record["count"] = count;
    return response::json(200, {{"request_id", request_id(next_id_++)}, {"count", count}, {"data", std::move(data)}});
}

} // namespace switchboard::smn_simulator
