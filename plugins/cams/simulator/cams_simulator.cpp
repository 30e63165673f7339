#include "cams_simulator.hpp"
#include "vendor_crypto.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>

namespace switchboard::cams_simulator {

namespace json = boost::json;
using simulator::response;

namespace {

constexpr std::size_t max_numbers_per_call = 1000;
constexpr std::size_t max_sections = 10;
constexpr std::size_t max_products = 30;
constexpr std::int64_t clock_window_ms = 15 * 60 * 1000;   // x-acs-date / Timestamp skew allowed
constexpr std::int64_t window_ms = 1000;                   // the QPS limit's sliding window
constexpr const char* action_name = "SendChatappMassMessage";
constexpr const char* version_name = "2020-06-06";
constexpr const char* host_id = "cams.ap-southeast-1.aliyuncs.com";

// ---- crypto and encodings, independent of the plugin's SDK ------------------------------------







using params_map = std::map<std::string, std::string>;

std::string canonical(const params_map& params, bool skip_signature) {
    std::string out;
    for (const auto& [key, value] : params) {  // std::map: sorted by byte
        if (skip_signature && key == "Signature")
            continue;
        if (!out.empty())
            out += '&';
        out += percent_encode(key) + "=" + percent_encode(value);
    }
    return out;
}

// "2023-10-26T09:01:01Z" -> Unix ms, or nullopt.
std::optional<std::int64_t> parse_iso8601(const std::string& text) {
    std::tm parts{};
    const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
    if (end == nullptr || *end != '\0')
        return std::nullopt;
    return static_cast<std::int64_t>(timegm(&parts)) * 1000;
}

// Splits "a=1&b=2" into `out`; false on a malformed escape or a repeated name.
bool parse_query(std::string_view query, params_map& out, std::string& problem) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty())
            continue;
        const std::size_t eq = pair.find('=');
        const std::optional<std::string> key = percent_decode(pair.substr(0, eq));
        const std::optional<std::string> value =
            percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!key || !value) {
            problem = "malformed percent-encoding in '" + std::string(pair) + "'";
            return false;
        }
        if (!out.emplace(*key, *value).second) {
            problem = "parameter '" + *key + "' given twice";
            return false;
        }
    }
    return true;
}

// ---- answers ---------------------------------------------------------------------------------

response error_answer(int status, const std::string& code, const std::string& message, const std::string& request_id) {
    return response::json(status, {{"RequestId", request_id},
                                   {"HostId", host_id},
                                   {"Code", code},
                                   {"Message", message},
                                   {"Recommend", "https://api.aliyun.com/troubleshoot?q=" + code}});
}

struct problem {
    int status = 400;
    std::string code;
    std::string message;
    explicit operator bool() const { return !code.empty(); }
};

problem signature_problem(std::string message) { return {400, "SignatureDoesNotMatch", std::move(message)}; }

// ---- ACS3-HMAC-SHA256 ------------------------------------------------------------------------

problem check_acs3(const simulator::request& call, const params_map& params, const credentials& creds,
                   std::int64_t now_unix_ms, std::string& access_key_id, std::string& nonce) {
    const std::string& authorization = *call.header("Authorization");
    const std::string prefix = "ACS3-HMAC-SHA256 ";
    std::map<std::string, std::string> parts;
    std::string_view rest = std::string_view(authorization).substr(prefix.size());
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view part = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const std::size_t eq = part.find('=');
        if (eq == std::string_view::npos)
            return signature_problem("Authorization part '" + std::string(part) + "' is not name=value");
        parts[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
    }
    for (const char* needed : {"Credential", "SignedHeaders", "Signature"})
        if (parts.count(needed) == 0)
            return signature_problem(std::string("Authorization lacks ") + needed +
                                     " (the parts are separated by ',' without spaces)");
    access_key_id = parts["Credential"];
    if (access_key_id != creds.access_key_id)
        return {404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."};

    std::vector<std::string> signed_names;
    for (std::string_view list = parts["SignedHeaders"]; !list.empty();) {
        const std::size_t semi = list.find(';');
        signed_names.emplace_back(list.substr(0, semi));
        list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
    }
    for (const char* needed : {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                               "x-acs-content-sha256"})
        if (std::find(signed_names.begin(), signed_names.end(), needed) == signed_names.end())
            return signature_problem(std::string("SignedHeaders must include ") + needed);

    const std::string* date = call.header("x-acs-date");
    const std::optional<std::int64_t> at = date != nullptr ? parse_iso8601(*date) : std::nullopt;
    if (!at)
        return signature_problem("x-acs-date must be yyyy-MM-ddTHH:mm:ssZ");
    if (std::llabs(*at - now_unix_ms) > clock_window_ms)
        return signature_problem("x-acs-date " + *date + " is more than 15 minutes from the server's time");
    const std::string* content_hash = call.header("x-acs-content-sha256");
    const std::string body_hash = simulator::sha256_hex(call.body);
    if (content_hash == nullptr || *content_hash != body_hash)
        return signature_problem("x-acs-content-sha256 is not the SHA-256 of the body");
    const std::string* action = call.header("x-acs-action");
    if (action == nullptr || *action != action_name)
        return {400, "InvalidAction.NotFound", "x-acs-action must be SendChatappMassMessage"};
    const std::string* version = call.header("x-acs-version");
    if (version == nullptr || *version != version_name)
        return {400, "InvalidVersion", "x-acs-version must be 2020-06-06"};
    nonce = call.header("x-acs-signature-nonce") != nullptr ? *call.header("x-acs-signature-nonce") : "";
    if (nonce.empty())
        return signature_problem("x-acs-signature-nonce is empty");

    std::string canonical_headers;
    for (const std::string& name : signed_names) {
        std::vector<std::string> values;
        for (const core::http_header& h : call.headers)
            if (simulator::lower(h.name) == name)
                values.push_back(simulator::trim(h.value));
        if (values.empty())
            return signature_problem("signed header '" + name + "' is not in the request");
        std::sort(values.begin(), values.end());
        std::string joined;
        for (const std::string& v : values)
            joined += (joined.empty() ? "" : ",") + v;
        canonical_headers += name + ":" + joined + "\n";
    }
    const std::string canonical_request = call.method + "\n" + std::string(call.path()) + "\n" +
                                          canonical(params, false) + "\n" + canonical_headers + "\n" +
                                          parts["SignedHeaders"] + "\n" + body_hash;
    const std::string string_to_sign = "ACS3-HMAC-SHA256\n" + simulator::sha256_hex(canonical_request);
    const std::string expected = simulator::hmac(EVP_sha256(), creds.access_key_secret, string_to_sign);
    if (parts["Signature"] != simulator::to_hex(expected))
        return signature_problem("The request signature does not conform to Aliyun standards. server string to sign is:" +
                                 string_to_sign);
    return {};
}

// ---- RPC v1 HMAC-SHA1 ------------------------------------------------------------------------

problem check_v1(const simulator::request& call, const params_map& params, const credentials& creds,
                 std::int64_t now_unix_ms, std::string& access_key_id, std::string& nonce) {
    for (const char* needed : {"AccessKeyId", "Action", "Version", "SignatureMethod", "SignatureVersion",
                               "SignatureNonce", "Timestamp", "Signature"})
        if (params.count(needed) == 0)
            return {400, "MissingParameter", std::string("The input parameter \"") + needed +
                                                 "\" that is mandatory for processing this request is not supplied."};
    access_key_id = params.at("AccessKeyId");
    if (access_key_id != creds.access_key_id)
        return {404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."};
    if (params.at("SignatureMethod") != "HMAC-SHA1")
        return signature_problem("SignatureMethod must be HMAC-SHA1");
    if (params.at("SignatureVersion") != "1.0")
        return signature_problem("SignatureVersion must be 1.0");
    // Alibaba's official SDK sends "json": the format's name is taken in any case.
    if (params.count("Format") != 0 && simulator::lower(params.at("Format")) != "json" &&
        simulator::lower(params.at("Format")) != "xml")
        return {400, "InvalidParameter.Format", "Format must be JSON or XML (in any case)"};
    const std::optional<std::int64_t> at = parse_iso8601(params.at("Timestamp"));
    if (!at)
        return {400, "InvalidTimeStamp.Format", "Timestamp must be yyyy-MM-ddTHH:mm:ssZ"};
    if (std::llabs(*at - now_unix_ms) > clock_window_ms)
        return {400, "InvalidTimeStamp.Expired", "Timestamp is more than 15 minutes from the server's time"};
    if (params.at("Action") != action_name)
        return {400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."};
    if (params.at("Version") != version_name)
        return {400, "InvalidVersion", "Specified parameter Version is not valid."};
    nonce = params.at("SignatureNonce");
    const std::string string_to_sign = call.method + "&" + percent_encode("/") + "&" + percent_encode(canonical(params, true));
    const std::string expected = simulator::base64(simulator::hmac(EVP_sha1(), creds.access_key_secret + "&", string_to_sign));
    if (params.at("Signature") != expected)
        return signature_problem("Specified signature is not matched with our calculation. server string to sign is:" +
                                 string_to_sign);
    return {};
}

// ---- SendChatappMassMessage's parameters -------------------------------------------------------

bool digits_only(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<std::int64_t> integer(const std::string& text) {
    if (!digits_only(text) || text.size() > 12)
        return std::nullopt;
    return std::stoll(text);
}

problem bad(std::string code, std::string message) { return {400, std::move(code), std::move(message)}; }

problem check_product_action(const json::value& value) {
    if (!value.is_object())
        return bad("InvalidParameter.ProductAction", "ProductAction must be an object");
    const json::value* sections = value.get_object().if_contains("Sections");
    if (sections == nullptr || !sections->is_array() || sections->get_array().empty())
        return bad("InvalidParameter.ProductAction", "ProductAction.Sections must be a non-empty array");
    if (sections->get_array().size() > max_sections)
        return bad("InvalidParameter.ProductAction", "at most 10 sections");
    std::size_t products = 0;
    for (const json::value& s : sections->get_array()) {
        const json::object* section = s.if_object();
        const json::value* items = section != nullptr ? section->if_contains("ProductItems") : nullptr;
        if (items == nullptr || !items->is_array())
            return bad("InvalidParameter.ProductAction", "each section needs ProductItems");
        for (const json::value& item : items->get_array())
            if (!item.is_object() || !item.get_object().contains("ProductRetailerId"))
                return bad("InvalidParameter.ProductAction", "each product needs ProductRetailerId");
        products += items->get_array().size();
    }
    if (products > max_products)
        return bad("InvalidParameter.ProductAction", "at most 30 products");
    return {};
}

problem check_sender(const json::value& item, const std::string& channel) {
    static const std::set<std::string_view> known = {"To", "TemplateParams", "Payload", "FlowAction", "ProductAction"};
    if (!item.is_object())
        return bad("InvalidParameter.SenderList", "SenderList items must be objects");
    const json::object& sender = item.get_object();
    for (const auto& field : sender)
        if (known.count(field.key()) == 0)
            return bad("InvalidParameter.SenderList", "unknown SenderList field " + std::string(field.key()));
    const json::value* to = sender.if_contains("To");
    if (to == nullptr || !to->is_string() || to->get_string().empty())
        return bad("InvalidParameter.PhoneNumberError", "each SenderList item needs To");
    const std::string_view number = to->get_string();
    if ((channel == "whatsapp" || channel == "viber") &&
        (!digits_only(number) || number.size() < 7 || number.size() > 15))
        return bad("InvalidParameter.PhoneNumberError", "To must be digits with the country code, got " +
                                                            std::string(number));
    if (const json::value* params = sender.if_contains("TemplateParams")) {
        if (!params->is_object())
            return bad("InvalidParameter.TemplateParams", "TemplateParams must be an object");
        for (const auto& p : params->get_object())
            if (!p.value().is_string())
                return bad("InvalidParameter.TemplateParams", "TemplateParams values must be strings");
    }
    if (const json::value* payload = sender.if_contains("Payload")) {
        if (!payload->is_array())
            return bad("InvalidParameter.Payload", "Payload must be an array of strings");
        for (const json::value& p : payload->get_array())
            if (!p.is_string())
                return bad("InvalidParameter.Payload", "Payload must be an array of strings");
    }
    if (const json::value* flow = sender.if_contains("FlowAction"); flow != nullptr && !flow->is_object())
        return bad("InvalidParameter.FlowAction", "FlowAction must be an object");
    if (const json::value* product = sender.if_contains("ProductAction")) {
        if (channel != "whatsapp")
            return bad("InvalidParameter.ProductAction", "ProductAction is for whatsapp only");
        if (problem p = check_product_action(*product))
            return p;
    }
    return {};
}

std::string param(const params_map& params, const std::string& name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size())
            return std::nullopt;
        int value = 0;
        for (std::size_t k = 1; k <= 2; ++k) {
            const char c = text[i + k];
            const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit < 0)
                return std::nullopt;
            value = value * 16 + digit;
        }
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

std::string percent_encode(std::string_view text) {
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

void cams_api::reset() {
    next_group_ = 1;
    windows_.clear();
    nonces_.clear();
}

bool cams_api::fresh_nonce(const std::string& access_key_id, const std::string& nonce, std::int64_t now_unix_ms) {
    std::erase_if(nonces_, [&](const auto& item) { return item.second < now_unix_ms - clock_window_ms; });
    return nonces_.emplace(access_key_id + "\n" + nonce, now_unix_ms).second;
}

bool cams_api::admit(const std::string& access_key_id, std::int64_t now_unix_ms) {
    std::deque<std::int64_t>& window = windows_[access_key_id];
    while (!window.empty() && window.front() <= now_unix_ms - window_ms)
        window.pop_front();
    if (window.size() >= credentials_.requests_per_second)
        return false;
    window.push_back(now_unix_ms);
    return true;
}

response cams_api::handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                          std::int64_t now_unix_ms, json::object& record) {
    const std::string request_id = "SIM-" + std::to_string(now_unix_ms) + "-" + std::to_string(next_group_);
    if (call.path() != "/")
        return error_answer(404, "InvalidAction.NotFound", "no such API path: " + std::string(call.path()), request_id);
    if (call.method != "POST" && call.method != "GET")
        return error_answer(405, "UnsupportedHTTPMethod", "RPC APIs take GET or POST", request_id);

    params_map query_params;
    std::string problem_text;
    const std::size_t question = call.target.find('?');
    if (question != std::string::npos &&
        !parse_query(std::string_view(call.target).substr(question + 1), query_params, problem_text))
        return error_answer(400, "InvalidParameter", problem_text, request_id);
    // Older SDKs send the parameters as a form body: they count as parameters too (and v1 signs
    // them; ACS3 signs the query and the body's hash).
    params_map params = query_params;
    const std::string* content_type = call.header("Content-Type");
    if (content_type != nullptr && content_type->rfind("application/x-www-form-urlencoded", 0) == 0) {
        params_map form;
        if (!parse_query(call.body, form, problem_text))
            return error_answer(400, "InvalidParameter", problem_text, request_id);
        for (auto& [key, value] : form)
            if (!params.emplace(key, value).second)
                return error_answer(400, "InvalidParameter", "parameter '" + key + "' given twice", request_id);
    }

    const std::string* authorization = call.header("Authorization");
    const bool acs3 = authorization != nullptr && authorization->rfind("ACS3-HMAC-SHA256 ", 0) == 0;
    record["style"] = acs3 ? "acs3" : "v1";
    record["action"] = acs3 ? (call.header("x-acs-action") != nullptr ? *call.header("x-acs-action") : "")
                            : param(params, "Action");
    std::string access_key_id, nonce;
    problem auth;
    if (acs3)
        auth = check_acs3(call, query_params, credentials_, now_unix_ms, access_key_id, nonce);
    else if (params.count("Signature") != 0 || params.count("AccessKeyId") != 0)
        auth = check_v1(call, params, credentials_, now_unix_ms, access_key_id, nonce);
    else
        auth = bad("MissingParameter", "neither an ACS3-HMAC-SHA256 Authorization header nor a Signature parameter");
    record["auth_ok"] = !auth;
    if (auth) {
        record["auth_problem"] = auth.message;
        return error_answer(auth.status, auth.code, auth.message, request_id);
    }
    if (!fresh_nonce(access_key_id, nonce, now_unix_ms)) {
        record["problem"] = "nonce used";
        return error_answer(400, "SignatureNonceUsed", "Specified signature nonce was used already.", request_id);
    }
    if (vendor_error) {
        response r = error_answer(400, "System.LimitControl", "The system is under flow control.", request_id);
        r.headers.push_back({"x-acs-retry-after", "1000"});
        return r;
    }
    if (!admit(access_key_id, now_unix_ms)) {
        record["problem"] = "throttled";
        return error_answer(400, "Throttling.User", "Request was denied due to user flow control.", request_id);
    }
    // Signature-only parameters are not the API's.
    for (const char* name : {"Format", "Version", "Action", "AccessKeyId", "SignatureMethod", "SignatureVersion",
                             "SignatureNonce", "Timestamp", "Signature"})
        if (!acs3)
            params.erase(name);
    response r = send(params, settings, now_unix_ms, record);
    if (r.status != 200) {
        const json::value body = json::parse(r.body);
        record["problem"] = body.at("Code");
    }
    return r;
}

response cams_api::send(const params_map& params, const simulator::faults& settings, std::int64_t now_unix_ms,
                        json::object& record) {
    const std::string request_id = "SIM-" + std::to_string(now_unix_ms) + "-" + std::to_string(next_group_);
    const auto fail = [&](const problem& p) { return error_answer(p.status, p.code, p.message, request_id); };
    static const std::set<std::string> channels = {"whatsapp", "messenger", "instagram", "viber"};
    const std::string channel = param(params, "ChannelType");
    if (channel.empty())
        return fail(bad("InvalidParameter.ChannelTypeNotEmpty", "ChannelType is required"));
    if (channels.count(channel) == 0)
        return fail(bad("InvalidParameter.ChannelTypeNotSupport", "ChannelType " + channel + " is not supported"));
    const std::string from = param(params, "From");
    if (from.empty())
        return fail(bad("InvalidParameter.FromNotEmpty", "From is required"));
    if (channel == "whatsapp" && !digits_only(from))
        return fail(bad("InvalidParameter.FromOnlyNumeric", "From must be digits only"));
    if (param(params, "Language").empty())
        return fail(bad("InvalidParameter.LanguageNotEmpty", "Language is required"));
    if (param(params, "TemplateCode").empty() && param(params, "TemplateName").empty())
        return fail(bad("InvalidParameter.TemplateCodeNotEmpty", "TemplateCode or TemplateName is required"));
    if (param(params, "CustSpaceId") != credentials_.cust_space_id)
        return fail(bad("InvalidParameter.CustSpaceId", "CustSpaceId is missing or not this account's instance"));
    if (const std::string d = param(params, "FallBackDuration"); !d.empty()) {
        const std::optional<std::int64_t> v = integer(d);
        if (!v || *v < 60 || *v > 43200)
            return fail(bad("InvalidParameter.FallBackDuration", "FallBackDuration must be 60 to 43200"));
    }
    if (const std::string rule = param(params, "FallBackRule"); !rule.empty() && rule != "undelivered" && rule != "sentFailed")
        return fail(bad("InvalidParameter.FallBackRule", "FallBackRule must be undelivered or sentFailed"));
    if (const std::string ttl = param(params, "Ttl"); !ttl.empty()) {
        const std::optional<std::int64_t> v = integer(ttl);
        if (!v || *v < 30 || *v > 1209600)
            return fail(bad("InvalidParameter.Ttl", "Ttl must be 30 to 1209600"));
    }
    // The seed's table lists "pormotion" and "transaction" (its sample value is "promotion"): accept all three.
    if (const std::string label = param(params, "Label");
        !label.empty() && label != "pormotion" && label != "promotion" && label != "transaction")
        return fail(bad("InvalidParameter.Label", "Label must be pormotion, promotion or transaction"));

    boost::system::error_code ec;
    const json::value list = json::parse(param(params, "SenderList"), ec);
    if (ec || !list.is_array() || list.get_array().empty())
        return fail(bad("InvalidParameter.SenderList", "SenderList must be a JSON string of a non-empty array"));
    if (list.get_array().size() > max_numbers_per_call)
        return fail(bad("InvalidParameter.SenderList", "at most 1000 numbers per request, got " +
                                                           std::to_string(list.get_array().size())));
    for (const json::value& item : list.get_array())
        if (problem p = check_sender(item, channel))
            return fail(p);

    const std::string group = "sim-group-" + std::to_string(next_group_++);
    const std::string task_id = param(params, "TaskId");
    json::array numbers, accepted, blocked_numbers, undelivered, silent, receipts;
    for (const json::value& item : list.get_array()) {
        const std::string to(item.at("To").get_string());
        numbers.emplace_back(to);
        const std::string message_id = group + "-" + std::to_string(numbers.size());
        // CAMS takes the whole batch; a refused or undeliverable number is reported later, by its
        // receipt, which echoes the call's TaskId (CAMS's default: the MessageId). Only the final
        // status is simulated, not the Sent before it.
        json::object receipt{{"MessageId", message_id}, {"From", from}, {"To", to},
                             {"Timestamp", now_unix_ms}, {"TaskId", task_id.empty() ? message_id : task_id},
                             {"MsgFrameType", "template"}, {"Type", "TEMPLATE"}};
        const bool refused = simulator::listed(settings.block_list, to);
        if (refused || simulator::listed(settings.undelivered_list, to)) {
            (refused ? blocked_numbers : undelivered).emplace_back(to);
            receipt["Status"] = "Failed";
            receipt["StatusDescription"] = "failed";
            receipt["ErrorCode"] = "131026";
            receipt["ErrorDescription"] = "131026:Receiver is incapable of receiving this message(Message Undeliverable.)";
        } else {
            accepted.emplace_back(to);
            receipt["Status"] = "Delivered";
            receipt["StatusDescription"] = "delivered";
        }
        if (simulator::listed(settings.silent_list, to))
            silent.emplace_back(to);
        else
            receipts.push_back(std::move(receipt));
    }
    record["numbers"] = numbers;
    record["count"] = numbers.size();
    record["accepted"] = accepted;
    record["blocked"] = blocked_numbers;
    record["undelivered"] = undelivered;
    record["silent"] = silent;  // accepted, and no receipt will ever name them
    record["group_message_id"] = group;
    record["receipts"] = receipts;  // the ChatAppStatus array CAMS pushes (receipt_callbacks), for tests to replay
    return response::json(200, {{"RequestId", request_id}, {"Code", "OK"}, {"Message", "OK"},
                                {"GroupMessageId", group}, {"AccessDeniedDetail", ""}});
}

std::vector<core::http_request> cams_api::receipt_callbacks(const json::object& record, const std::string& receipt_url) {
    const json::value* receipts = record.if_contains("receipts");
    if (receipts == nullptr || !receipts->is_array() || receipts->get_array().empty())
        return {};
    // One HTTP push per call, its body the JSON array of ChatAppStatus reports (VENDORS.md §3.5).
    return {{"POST", receipt_url, {{"Content-Type", "application/json"}}, json::serialize(*receipts)}};
}

} // namespace switchboard::cams_simulator
