// Huawei Cloud SMN promotional SMS: sends with PromotionSmsPublish and pulls delivery reports from
// the SMS report list. The vendor's document is shared/seeds/004 (PromotionSmsPublish) and
// VENDORS.md §4 (signing, answers, errors, reports). This is SMN's legacy SMS API.
//
// Request:
//   POST {endpoint}/v2/{project_id}/notifications/sms/promotion
//   Content-Type: application/json;charset=UTF-8, X-Project-Id, and either X-Sdk-Date +
//   Authorization (SDK-HMAC-SHA256, see smn_signature.hpp) or X-Auth-Token (auth "token")
//   {"sms_template_id":"<32 hex>","endpoints":["+8615911119348",...],"sign_id":"...",
//    "extend_code":"...","extend_src_id":"..."}
// Response: {"request_id":"...","result":[{"message_id":"...","endpoint":"8615911119348"},
//            {"code":"SMN.0087","message":"Fail send this message.","endpoint":"..."}]}
// Errors:   {"request_id","code","message"} (SMN) or {"error_code","error_msg"} (API gateway).
//
// Route step: {"template": "<32 hex>", "sign_id": "...", "extend_code": "...", "extend_src_id": "123"}.
//
// Duplicates: SMN de-duplicates endpoints by exact string, and every number is sent as "+<digits>",
// so two recipients with the same number in one batch would get one SMS. The plugin sends the
// number once, for the first of them; each later one is rejected with code "duplicate".
//
// Receipts: the report list filters by time, sign and mobile, not by message id, so a query asks
// for start_time = since_unix_ms (or one day before now when 0) to end_time = now, both Unix
// milliseconds as the legacy SDK's example sends them, limit 100, offset 0; the answer's entries
// for the requested message ids become receipts, the others are ignored. Reports beyond the first
// 100 of the window are not seen by that query.
#include "smn_signature.hpp"

#include <switchboard/sdk.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace smn = switchboard::smn;

namespace {

constexpr std::size_t max_recipients = 1000;       // "手机号码个数不能超过1000" (seed 004)
constexpr std::size_t template_id_length = 32;
constexpr std::size_t max_extend_code_bytes = 32;  // "长度小于等于32个字节"
constexpr std::size_t max_extend_src_id_digits = 8;  // "8位以内的数字"
constexpr std::int64_t report_limit = 100;
constexpr std::int64_t default_report_window_ms = 24LL * 60 * 60 * 1000;
constexpr const char* content_type = "application/json;charset=UTF-8";
constexpr const char* throttled = "APIGW.0308";
constexpr const char* backend_unavailable = "APIGW.0201";
constexpr const char* bad_credentials = "APIGW.0301";
constexpr const char* token_expired = "APIGW.0307";
constexpr const char* duplicate_code = "duplicate";

// ---- text ------------------------------------------------------------------------------------

bool all_of(std::string_view text, std::string_view allowed) {
    return text.find_first_not_of(allowed) == std::string_view::npos;
}

constexpr std::string_view hex_digits = "0123456789abcdefABCDEF";
constexpr std::string_view decimal_digits = "0123456789";

// ---- the route step --------------------------------------------------------------------------

struct route_step {
    std::string template_id;
    std::optional<std::string> sign_id;        // overrides the configured one
    std::optional<std::string> extend_code;
    std::optional<std::string> extend_src_id;
};

// A string that, when present, must not be empty.
std::optional<std::string> optional_nonempty(const sdk::object_reader& step, std::string_view key) {
    std::optional<std::string> value = step.optional_string(key);
    if (value && value->empty())
        throw sdk::field_error(sdk::child_path("step", key), "must not be empty when given");
    return value;
}

// Throws sdk::field_error naming "step.<field>".
route_step read_step(const json::object& object) {
    const sdk::object_reader step(object, "step");
    route_step out;
    out.template_id = step.required_string("template");
    if (out.template_id.size() != template_id_length || !all_of(out.template_id, hex_digits))
        throw sdk::field_error("step.template", "must be SMN's template id, 32 hexadecimal characters, got '" +
                                                    sdk::excerpt(out.template_id, 40) + "'");
    out.sign_id = optional_nonempty(step, "sign_id");
    out.extend_code = optional_nonempty(step, "extend_code");
    if (out.extend_code && out.extend_code->size() > max_extend_code_bytes)
        throw sdk::field_error("step.extend_code", "is " + std::to_string(out.extend_code->size()) +
                                                       " bytes; SMN takes at most 32");
    out.extend_src_id = optional_nonempty(step, "extend_src_id");
    if (out.extend_src_id && !all_of(*out.extend_src_id, decimal_digits))
        throw sdk::field_error("step.extend_src_id", "must be digits only, got '" +
                                                         sdk::excerpt(*out.extend_src_id, 40) + "'");
    if (out.extend_src_id && out.extend_src_id->size() > max_extend_src_id_digits)
        throw sdk::field_error("step.extend_src_id", "is " + std::to_string(out.extend_src_id->size()) +
                                                         " digits; SMN takes at most 8");
    return out;
}

// ---- configuration ---------------------------------------------------------------------------

enum class auth_mode { aksk, token };

struct settings {
    std::string origin;       // "https://smn.cn-north-4.myhuaweicloud.com", no trailing slash
    std::string host;         // host[:port] as written, the signed Host header
    std::string base_path;    // a path prefix of the endpoint, "" or "/prefix"
    std::string project_id;
    auth_mode auth = auth_mode::aksk;
    std::string access_key_id;
    std::string secret_access_key;
    std::string auth_token;
    std::string sign_id;
};

void refuse_unknown_settings(const sdk::object_reader& config) {
    static constexpr std::string_view known[] = {"endpoint",          "region",    "project_id", "auth", "access_key_id",
                                                 "secret_access_key", "auth_token", "sign_id"};
    for (const auto& item : config.object())
        if (std::find(std::begin(known), std::end(known), item.key()) == std::end(known))
            throw sdk::field_error(sdk::child_path("config", item.key()), "is not a setting of the smn provider");
}

void read_endpoint(const sdk::object_reader& config, settings& out) {
    std::optional<std::string> given = config.optional_string("endpoint");
    // Read beside an endpoint too: a region of the wrong form is a mistake whether or not it is used.
    const std::optional<std::string> region = config.optional_string("region");
    if (region && (region->empty() || !all_of(*region, "abcdefghijklmnopqrstuvwxyz0123456789-")))
        throw sdk::field_error("config.region", "must be a region id such as cn-north-4, got '" + *region + "'");
    if (!given) {
        if (!region)
            throw sdk::field_error("config.region", "is required when config.endpoint is not given (e.g. cn-north-4)");
        given = "https://smn." + *region + ".myhuaweicloud.com";
    }
    // SMN's paths are built from the endpoint: a space is refused here too, not only a query.
    if (given->find_first_of("?# ") != std::string::npos)
        throw sdk::field_error("config.endpoint", "must be a base URL without query, fragment or spaces, got '" + *given + "'");
    const sdk::base_url url = sdk::read_base_url(*given, "config.endpoint");
    out.origin = url.origin;
    out.host = url.host;
    out.base_path = url.path;
}

// Never echoes the value: these are credentials.
std::string read_secret(const sdk::object_reader& config, std::string_view key, std::string_view mode) {
    if (!config.has(key))
        throw sdk::field_error(sdk::child_path("config", key), "is required when auth is \"" + std::string(mode) + "\"");
    std::string value = config.required_nonempty_string(key);
    if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        throw sdk::field_error(sdk::child_path("config", key), "must not contain control characters");
    return value;
}

void refuse_other_mode(const sdk::object_reader& config, std::string_view key, std::string_view mode) {
    if (config.has(key))
        throw sdk::field_error(sdk::child_path("config", key), "is only used when auth is \"" + std::string(mode) + "\"");
}

settings read_settings(const sdk::object_reader& config) {
    refuse_unknown_settings(config);
    settings out;
    read_endpoint(config, out);
    out.project_id = config.required_string("project_id");
    if (out.project_id.empty() || !all_of(out.project_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
        throw sdk::field_error("config.project_id", "must be the IAM project id (letters and digits), got '" +
                                                        sdk::excerpt(out.project_id, 64) + "'");
    const std::string auth = config.string_or("auth", "aksk");
    if (auth == "aksk") {
        out.auth = auth_mode::aksk;
        out.access_key_id = read_secret(config, "access_key_id", auth);
        out.secret_access_key = read_secret(config, "secret_access_key", auth);
        refuse_other_mode(config, "auth_token", "token");
    } else if (auth == "token") {
        out.auth = auth_mode::token;
        out.auth_token = read_secret(config, "auth_token", auth);
        refuse_other_mode(config, "access_key_id", "aksk");
        refuse_other_mode(config, "secret_access_key", "aksk");
    } else {
        throw sdk::field_error("config.auth", "must be \"aksk\" or \"token\", got '" + auth + "'");
    }
    out.sign_id = config.required_string("sign_id");
    if (out.sign_id.empty())
        throw sdk::field_error("config.sign_id", "must not be empty");
    return out;
}

// ---- answers ---------------------------------------------------------------------------------

// The error an answer carries: SMN's {"code","message"} or the gateway's {"error_code","error_msg"}.
struct vendor_error {
    std::string code;
    std::string message;
};

std::optional<vendor_error> error_in(const json::object& answer) {
    std::string code = sdk::text_field(answer, "error_code");
    std::string message = sdk::text_field(answer, "error_msg");
    if (code.empty()) {
        code = sdk::text_field(answer, "code");
        message = sdk::text_field(answer, "message");
    }
    if (code.empty())
        return std::nullopt;
    return vendor_error{std::move(code), std::move(message)};
}

std::optional<json::object> json_object_of(std::string_view body) {
    boost::system::error_code ec;
    // One arena for the answer's values: a thousand results' strings, not a thousand allocations.
    json::value doc = json::parse(body, ec, json::make_shared_resource<json::monotonic_resource>(2 * body.size() + 1024));
    if (ec || !doc.is_object())
        return std::nullopt;
    return std::move(doc.get_object());
}

// Throws the classified error for a failed call: HTTP status and the vendor's code together.
[[noreturn]] void fail(const sdk::http_response& response, const std::optional<vendor_error>& error) {
    const int status = response.status;
    std::string said = "SMN answered HTTP " + std::to_string(status);
    if (error)
        said += " " + error->code + ": " + (error->message.empty() ? "(no message)" : error->message);
    else
        said += ": " + sdk::excerpt(response.body);
    const std::string code = error ? error->code : "";
    if (code == throttled || status == 429 || status == 408)
        throw sdk::error(sdk::status::transient, said, response.retry_after_ms());
    if (status >= 500 || code == backend_unavailable)
        throw sdk::error(sdk::status::transient, said, response.retry_after_ms());
    if (code == bad_credentials || code == token_expired || status == 401 || status == 403)
        throw sdk::error(sdk::status::authentication,
                         said + ": check access_key_id and secret_access_key (or auth_token), project_id and the clock");
    throw sdk::error(sdk::status::permanent, said);
}

// The answer's document once HTTP status, JSON and error fields have said the call went through.
json::object successful_answer(const sdk::http_response& response) {
    std::optional<json::object> answer = json_object_of(response.body);
    const bool ok_status = response.status >= 200 && response.status <= 299;
    if (!ok_status)
        fail(response, answer ? error_in(*answer) : std::nullopt);
    // A proxy or load balancer in front of SMN answers with HTML; SMN itself never does.
    if (!answer)
        throw sdk::error(sdk::status::transient, "SMN's answer is not a JSON object: " + sdk::excerpt(response.body),
                         response.retry_after_ms());
    if (!answer->contains("result") && !answer->contains("data"))
        if (std::optional<vendor_error> error = error_in(*answer))
            fail(response, error);
    return std::move(*answer);
}

// Whether text_field(object, key) would not be empty, without copying it.
bool has_text(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    if (v == nullptr)
        return false;
    return v->is_string() ? !v->get_string().empty() : v->is_int64() || v->is_uint64();
}

// The E.164 number `to` as an integer ("+8613..." -> 8613...), or nothing when it is not one.
// Distinct numbers give distinct integers: at most 15 digits, the first never 0.
std::optional<std::uint64_t> number_key(std::string_view to) {
    if (to.size() < 2 || to.size() > 16 || to.front() != '+' || to[1] == '0')
        return std::nullopt;
    std::uint64_t key = 0;
    const auto [end, ec] = std::from_chars(to.data() + 1, to.data() + to.size(), key);
    return ec == std::errc() && end == to.data() + to.size() ? std::optional<std::uint64_t>(key) : std::nullopt;
}

// For each recipient, whether an earlier one of the batch has the same `to`: SMN would send that
// number once. Sorting the numbers as integers beats hashing a thousand strings; a batch with a
// `to` that is not E.164 is compared as text.
std::vector<bool> repeated_numbers(const std::vector<sdk::recipient>& recipients) {
    std::vector<bool> repeated(recipients.size(), false);
    std::vector<std::pair<std::uint64_t, std::size_t>> keyed;
    keyed.reserve(recipients.size());
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const std::optional<std::uint64_t> key = number_key(recipients[i].to);
        if (!key) {
            std::unordered_set<std::string_view> seen;
            for (std::size_t j = 0; j < recipients.size(); ++j)
                repeated[j] = !seen.insert(recipients[j].to).second;
            return repeated;
        }
        keyed.emplace_back(*key, i);
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t k = 1; k < keyed.size(); ++k)
        if (keyed[k].first == keyed[k - 1].first)
            repeated[keyed[k].second] = true;  // sorted by index within a number: the first is kept
    return repeated;
}

// What the answer says of one number: sent (a message_id and no code) or refused (a code).
struct item_result {
    const json::object* item = nullptr;
    bool accepted = false;
};

// The item as a result for its endpoint's number, or nothing when it says nothing about it.
std::optional<item_result> result_of(const json::value& item) {
    const json::object* o = item.if_object();
    if (o == nullptr)
        return std::nullopt;
    const bool has_id = has_text(*o, "message_id");
    const bool has_code = has_text(*o, "code");
    if (!has_id && !has_code)
        return std::nullopt;  // neither an id nor a code
    return item_result{o, has_id && !has_code};
}

// The answer's result items, found by the digits of their endpoint; the first item for a number
// wins. SMN lists them in the order the call gave the numbers, so each is looked for first where
// the last one was found, and the items are indexed only when the answer is in another order.
class results_by_number {
public:
    explicit results_by_number(const json::array* items) : items_(items) {}

    std::optional<item_result> find(const std::string& digits) {
        if (!indexed_ && items_ != nullptr && next_ < items_->size()) {
            const json::value& item = (*items_)[next_];
            std::optional<item_result> found = result_of(item);
            if (found && sdk::digits_of(sdk::text_field(*found->item, "endpoint")) == digits) {
                ++next_;
                return found;
            }
        }
        index();
        const auto it = by_number_.find(digits);
        return it == by_number_.end() ? std::nullopt : std::optional<item_result>(it->second);
    }

private:
    void index() {
        if (indexed_ || items_ == nullptr)
            return;
        indexed_ = true;
        for (const json::value& item : *items_)
            if (std::optional<item_result> r = result_of(item))
                by_number_.emplace(sdk::digits_of(sdk::text_field(*r->item, "endpoint")), *r);
    }

    const json::array* items_;
    std::size_t next_ = 0;
    bool indexed_ = false;
    std::unordered_map<std::string, item_result> by_number_;
};

// ---- receipts --------------------------------------------------------------------------------

struct cmpp_state {
    std::string_view name;
    sdk::delivery status;
    std::string_view meaning;
};

constexpr cmpp_state cmpp_states[] = {
    {"DELIVRD", sdk::delivery::delivered, "delivered to the handset"},
    {"UNDELIV", sdk::delivery::undelivered, "could not be delivered"},
    {"EXPIRED", sdk::delivery::undelivered, "expired before it could be delivered"},
    {"DELETED", sdk::delivery::undelivered, "deleted by the carrier"},
    {"REJECTD", sdk::delivery::undelivered, "rejected by the carrier"},
    {"ACCEPTD", sdk::delivery::pending, "accepted by the carrier, not yet delivered"},
    {"UNKNOWN", sdk::delivery::pending, "state unknown to the carrier"},
};

// deliver_time as Unix milliseconds (or seconds, by size); 0 when it is another form.
std::int64_t time_of(std::string_view text) {
    if (text.empty() || text.size() > 16 || !all_of(text, decimal_digits))
        return 0;
    const std::int64_t value = std::stoll(std::string(text));
    return value < 100'000'000'000 ? value * 1000 : value;
}

sdk::receipt read_report(const json::object& item) {
    sdk::receipt out;
    out.message_id = sdk::text_field(item, "message_id");
    const std::string mobile = sdk::text_field(item, "mobile");
    const std::string nation = sdk::digits_of(sdk::text_field(item, "nation_code"));
    // SMN lists mobiles either with their country code ("+8613...") or beside a nation_code.
    out.to = mobile.empty() ? "" : (mobile.front() == '+' || nation.empty()) ? "+" + sdk::digits_of(mobile)
                                                                              : "+" + nation + sdk::digits_of(mobile);
    const std::string state = sdk::text_field(item, "status_desc");
    out.code = state;
    out.status = sdk::delivery::pending;
    const auto known = std::find_if(std::begin(cmpp_states), std::end(cmpp_states),
                                    [&](const cmpp_state& s) { return s.name == state; });
    if (known != std::end(cmpp_states)) {
        out.status = known->status;
        out.reason = state + ": " + std::string(known->meaning);
    } else {
        out.reason = "unrecognised status_desc '" + state + "' (status " + sdk::text_field(item, "status") + ")";
    }
    out.at_unix_ms = time_of(sdk::text_field(item, "deliver_time"));
    return out;
}

// ---- the provider ----------------------------------------------------------------------------

class smn_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "smn";
        m.version = "1.0.0";
        m.description =
            "Huawei Cloud SMN promotional SMS (PromotionSmsPublish, legacy API), up to 1000 numbers per call, "
            "with pulled delivery reports";
        m.channels = {"sms"};
        m.max_recipients_per_call = static_cast<int>(max_recipients);
        m.grouping = {"template", "sign_id", "extend_code", "extend_src_id"};
        m.receipts = "pull";
        m.thread_safe = true;
        m.transient_errors = {throttled, backend_unavailable};
        m.requests_per_second = 0;
        m.recipients_per_second = 0;
        m.config_schema = json::parse(R"schema({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["project_id", "sign_id"],
            "properties": {
                "endpoint": {"type": "string", "pattern": "^https?://[^?# ]+$",
                             "description": "base URL; default https://smn.{region}.myhuaweicloud.com"},
                "region": {"type": "string", "pattern": "^[a-z0-9-]+$",
                           "description": "the region id, e.g. cn-north-4; required without endpoint"},
                "project_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$",
                               "description": "the IAM project id of that region"},
                "auth": {"enum": ["aksk", "token"], "default": "aksk",
                         "description": "aksk: SDK-HMAC-SHA256 signature; token: a configured X-Auth-Token"},
                "access_key_id": {"type": "string", "minLength": 1, "description": "the AK (auth aksk)"},
                "secret_access_key": {"type": "string", "minLength": 1, "writeOnly": true,
                                      "description": "the SK (auth aksk); a secret"},
                "auth_token": {"type": "string", "minLength": 1, "writeOnly": true,
                               "description": "an IAM token (auth token); a secret, valid 24 hours"},
                "sign_id": {"type": "string", "minLength": 1,
                            "description": "the SMS signature id; a route step's sign_id overrides it"}
            },
            "additionalProperties": false,
            "anyOf": [{"required": ["endpoint"]}, {"required": ["region"]}],
            "if": {"properties": {"auth": {"const": "token"}}, "required": ["auth"]},
            "then": {"required": ["auth_token"]},
            "else": {"required": ["access_key_id", "secret_access_key"]}
        })schema");
        // The step's own keys, checked by the host at start for every route step on this plugin.
        m.step_schema = json::parse(R"schema({
            "type": "object",
            "required": ["template"],
            "properties": {
                "template": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$", "description": "SMN's template id"},
                "sign_id": {"type": "string", "minLength": 1, "description": "the signature; default: the instance's"},
                "extend_code": {"type": "string", "minLength": 1, "maxLength": 32},
                "extend_src_id": {"type": "string", "pattern": "^[0-9]{1,8}$"}
            },
            "additionalProperties": false
        })schema");
        return m;
    }

    smn_provider(const sdk::host& host, const sdk::object_reader& config)
        : provider(host), settings_(read_settings(config)) {}

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return sdk::verdicts_for(request, [&] { return read_step(request.step); }, [](const route_step&, const sdk::recipient& r) {
            const std::optional<std::string> problem = sdk::e164_problem(r.to, "+8615911119348");
            return problem ? sdk::verdict::invalid("to", *problem) : sdk::verdict::valid();
        });
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t now_unix_ms) override {
        if (batch.recipients.size() > max_recipients)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " +
                                                         std::to_string(batch.recipients.size()) +
                                                         " recipients; SMN takes at most 1000 per call");
        const route_step step = step_of(batch);
        json::array endpoints;
        for (std::size_t i = 0; i < batch.recipients.size(); ++i)
            if (std::optional<std::string> problem = sdk::e164_problem(batch.recipients[i].to, "+8615911119348"))
                throw sdk::error(sdk::status::permanent,
                                 "batch " + batch.id + ": " + sdk::index_path("recipients", i) + ".to: " + *problem);
        const std::vector<bool> repeated = repeated_numbers(batch.recipients);
        endpoints.reserve(batch.recipients.size());
        for (std::size_t i = 0; i < batch.recipients.size(); ++i)
            if (!repeated[i])
                endpoints.emplace_back(batch.recipients[i].to);
        json::object body{{"sms_template_id", step.template_id},
                          {"endpoints", std::move(endpoints)},
                          {"sign_id", step.sign_id.value_or(settings_.sign_id)}};
        if (step.extend_code)
            body["extend_code"] = *step.extend_code;
        if (step.extend_src_id)
            body["extend_src_id"] = *step.extend_src_id;
        return build_request("POST", "/notifications/sms/promotion", {}, json::serialize(body), now_unix_ms);
    }

    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        const json::object answer = successful_answer(response);
        const json::array* items = sdk::array_field(answer, "result");
        results_by_number results(items);
        const bool has_result = items != nullptr;
        const std::vector<bool> repeated = repeated_numbers(batch.recipients);
        std::vector<sdk::outcome> outcomes;
        outcomes.reserve(batch.recipients.size());
        for (std::size_t i = 0; i < batch.recipients.size(); ++i) {
            const sdk::recipient& r = batch.recipients[i];
            if (repeated[i]) {
                outcomes.push_back(sdk::outcome::rejected(r.id, duplicate_code, "the same number is already in this call"));
                continue;
            }
            const std::optional<item_result> found = results.find(sdk::digits_of(r.to));
            if (!found)
                outcomes.push_back(sdk::outcome::unknown(
                    r.id, has_result ? "SMN's answer does not mention this number"
                                     : "SMN's answer has no result list: " + sdk::excerpt(response.body)));
            else if (found->accepted)
                outcomes.push_back(sdk::outcome::accepted(r.id, sdk::text_field(*found->item, "message_id")));
            else
                outcomes.push_back(rejection(r.id, *found->item));
        }
        return outcomes;
    }

    static sdk::outcome rejection(const std::string& id, const json::object& item) {
        std::string message = sdk::text_field(item, "message");
        return sdk::outcome::rejected(id, sdk::text_field(item, "code"), message.empty() ? "(no message)" : std::move(message));
    }

    sdk::http_request do_encode_receipt_query(const sdk::receipt_query& query, std::int64_t now_unix_ms) override {
        if (query.message_ids.empty())
            throw sdk::error(sdk::status::permanent, "a receipt query needs at least one message id");
        const std::int64_t since =
            query.since_unix_ms > 0 ? std::min(query.since_unix_ms, now_unix_ms) : now_unix_ms - default_report_window_ms;
        return build_request("GET", "/notifications/sms/report",
                             {{"start_time", std::to_string(since)},
                              {"end_time", std::to_string(now_unix_ms)},
                              {"limit", std::to_string(report_limit)},
                              {"offset", "0"}},
                             "", now_unix_ms);
    }

    sdk::receipt_batch do_decode_receipt_query(const sdk::receipt_query& query,
                                               const sdk::http_response& response) override {
        const json::object answer = successful_answer(response);
        const json::value* data = answer.if_contains("data");
        if (data == nullptr || !data->is_array())
            throw sdk::error(sdk::status::transient, "SMN's report list has no data array: " + sdk::excerpt(response.body));
        const std::set<std::string> wanted(query.message_ids.begin(), query.message_ids.end());
        sdk::receipt_batch out;
        for (std::size_t i = 0; i < data->get_array().size(); ++i) {
            const json::object* item = data->get_array()[i].if_object();
            if (item == nullptr)
                throw sdk::field_error(sdk::index_path("answer.data", i), "must be an object");
            if (wanted.count(sdk::text_field(*item, "message_id")) > 0)
                out.receipts.push_back(read_report(*item));
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

    // A request to {endpoint}/v2/{project_id}{suffix}, authenticated as configured.
    sdk::http_request build_request(std::string method, const std::string& suffix,
                                    std::vector<std::pair<std::string, std::string>> query, std::string body,
                                    std::int64_t now_unix_ms) const {
        const std::string path = settings_.base_path + "/v2/" + settings_.project_id + suffix;
        std::string url = settings_.origin + path;
        for (std::size_t i = 0; i < query.size(); ++i)
            url += (i == 0 ? "?" : "&") + sdk::percent_encode(query[i].first) + "=" + sdk::percent_encode(query[i].second);

        sdk::http_request out;
        out.method = method;
        out.url = std::move(url);
        out.headers = {{"Content-Type", content_type}, {"X-Project-Id", settings_.project_id}};
        if (settings_.auth == auth_mode::aksk) {
            out.headers.push_back({"X-Sdk-Date", sdk::utc_compact(now_unix_ms)});
            smn::signing_input signed_part{std::move(method), path, std::move(query), out.headers, body};
            signed_part.headers.push_back({"Host", settings_.host});
            out.headers.push_back(
                {"Authorization", smn::authorization(signed_part, settings_.access_key_id, settings_.secret_access_key)});
        } else {
            out.headers.push_back({"X-Auth-Token", settings_.auth_token});
        }
        out.body = std::move(body);
        return out;
    }

    const settings settings_;
};

} // namespace

SWITCHBOARD_PROVIDER(smn_provider)
