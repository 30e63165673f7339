// uSpeedo SMS: sends with SendBatchUSMSMessage and pulls delivery receipts with GetUSMSSendReceipt.
// The vendor's documents are shared/seeds/001 and 002 (SendBatchUSMSMessage) and VENDORS.md §2.
//
// Request, api_style "action" (the documented endpoint, SHA-1 signed headers):
//   POST {endpoint}/api   X-Access-Key-Id, X-Signature, X-Timestamp, X-Nonce
//   {"AccountId":1,"Action":"SendBatchUSMSMessage","TaskContent":[{"SenderId":"","Target":[{"ExtendCode":"1",
//    "Phone":"85255311111","TemplateParams":["123456"],"UserId":"<id>"}],"TemplateId":"UTA..."}]}
//   (keys in byte order, the order the signature takes them in)
// Request, api_style "v1": POST {endpoint}/api/v1/usms/SendBatchUSMSMessage with
//   Authorization: Basic base64(id:secret) and {"TaskContent":[...]} (+ "AccountId" when configured).
// Response: {"RetCode":0,"SessionNo":"...","FailContent":[{"FailureDetails":"...","Target":[...]}]}
//
// Route step: {"template": "UTA...", "sender": "...", "params": ["code"], "extend_code": "...",
//              "template_text": "Your code is {1}"}. The host groups a batch by template and sender,
//              so one batch is one TaskContent item.
#include "uspeedo_signature.hpp"

#include <switchboard/sdk.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_map>

namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace uspeedo = switchboard::uspeedo;

namespace {

constexpr std::size_t max_recipients = 1000;          // "up to 1000 numbers" per request (seed 001)
constexpr std::size_t max_session_nos = 100;          // GetUSMSSendReceipt's SessionNoSet limit
constexpr std::size_t max_message_chars = 500;        // docs/sms/started/Rules-2.md
constexpr std::size_t max_extend_code_bytes = 32;
constexpr std::size_t max_user_id_bytes = 64;
constexpr std::int64_t bad_credentials = 215398;      // "Failed to parse token"
constexpr std::int64_t service_unavailable = 150;     // UCloud platform codes, retried by its SDKs
constexpr std::int64_t throttled = 153;
constexpr const char* default_endpoint = "https://api.uspeedo.com";
constexpr const char* fail_content_code = "FailContent";

// ---- text ------------------------------------------------------------------------------------


// A string as is, a number as its decimal text, anything else as nothing.
std::optional<std::string> text_of(const json::value& value) {
    switch (value.kind()) {
    case json::kind::string: return std::string(value.get_string());
    case json::kind::int64: return std::to_string(value.get_int64());
    case json::kind::uint64: return std::to_string(value.get_uint64());
    case json::kind::double_: return uspeedo::shortest_decimal(value.get_double());
    default: return std::nullopt;
    }
}

// ---- the template text: {1}, {2}, ... stand for the step's params in order -------------------

struct placeholder {
    std::size_t begin;   // offset of '{'
    std::size_t end;     // one past '}'
    std::size_t number;  // 1-based
};

std::vector<placeholder> placeholders(std::string_view text) {
    std::vector<placeholder> out;
    for (std::size_t open = text.find('{'); open != std::string_view::npos; open = text.find('{', open + 1)) {
        const std::size_t close = text.find_first_not_of("0123456789", open + 1);
        if (close == std::string_view::npos || close == open + 1 || text[close] != '}')
            continue;
        std::size_t number = 0;
        // A number too large to read is still a placeholder, and one no step can fill.
        if (std::from_chars(text.data() + open + 1, text.data() + close, number).ec != std::errc())
            number = SIZE_MAX;
        if (number >= 1)
            out.push_back({open, close + 1, number});
    }
    return out;
}

std::string render(std::string_view text, const std::vector<std::string>& values) {
    std::string out;
    std::size_t done = 0;
    for (const placeholder& p : placeholders(text)) {
        out.append(text.substr(done, p.begin - done));
        out.append(values.at(p.number - 1));
        done = p.end;
    }
    out.append(text.substr(done));
    return out;
}

// ---- the route step --------------------------------------------------------------------------

struct route_step {
    std::string template_id;
    std::string sender;                       // always sent, "" when none (VENDORS.md §2.3)
    std::vector<std::string> params;          // empty: the template takes none
    std::string extend_code;                  // "" when none
    std::optional<std::string> template_text;
};

std::vector<std::string> param_names(const sdk::object_reader& step) {
    std::vector<std::string> names;
    if (!step.has("params"))
        return names;
    const json::array& items = step.required_array("params");
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string() || items[i].get_string().empty())
            throw sdk::field_error(sdk::index_path("step.params", i), "must be a parameter name (a non-empty string)");
        names.emplace_back(items[i].get_string());
    }
    return names;
}

void check_template_text(const route_step& step) {
    std::size_t highest = 0;
    for (const placeholder& p : placeholders(*step.template_text))
        highest = std::max(highest, p.number);
    if (highest > step.params.size())
        throw sdk::field_error("step.template_text", "uses {" + std::to_string(highest) + "} but step.params names " +
                                                         std::to_string(step.params.size()) + " parameters");
}

// Throws sdk::field_error naming "step.<field>".
route_step read_step(const json::object& object) {
    const sdk::object_reader step(object, "step");
    route_step out;
    out.template_id = step.required_string("template");
    if (out.template_id.empty())
        throw sdk::field_error("step.template", "must not be empty");
    out.sender = step.string_or("sender", "");
    out.params = param_names(step);
    out.extend_code = step.string_or("extend_code", "");
    if (out.extend_code.size() > max_extend_code_bytes)
        throw sdk::field_error("step.extend_code", "is " + std::to_string(out.extend_code.size()) +
                                                       " bytes; uSpeedo takes at most 32");
    out.template_text = step.optional_string("template_text");
    if (out.template_text)
        check_template_text(out);
    return out;
}

// ---- recipients ------------------------------------------------------------------------------

struct checked_recipient {
    sdk::verdict verdict;
    std::vector<std::string> template_params;  // in the step's order, when the verdict is ok
};

checked_recipient refuse(std::string field, std::string reason) {
    return {sdk::verdict::invalid(std::move(field), std::move(reason)), {}};
}

// Checks one recipient against the step and collects its TemplateParams.
checked_recipient check_recipient(const route_step& step, const sdk::recipient& r) {
    if (std::optional<std::string> problem = sdk::e164_problem(r.to, "+85255311111"))
        return refuse("to", *problem);
    checked_recipient out;
    out.template_params.reserve(step.params.size());
    for (const std::string& name : step.params) {
        const auto field = [&name] { return "params." + name; };  // only for a refusal
        const json::value* value = r.params.if_contains(name);
        if (value == nullptr || value->is_null())
            return refuse(field(), "is required by the template");
        std::optional<std::string> text = text_of(*value);
        if (!text)
            return refuse(field(), std::string("must be a string or a number, not ") + sdk::object_reader::kind(*value));
        if (const std::size_t length = sdk::code_points(*text); length > max_message_chars)
            return refuse(field(), "is " + std::to_string(length) + " characters; a message holds at most 500");
        out.template_params.push_back(std::move(*text));
    }
    if (step.template_text) {
        const std::size_t length = sdk::code_points(render(*step.template_text, out.template_params));
        if (length > max_message_chars)
            return refuse("params", "make the message " + std::to_string(length) +
                                        " characters long with step.template_text; uSpeedo sends at most 500");
    }
    return out;
}

// ---- configuration ---------------------------------------------------------------------------

enum class api_style { action, v1 };

struct settings {
    std::string endpoint;  // without a trailing slash
    api_style style = api_style::action;
    std::optional<std::int64_t> account_id;
    std::string access_key_id;
    std::string access_key_secret;
};

void refuse_unknown_settings(const sdk::object_reader& config) {
    static constexpr std::string_view known[] = {"endpoint", "api_style", "account_id", "access_key_id",
                                                 "access_key_secret"};
    for (const auto& item : config.object())
        if (std::find(std::begin(known), std::end(known), item.key()) == std::end(known))
            throw sdk::field_error(sdk::child_path("config", item.key()), "is not a setting of the uspeedo provider");
}

std::string read_endpoint(const sdk::object_reader& config) {
    const sdk::base_url url = sdk::read_base_url(config.string_or("endpoint", default_endpoint), "config.endpoint");
    return url.origin + url.path;
}

api_style read_style(const sdk::object_reader& config) {
    const std::string style = config.string_or("api_style", "action");
    if (style == "action")
        return api_style::action;
    if (style == "v1")
        return api_style::v1;
    throw sdk::field_error("config.api_style", "must be \"action\" or \"v1\", got '" + style + "'");
}

std::optional<std::int64_t> read_account_id(const sdk::object_reader& config, api_style style) {
    const std::optional<std::int64_t> id = config.optional_int("account_id");
    if (!id && style == api_style::action)
        throw sdk::field_error("config.account_id", "is required when api_style is \"action\"");
    if (id && *id < 1)
        throw sdk::field_error("config.account_id", "must be at least 1, got " + std::to_string(*id));
    return id;
}

// Never echoes the value: these are credentials.
std::string read_credential(const sdk::object_reader& config, std::string_view key) {
    std::string value = config.required_string(key);
    if (value.empty())
        throw sdk::field_error(sdk::child_path("config", key), "must not be empty");
    return value;
}

settings read_settings(const sdk::object_reader& config) {
    refuse_unknown_settings(config);
    settings out;
    out.endpoint = read_endpoint(config);
    out.style = read_style(config);
    out.account_id = read_account_id(config, out.style);
    out.access_key_id = read_credential(config, "access_key_id");
    out.access_key_secret = read_credential(config, "access_key_secret");
    return out;
}

// ---- answers ---------------------------------------------------------------------------------


void check_http_status(const sdk::http_response& response) {
    const int status = response.status;
    const std::string said = "uSpeedo answered HTTP " + std::to_string(status);
    if (status == 401 || status == 403)
        throw sdk::error(sdk::status::authentication, said + ": check access_key_id and access_key_secret");
    if (status == 408 || status == 429 || status >= 500)
        throw sdk::error(sdk::status::transient, said + ": " + sdk::excerpt(response.body), response.retry_after_ms());
    if (status < 200 || status > 299)
        throw sdk::error(sdk::status::permanent, said + ": " + sdk::excerpt(response.body));
}

// A proxy or load balancer in front of uSpeedo answers with HTML; the vendor itself never does.
json::object parse_answer(const sdk::http_response& response) {
    boost::system::error_code ec;
    json::value doc = json::parse(response.body, ec);
    if (ec)
        throw sdk::error(sdk::status::transient, "uSpeedo's answer is not JSON: " + sdk::excerpt(response.body),
                         response.retry_after_ms());
    if (!doc.is_object())
        throw sdk::error(sdk::status::transient, "uSpeedo's answer is not a JSON object: " + sdk::excerpt(response.body),
                         response.retry_after_ms());
    return std::move(doc.get_object());
}

void check_ret_code(const json::object& answer, const sdk::http_response& response) {
    const json::value* value = answer.if_contains("RetCode");
    if (value == nullptr || !(value->is_int64() || value->is_uint64()))
        throw sdk::error(sdk::status::transient, "uSpeedo's answer has no integer RetCode: " + sdk::excerpt(response.body),
                         response.retry_after_ms());
    // Boost.JSON reads every code that fits as int64; a uint64 one is some other failure.
    const std::int64_t code = value->is_int64() ? value->get_int64() : -1;
    if (code == 0)
        return;
    const std::string message = sdk::text_field(answer, "Message");
    const std::string said = "RetCode " + text_of(*value).value_or("") + ": " + (message.empty() ? "(no Message)" : message);
    if (code == bad_credentials)
        throw sdk::error(sdk::status::authentication,
                         "uSpeedo refused the credentials (" + said + "): check access_key_id and access_key_secret");
    if (code == service_unavailable || code == throttled)
        throw sdk::error(sdk::status::transient, said, response.retry_after_ms());
    throw sdk::error(sdk::status::permanent, said);
}

// The answer's document once HTTP status, JSON and RetCode have said the call went through.
json::object successful_answer(const sdk::http_response& response) {
    check_http_status(response);
    json::object answer = parse_answer(response);
    check_ret_code(answer, response);
    return answer;
}

// Finds the recipients a FailContent target means: by UserId (our recipient id) when it names
// one, else by the phone's digits.
class recipient_index {
public:
    explicit recipient_index(const std::vector<sdk::recipient>& recipients) {
        for (std::size_t i = 0; i < recipients.size(); ++i) {
            by_id_.emplace(recipients[i].id, i);
            by_phone_.emplace(sdk::digits_of(recipients[i].to), i);
        }
    }

    std::vector<std::size_t> find(const json::object& target) const {
        if (const std::string user_id = sdk::text_field(target, "UserId"); !user_id.empty())
            if (auto it = by_id_.find(user_id); it != by_id_.end())
                return {it->second};
        std::vector<std::size_t> out;
        const auto [first, last] = by_phone_.equal_range(sdk::digits_of(sdk::text_field(target, "Phone")));
        for (auto it = first; it != last; ++it)
            out.push_back(it->second);
        return out;
    }

private:
    std::unordered_map<std::string, std::size_t> by_id_;
    std::unordered_multimap<std::string, std::size_t> by_phone_;
};

// Recipient index -> why uSpeedo did not send to it. The reason sits on the target, or on the
// FailContent item when the template/SenderId check failed for the whole item.
std::unordered_map<std::size_t, std::string> failures(const sdk::batch& batch, const json::object& answer) {
    std::unordered_map<std::size_t, std::string> out;
    const json::array* items = sdk::array_field(answer, "FailContent");
    if (items == nullptr)
        return out;
    const recipient_index index(batch.recipients);
    for (const json::value& item : *items) {
        const json::object* failed = item.if_object();
        const json::array* targets = failed != nullptr ? sdk::array_field(*failed, "Target") : nullptr;
        if (targets == nullptr)
            continue;
        const std::string item_reason = sdk::text_field(*failed, "FailureDetails");
        for (const json::value& target : *targets) {
            if (!target.is_object())
                continue;
            std::string reason = sdk::text_field(target.get_object(), "FailureDetails");
            if (reason.empty())
                reason = item_reason.empty() ? "listed in FailContent without FailureDetails" : item_reason;
            for (std::size_t i : index.find(target.get_object()))
                out.emplace(i, reason);
        }
    }
    return out;
}

sdk::delivery delivery_of(std::string_view result) {
    if (result == "Success")
        return sdk::delivery::delivered;
    if (result == "Fail" || result == "SubmitFail")
        return sdk::delivery::undelivered;
    return sdk::delivery::pending;  // "Unknow" (sic), and any value uSpeedo adds later
}

sdk::receipt read_receipt(const json::value& item, const std::string& path, const std::string& session_no) {
    if (!item.is_object())
        throw sdk::field_error(path, "must be an object");
    const sdk::object_reader r(item.get_object(), path);
    const std::string result = r.required_string("ReceiptResult");
    sdk::receipt out;
    out.message_id = session_no;
    out.to = "+" + sdk::digits_of(r.required_string("Phone"));
    out.status = delivery_of(result);
    out.code = sdk::text_field(r.object(), "ReceiptCode");
    out.reason = sdk::text_field(r.object(), "ReceiptDesc");
    if (out.status == sdk::delivery::pending && result != "Unknow")
        out.reason = "unrecognised ReceiptResult '" + result + "'" + (out.reason.empty() ? "" : ": " + out.reason);
    out.at_unix_ms = sdk::unix_ms_of_seconds(r.int_or("ReceiptTime", 0));
    return out;
}

// ---- the provider ----------------------------------------------------------------------------

class uspeedo_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "uspeedo";
        m.version = "1.0.0";
        m.description = "uSpeedo SMS (SendBatchUSMSMessage), up to 1000 numbers per call, with pulled delivery receipts";
        m.channels = {"sms"};
        m.max_recipients_per_call = static_cast<int>(max_recipients);
        m.grouping = {"template", "sender"};
        m.receipts = "pull";
        m.thread_safe = true;
        m.transient_errors = {std::to_string(service_unavailable), std::to_string(throttled)};
        // uSpeedo documents no rate limit: the console's frequency caps are per account.
        m.requests_per_second = 0;
        m.recipients_per_second = 0;
        m.config_schema = json::parse(R"schema({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["access_key_id", "access_key_secret"],
            "properties": {
                "endpoint": {"type": "string", "pattern": "^https?://[^?#]+$", "default": "https://api.uspeedo.com",
                             "description": "base URL; /api or /api/v1/usms/... is appended"},
                "api_style": {"enum": ["action", "v1"], "default": "action",
                              "description": "action: POST /api signed with X-Signature (documented); v1: POST /api/v1/usms/<Action> with HTTP Basic"},
                "account_id": {"type": "integer", "minimum": 1,
                               "description": "the project's AccountId; required for api_style action"},
                "access_key_id": {"type": "string", "minLength": 1, "description": "the AccessKeyId"},
                "access_key_secret": {"type": "string", "minLength": 1, "writeOnly": true,
                                      "description": "the AccessKeySecret; a secret"}
            },
            "additionalProperties": false,
            "if": {"properties": {"api_style": {"const": "v1"}}, "required": ["api_style"]},
            "else": {"required": ["account_id"]}
        })schema");
        // The step's own keys, checked by the host at start for every route step on this plugin.
        m.step_schema = json::parse(R"schema({
            "type": "object",
            "required": ["template"],
            "properties": {
                "template": {"type": "string", "minLength": 1, "description": "the approved template's TemplateId"},
                "sender": {"type": "string", "description": "the SenderId; empty: the account's default"},
                "params": {"type": "array", "items": {"type": "string", "minLength": 1},
                           "description": "the recipients' parameters that fill {1}, {2}, ... in this order"},
                "extend_code": {"type": "string", "maxLength": 32},
                "template_text": {"type": "string", "description": "the template's text, to check lengths at intake"}
            },
            "additionalProperties": false
        })schema");
        return m;
    }

    uspeedo_provider(const sdk::host& host, const sdk::object_reader& config)
        : provider(host),
          settings_(read_settings(config)),
          basic_authorization_("Basic " + sdk::base64(settings_.access_key_id + ":" + settings_.access_key_secret)) {}

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return sdk::verdicts_for(request, [&] { return read_step(request.step); },
                                 [](const route_step& step, const sdk::recipient& r) { return check_recipient(step, r).verdict; });
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t now_unix_ms) override {
        if (batch.recipients.size() > max_recipients)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " +
                                                         std::to_string(batch.recipients.size()) +
                                                         " recipients; uSpeedo takes at most 1000 per call");
        const route_step step = step_of(batch);
        const std::string action = "SendBatchUSMSMessage";
        // The body and the text its signature hashes are written side by side: a thousand Target
        // objects built only to be printed and signed cost more than the rest of the call. Every
        // object's keys come in byte order, the order uspeedo::signing_plaintext takes them in, so
        // the two agree (the JSON has the same order; the signing tests check both).
        signed_body body;
        body.json.reserve(128 + batch.recipients.size() * 96);
        body.signed_text.reserve(128 + batch.recipients.size() * 64);
        body.json += '{';
        if (settings_.account_id) {
            const std::string id = std::to_string(*settings_.account_id);
            body.json += "\"AccountId\":" + id + ",";
            body.signed_text += "AccountId" + id;
        }
        if (settings_.style == api_style::action) {
            body.json += "\"Action\":\"" + action + "\",";
            body.signed_text += "Action" + action;
        }
        body.json += "\"TaskContent\":[{\"SenderId\":";
        sdk::append_json_string(body.json, step.sender);
        body.json += ",\"Target\":[";
        body.signed_text += "TaskContentSenderId" + step.sender + "Target";
        for (std::size_t i = 0; i < batch.recipients.size(); ++i)
            append_target(body, step, batch, i);
        body.json += "],\"TemplateId\":";
        sdk::append_json_string(body.json, step.template_id);
        body.json += "}]}";
        body.signed_text += "TemplateId" + step.template_id;
        return authenticated(action, std::move(body), batch.id, now_unix_ms);
    }

    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        const json::object answer = successful_answer(response);
        const std::string session_no = sdk::text_field(answer, "SessionNo");
        const std::unordered_map<std::size_t, std::string> failed = failures(batch, answer);
        std::vector<sdk::outcome> outcomes;
        outcomes.reserve(batch.recipients.size());
        for (std::size_t i = 0; i < batch.recipients.size(); ++i) {
            const std::string& id = batch.recipients[i].id;
            if (auto it = failed.find(i); it != failed.end())
                outcomes.push_back(sdk::outcome::rejected(id, fail_content_code, it->second));
            else if (!session_no.empty())
                outcomes.push_back(sdk::outcome::accepted(id, session_no));
            else
                // SessionNo comes only when something was accepted: this answer contradicts itself.
                outcomes.push_back(sdk::outcome::unknown(id, "RetCode 0 without SessionNo"));
        }
        return outcomes;
    }

    sdk::http_request do_encode_receipt_query(const sdk::receipt_query& query, std::int64_t now_unix_ms) override {
        if (query.message_ids.empty())
            throw sdk::error(sdk::status::permanent, "a receipt query needs at least one SessionNo");
        if (query.message_ids.size() > max_session_nos)
            throw sdk::error(sdk::status::permanent, "a receipt query has " + std::to_string(query.message_ids.size()) +
                                                         " SessionNos; GetUSMSSendReceipt takes at most 100");
        json::array session_nos;
        std::string nonce_seed;
        for (const std::string& id : query.message_ids) {
            session_nos.emplace_back(id);
            nonce_seed += id + ",";
        }
        return post("GetUSMSSendReceipt", {{"SessionNoSet", std::move(session_nos)}}, nonce_seed, now_unix_ms);
    }

    sdk::receipt_batch do_decode_receipt_query(const sdk::receipt_query&, const sdk::http_response& response) override {
        const json::object answer = successful_answer(response);
        sdk::receipt_batch out;
        const json::array* data = sdk::array_field(answer, "Data");
        for (std::size_t i = 0; data != nullptr && i < data->size(); ++i) {
            const std::string path = sdk::index_path("answer.Data", i);
            if (!(*data)[i].is_object())
                throw sdk::field_error(path, "must be an object");
            const sdk::object_reader session((*data)[i].get_object(), path);
            const std::string session_no = session.required_string("SessionNo");
            const json::array* receipts = sdk::array_field(session.object(), "ReceiptSet");
            for (std::size_t j = 0; receipts != nullptr && j < receipts->size(); ++j)
                out.receipts.push_back(read_receipt((*receipts)[j], sdk::index_path(path + ".ReceiptSet", j), session_no));
        }
        return out;
    }

private:
    static route_step step_of(const sdk::batch& batch) {
        try {
            return read_step(batch.step);
        } catch (const sdk::field_error& e) {
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + e.what());
        }
    }

    struct signed_body {
        std::string json;
        std::string signed_text;  // what the signature hashes, before the secret
    };

    // One Target: the number without '+', its parameters only when the template has some (uSpeedo
    // refuses TemplateParams for a template without variables), and our id to match answers by.
    static void append_target(signed_body& body, const route_step& step, const sdk::batch& batch, std::size_t i) {
        const sdk::recipient& r = batch.recipients[i];
        checked_recipient checked = check_recipient(step, r);
        if (!checked.verdict.ok)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + sdk::index_path("recipients", i) + "." +
                                                         checked.verdict.field + ": " + checked.verdict.reason);
        if (r.id.size() > max_user_id_bytes)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + sdk::index_path("recipients", i) +
                                                         ".id is " + std::to_string(r.id.size()) +
                                                         " bytes; uSpeedo's UserId takes at most 64");
        std::string& json = body.json;
        std::string& signed_text = body.signed_text;
        json += i == 0 ? "{" : ",{";
        if (!step.extend_code.empty()) {
            json += "\"ExtendCode\":";
            sdk::append_json_string(json, step.extend_code);
            json += ',';
            signed_text.append("ExtendCode").append(step.extend_code);
        }
        const std::string_view phone = std::string_view(r.to).substr(1);
        json += "\"Phone\":";
        sdk::append_json_string(json, phone);
        signed_text.append("Phone").append(phone);
        if (!step.params.empty()) {
            json += ",\"TemplateParams\":[";
            signed_text += "TemplateParams";
            for (std::size_t p = 0; p < checked.template_params.size(); ++p) {
                if (p > 0)
                    json += ',';
                sdk::append_json_string(json, checked.template_params[p]);
                signed_text += checked.template_params[p];  // an array signs its items only
            }
            json += ']';
        }
        json += ",\"UserId\":";
        sdk::append_json_string(json, r.id);
        json += '}';
        signed_text.append("UserId").append(r.id);
    }

    // The POST for `action`: the payload wrapped in the style's envelope, authenticated.
    sdk::http_request post(std::string_view action, json::object payload, std::string_view nonce_seed,
                           std::int64_t now_unix_ms) const {
        json::object body(payload.storage());
        if (settings_.style == api_style::action)
            body["Action"] = action;
        if (settings_.account_id)
            body["AccountId"] = *settings_.account_id;
        for (auto& item : payload)
            body.emplace(item.key(), std::move(item.value()));
        return authenticated(action, signed_body{json::serialize(body), uspeedo::signing_plaintext(body, "")},
                             nonce_seed, now_unix_ms);
    }

    // The request that carries `body`: signed headers (api_style action) or HTTP Basic (v1).
    sdk::http_request authenticated(std::string_view action, signed_body body, std::string_view nonce_seed,
                                    std::int64_t now_unix_ms) const {
        sdk::http_request out;
        out.method = "POST";
        out.headers.push_back({"Content-Type", "application/json"});
        if (settings_.style == api_style::action) {
            out.url = settings_.endpoint + "/api";
            body.signed_text += settings_.access_key_secret;
            out.headers.push_back({"X-Access-Key-Id", settings_.access_key_id});
            out.headers.push_back({"X-Signature", sdk::hex(sdk::sha1(body.signed_text))});
            out.headers.push_back({"X-Timestamp", sdk::unix_seconds(now_unix_ms)});
            out.headers.push_back({"X-Nonce", nonce(nonce_seed, now_unix_ms)});
        } else {
            out.url = settings_.endpoint + "/api/v1/usms/" + std::string(action);
            out.headers.push_back({"Authorization", basic_authorization_});
        }
        out.body = std::move(body.json);
        return out;
    }

    // Plugins have no randomness, and tests must repeat: the nonce is derived from what is sent
    // and when, which still differs between any two requests uSpeedo could confuse.
    static std::string nonce(std::string_view seed, std::int64_t now_unix_ms) {
        return sdk::hex(sdk::sha1(std::string(seed) + std::to_string(now_unix_ms))).substr(0, 16);
    }

    const settings settings_;
    const std::string basic_authorization_;
};

} // namespace

SWITCHBOARD_PROVIDER(uspeedo_provider)
