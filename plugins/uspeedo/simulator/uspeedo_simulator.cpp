#include "uspeedo_simulator.hpp"
#include "vendor_crypto.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>

namespace switchboard::uspeedo_simulator {

namespace json = boost::json;
using simulator::response;

namespace {

constexpr std::size_t max_numbers_per_call = 1000;
constexpr std::size_t max_sessions_per_query = 100;
constexpr std::int64_t timestamp_window_s = 300;
constexpr std::int64_t auth_error = 215398;
constexpr std::int64_t missing_params = 160;
constexpr std::int64_t service_unavailable = 150;

response answer(const std::string& action, std::int64_t ret_code, const std::string& message, json::object extra = {}) {
    extra["RetCode"] = ret_code;
    extra["Action"] = action + "Response";
    extra["Message"] = message;
    return response::json(200, extra);
}


void flatten(const json::value& v, std::string& out) {
    switch (v.kind()) {
    case json::kind::string: out += v.get_string(); break;
    case json::kind::int64: out += std::to_string(v.get_int64()); break;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case json::kind::double_: {
        char buffer[64];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, v.get_double()).ptr;
        out.append(buffer, end);
        break;
    }
    case json::kind::array:
        for (const json::value& item : v.get_array())
            flatten(item, out);
        break;
    case json::kind::object: {
        std::vector<std::pair<std::string_view, const json::value*>> fields;
        for (const auto& [key, value] : v.get_object())
            fields.emplace_back(key, &value);
        std::sort(fields.begin(), fields.end());
        for (const auto& [key, value] : fields) {
            out += key;
            flatten(*value, out);
        }
        break;
    }
    case json::kind::null: break;
    }
}

bool contains_null(const json::value& v) {
    if (v.is_null())
        return true;
    if (v.is_array())
        return std::any_of(v.get_array().begin(), v.get_array().end(), contains_null);
    if (v.is_object())
        return std::any_of(v.get_object().begin(), v.get_object().end(),
                           [](const json::key_value_pair& kv) { return contains_null(kv.value()); });
    return false;
}

// Checks the action style's signed headers; returns what is wrong, or an empty string.
std::string check_signature(const simulator::request& call, const json::object& body, const credentials& creds,
                            std::int64_t now_unix_ms) {
    const std::string* key = call.header("X-Access-Key-Id");
    const std::string* sig = call.header("X-Signature");
    const std::string* timestamp = call.header("X-Timestamp");
    const std::string* nonce = call.header("X-Nonce");
    if (key == nullptr || sig == nullptr || timestamp == nullptr || nonce == nullptr)
        return "missing one of X-Access-Key-Id, X-Signature, X-Timestamp, X-Nonce";
    if (*key != creds.access_key_id)
        return "unknown access key";
    std::int64_t seconds = 0;
    if (std::from_chars(timestamp->data(), timestamp->data() + timestamp->size(), seconds).ec != std::errc())
        return "X-Timestamp is not unix seconds";
    if (std::llabs(seconds - now_unix_ms / 1000) > timestamp_window_s)
        return "X-Timestamp is more than 5 minutes off";
    if (nonce->empty() || nonce->size() > 32)
        return "X-Nonce must be 1 to 32 characters";
    if (*sig != signature(body, creds.access_key_secret))
        return "signature mismatch";
    return {};
}

std::string check_basic(const simulator::request& call, const credentials& creds) {
    const std::string* auth = call.header("Authorization");
    if (auth == nullptr)
        return "missing Authorization";
    if (*auth != "Basic " + simulator::base64(creds.access_key_id + ":" + creds.access_key_secret))
        return "wrong Basic credentials";
    return {};
}

// Checks the fields every Send call must carry; returns what is wrong, or an empty string.
std::string check_task_content(const json::object& body, std::size_t& numbers) {
    const json::value* tasks = body.if_contains("TaskContent");
    if (tasks == nullptr || !tasks->is_array() || tasks->get_array().empty())
        return "TaskContent must be a non-empty array";
    numbers = 0;
    for (const json::value& task : tasks->get_array()) {
        if (!task.is_object())
            return "TaskContent items must be objects";
        const json::object& t = task.get_object();
        if (!t.contains("TemplateId") || !t.at("TemplateId").is_string() || t.at("TemplateId").get_string().empty())
            return "TemplateId is required";
        if (t.contains("SenderId") && !t.at("SenderId").is_string())
            return "SenderId must be a string";
        const json::value* targets = t.if_contains("Target");
        if (targets == nullptr || !targets->is_array() || targets->get_array().empty())
            return "Target must be a non-empty array";
        for (const json::value& target : targets->get_array()) {
            if (!target.is_object() || !target.get_object().contains("Phone") ||
                !target.get_object().at("Phone").is_string())
                return "each Target needs a Phone string";
            if (const json::value* params = target.get_object().if_contains("TemplateParams")) {
                if (!params->is_array())
                    return "TemplateParams must be an array of strings";
                for (const json::value& p : params->get_array())
                    if (!p.is_string())
                        return "TemplateParams must be an array of strings";
            }
            ++numbers;
        }
    }
    if (numbers > max_numbers_per_call)
        return "at most 1000 numbers per request, got " + std::to_string(numbers);
    return {};
}

} // namespace

std::string signature(const json::object& body, const std::string& secret) {
    std::string plaintext;
    flatten(body, plaintext);
    plaintext += secret;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(plaintext.data(), plaintext.size(), digest, &size, EVP_sha1(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

void uspeedo_api::reset() {
    sessions_.clear();
    next_session_ = 1;
}

response uspeedo_api::handle(const simulator::request& call, const simulator::faults& settings, bool vendor_error,
                             std::int64_t now_unix_ms, json::object& record) {
    const std::string_view path = call.path();
    const bool action_style = path == "/api";
    std::string action;
    if (path == "/api/v1/usms/SendBatchUSMSMessage")
        action = "SendBatchUSMSMessage";
    else if (path == "/api/v1/usms/GetUSMSSendReceipt")
        action = "GetUSMSSendReceipt";
    else if (!action_style)
        return response::json(404, {{"RetCode", 404}, {"Message", "no such API path: " + std::string(path)}});
    if (call.method != "POST")
        return response::json(405, {{"RetCode", 405}, {"Message", "POST only"}});

    boost::system::error_code ec;
    json::value parsed = json::parse(call.body, ec);
    if (ec || !parsed.is_object())
        return answer(action.empty() ? "Unknown" : action, missing_params, "request body is not a JSON object");
    const json::object& body = parsed.get_object();
    if (contains_null(parsed))
        return answer(action.empty() ? "Unknown" : action, missing_params, "request body contains null");
    if (action_style) {
        const json::value* a = body.if_contains("Action");
        action = a != nullptr && a->is_string() ? std::string(a->get_string()) : "";
    }
    record["action"] = action;
    record["style"] = action_style ? "action" : "v1";

    const std::string auth_problem = action_style ? check_signature(call, body, credentials_, now_unix_ms)
                                                  : check_basic(call, credentials_);
    record["auth_ok"] = auth_problem.empty();
    if (!auth_problem.empty()) {
        record["auth_problem"] = auth_problem;
        return answer(action.empty() ? "Unknown" : action, auth_error, "Failed to parse token");
    }
    if (action_style || body.contains("AccountId")) {
        const json::value* account = body.if_contains("AccountId");
        if (account == nullptr || !account->is_int64() || account->get_int64() != credentials_.account_id)
            return answer(action, missing_params, "AccountId is missing or not this account's project");
    }
    if (vendor_error)
        return answer(action, service_unavailable, "service unavailable (injected)");
    if (action == "SendBatchUSMSMessage")
        return send_batch(body, settings, now_unix_ms, record);
    if (action == "GetUSMSSendReceipt")
        return receipts(body, now_unix_ms, record);
    return answer(action.empty() ? "Unknown" : action, missing_params, "unknown Action '" + action + "'");
}

response uspeedo_api::send_batch(const json::object& body, const simulator::faults& settings, std::int64_t now_unix_ms,
                                 json::object& record) {
    std::size_t numbers = 0;
    if (const std::string problem = check_task_content(body, numbers); !problem.empty()) {
        record["problem"] = problem;
        return answer("SendBatchUSMSMessage", missing_params, problem);
    }
    const std::string session = "sim-session-" + std::to_string(next_session_++);
    json::array received, accepted, fail_content;
    std::vector<accepted_message> kept;
    for (const json::value& task : body.at("TaskContent").get_array()) {
        json::array failed_targets;
        for (const json::value& target : task.at("Target").get_array()) {
            const json::object& t = target.get_object();
            const std::string phone(t.at("Phone").get_string());
            received.emplace_back(phone);
            if (simulator::listed(settings.block_list, phone)) {
                json::object failed = t;
                failed["FailureDetails"] = "phone in the black list";
                failed_targets.push_back(std::move(failed));
                continue;
            }
            const json::value* user = t.if_contains("UserId");
            const receipt fate = simulator::listed(settings.silent_list, phone)        ? receipt::never
                                 : simulator::listed(settings.undelivered_list, phone) ? receipt::undelivered
                                                                                       : receipt::delivered;
            kept.push_back({phone, user != nullptr ? std::string(user->get_string()) : "", now_unix_ms, fate});
            accepted.emplace_back(phone);
        }
        if (!failed_targets.empty())
            fail_content.push_back({{"TemplateId", task.at("TemplateId")},
                                    {"SenderId", task.get_object().contains("SenderId") ? task.at("SenderId") : ""},
                                    {"Target", std::move(failed_targets)}});
    }
    record["numbers"] = received;
    record["accepted"] = accepted;
    record["count"] = numbers;

    json::object result{{"ReqUuid", "sim-req-" + session}, {"SuccessCount", accepted.size()}};
    if (!kept.empty()) {
        result["SessionNo"] = session;
        record["session_no"] = session;
        sessions_[session] = std::move(kept);
    }
    if (!fail_content.empty())
        result["FailContent"] = std::move(fail_content);
    return answer("SendBatchUSMSMessage", 0, "submit success", std::move(result));
}

response uspeedo_api::receipts(const json::object& body, std::int64_t now_unix_ms, json::object& record) {
    const json::value* set = body.if_contains("SessionNoSet");
    if (set == nullptr || !set->is_array() || set->get_array().empty())
        return answer("GetUSMSSendReceipt", missing_params, "SessionNoSet must be a non-empty array");
    if (set->get_array().size() > max_sessions_per_query)
        return answer("GetUSMSSendReceipt", missing_params, "at most 100 SessionNo per query");
    json::array data;
    for (const json::value& session : set->get_array()) {
        if (!session.is_string())
            return answer("GetUSMSSendReceipt", missing_params, "SessionNoSet must hold strings");
        auto it = sessions_.find(std::string(session.get_string()));
        if (it == sessions_.end())
            continue;
        json::array receipts;
        for (const accepted_message& m : it->second) {
            if (m.fate == receipt::never || m.accepted_at_ms + receipt_delay_ms_ > now_unix_ms)
                continue;
            // uSpeedo documents the ReceiptResult values only; the codes are the operators' SMPP/CMPP
            // stat words, as in the console's reports.
            const bool delivered = m.fate == receipt::delivered;
            receipts.push_back({{"Phone", m.phone}, {"CostCount", 1}, {"ReceiptResult", delivered ? "Success" : "Fail"},
                                {"ReceiptCode", delivered ? "DELIVRD" : "UNDELIV"},
                                {"ReceiptDesc", delivered ? "delivered" : "undeliverable: the handset did not take the message"},
                                {"ReceiptTime", (m.accepted_at_ms + receipt_delay_ms_) / 1000},
                                {"UserId", m.user_id}});
        }
        data.push_back({{"SessionNo", session}, {"ReceiptSet", std::move(receipts)}});
    }
    record["sessions"] = *set;
    return answer("GetUSMSSendReceipt", 0, "", {{"Data", std::move(data)}});
}

} // namespace switchboard::uspeedo_simulator
