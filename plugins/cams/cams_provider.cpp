// Alibaba Cloud Chat App Message Service (CAMS): sends WhatsApp, Messenger, Instagram and Viber
// template messages with SendChatappMassMessage (API version 2020-06-06) and takes the delivery
// receipts CAMS pushes over HTTP (ChatAppStatus). The vendor's document is shared/seeds/003; the
// endpoint, signatures, error codes and receipts are VENDORS.md §3.
//
// Request (RPC style; by default the business parameters in an application/x-www-form-urlencoded
// body, as Alibaba's current SDK (@alicloud/cams20200606 1.4.2) sends them):
//   POST {endpoint}/   ChannelType=whatsapp&CustSpaceId=cams-...&From=8613800000000&Language=en
//                      &SenderList=%5B%7B%22To%22...&TemplateCode=...
//   SenderList is ONE JSON string: [{"To":"8613900000000","TemplateParams":{"code":"123456"},
//     "Payload":["..."],"FlowAction":{...},"ProductAction":{...}}, ...]
//   The query is sorted and RFC 3986 encoded, and the URL carries exactly the string that is signed.
//   signature "acs3" (default): headers x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce,
//     x-acs-content-sha256 and Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..
//     "host" is signed (host[:port] of the endpoint) but not emitted: the host's HTTP client writes the
//     Host header from the URL, and a second one would be a malformed request.
//   signature "v1": Format, Version, Action, AccessKeyId, SignatureMethod, SignatureVersion,
//     SignatureNonce, Timestamp added to the query, then Signature (HMAC-SHA1).
//   parameters "query" (config): the business parameters go in the URL instead (RPC takes both). A
//     URL holding 1000 recipients' SenderList is some 94 KB, and HTTP servers cap the request line
//     (commonly at 8 KiB, answering 414), so a full batch needs the form body.
//   The nonce is derived from the batch id and the host's "now": plugins have no randomness, and a
//   retry of a batch comes at another time, so it gets another nonce.
//
// Response: {"RequestId":"...","Code":"OK","GroupMessageId":"...","Message":"..."}. CAMS answers
// for the batch as a whole, so every recipient gets the same verdict.
// Errors {RequestId, Code, Message}: System.LimitControl, Throttling*, InternalError,
// ServiceUnavailable, SignatureNonceUsed, HTTP 408/429/5xx and any error that carries an
// x-acs-retry-after header are transient, with that header read as integer milliseconds (else
// Retry-After in seconds); SignatureDoesNotMatch and InvalidAccessKeyId.* are authentication;
// everything else (InvalidParameter.*, Ram.PermissionDeny, Product.Unsubscript, Forbidden.*, ...)
// is permanent. A body that is not JSON is transient, except on a 4xx other than 408/429.
//
// Receipts (ChatAppStatus, pushed): a JSON array of {MessageId, To, Status, ErrorCode, TaskId, ...}.
//
// Correlation. The send's answer names only the batch (GroupMessageId); the receipts name CAMS's
// per-message MessageId, which the send never learns, and echo the TaskId the send gave. So every
// call carries a TaskId (the step's task_id, else the batch id: unique per call, and a retry is
// another batch id), and both sides build the same message_id from what each one sees:
//   an accepted recipient:  "<TaskId>/<To as sent>"          (To as sent: digits without '+' for
//   a receipt:              "<TaskId>/<To as CAMS wrote it>"  WhatsApp and Viber, the platform id
//                                                             for Messenger and Instagram)
// and a host matches a receipt to its outcome by equality. A receipt without TaskId (CAMS's default
// is TaskId = MessageId, so none is expected) falls back to its MessageId. A step's task_id is the
// same for every batch of the route, so its message_ids repeat from one job to the next: give one
// only when CAMS's reports must be grouped by it.
// CAMS documents TaskId as a free string (its example "10000****"); the batch id is sent as it is
// when it is 1 to 64 letters, digits, '-', '_' and '.' (the host's are "job_<hex>-<step>-<index>-<attempt>"),
// else as "sb-" and 32 hex digits of its SHA-256, so an odd host's ids cannot break the call.
//
// Route step: {"language": "en", "template_code": "..." | "template_name": "...",
//              "params": ["code"], "from": "...", "payload": ["..."],
//              "flow_action": {"FlowActionData": {...}, "FlowToken": "..."},
//              "product_action": {"ThumbnailProductRetailerId": "...", "Sections": [...]},
//              "task_id": "...", "fallback_id": "...", "fallback_content": "...",
//              "fallback_duration": 120, "fallback_rule": "undelivered" | "sentFailed",
//              "ttl": 3600, "label": "promotion" | "transaction", "tag": "..."}   (ttl/label/tag: Viber)
#include "cams_signature.hpp"

#include <switchboard/sdk.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace cams = switchboard::cams;

namespace {

constexpr std::size_t max_recipients = 1000;        // "單次請求支援最多 1,000 個號碼" (seed 003)
constexpr std::size_t max_sections = 10;            // ProductAction.Sections (seed 003)
constexpr std::size_t max_products = 30;            // products over all sections (seed 003)
constexpr std::int64_t min_fallback_duration = 60;  // FallBackDuration, seconds
constexpr std::int64_t max_fallback_duration = 43200;
constexpr std::int64_t min_ttl = 30;                // Viber Ttl, seconds
constexpr std::int64_t max_ttl = 1209600;
constexpr std::size_t max_platform_id = 64;         // a generous bound for page-/IG-scoped ids
constexpr std::size_t max_plain_task_id = 64;       // undocumented; longer batch ids are hashed
constexpr const char* default_endpoint = "https://cams.ap-southeast-1.aliyuncs.com";
constexpr const char* action = "SendChatappMassMessage";
constexpr const char* api_version = "2020-06-06";
constexpr const char* form_content_type = "application/x-www-form-urlencoded";
constexpr const char* empty_body_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---- small readers ---------------------------------------------------------------------------

bool all_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

bool alphanumeric(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
}

// ---- channels --------------------------------------------------------------------------------

enum class channel { whatsapp, messenger, instagram, viber };

std::optional<channel> channel_of(std::string_view name) {
    if (name == "whatsapp")
        return channel::whatsapp;
    if (name == "messenger")
        return channel::messenger;
    if (name == "instagram")
        return channel::instagram;
    if (name == "viber")
        return channel::viber;
    return std::nullopt;
}

bool phone_channel(channel c) { return c == channel::whatsapp || c == channel::viber; }

// Why `to` cannot be a recipient on `c`, or nothing. WhatsApp and Viber take E.164 numbers;
// Messenger and Instagram take the platform-scoped user id the page/account received.
std::optional<std::string> recipient_problem(channel c, std::string_view channel_name, const std::string& to) {
    if (phone_channel(c))
        return sdk::e164_problem(to, "+8613900000000");
    const std::string id_kind = c == channel::messenger ? "a page-scoped user id (PSID)" : "an Instagram-scoped user id";
    if (to.empty())
        return "is empty; " + std::string(channel_name) + " needs " + id_kind;
    if (to.front() == '+')
        return "is a phone number, but " + std::string(channel_name) + " needs " + id_kind + ", got '" + to + "'";
    if (!alphanumeric(to))
        return "must be " + id_kind + " of letters and digits only, got '" + to + "'";
    if (to.size() > max_platform_id)
        return "is " + std::to_string(to.size()) + " characters; " + id_kind + " has at most 64";
    return std::nullopt;
}

// `To` as CAMS wants it: digits without '+' for phone channels, the id as is otherwise.
std::string_view vendor_to(channel c, std::string_view to) { return phone_channel(c) ? to.substr(1) : to; }

// The one message_id an outcome and the receipts for it share (see the top of the file).
std::string correlation_id(std::string_view task_id, std::string_view vendor_to) {
    std::string id;
    id.reserve(task_id.size() + 1 + vendor_to.size());
    id.append(task_id).append(1, '/').append(vendor_to);
    return id;
}

// The sender as CAMS wants it, or throws naming `field`. WhatsApp and Viber: the sender number,
// digits with the country code ('+' tolerated and dropped); Messenger: the Page ID; Instagram:
// the professional account ID (letters and digits).
std::string vendor_from(channel c, const std::string& field, const std::string& from) {
    if (from.empty())
        throw sdk::field_error(field, "must not be empty");
    if (phone_channel(c)) {
        const std::string digits = from.front() == '+' ? from.substr(1) : from;
        if (!all_digits(digits))
            throw sdk::field_error(field, "must be the sender's number in digits with its country code (CAMS: "
                                          "InvalidParameter.FromOnlyNumeric), got '" + from + "'");
        if (digits.size() < 7 || digits.size() > 15)
            throw sdk::field_error(field, "must have 7 to 15 digits, got " + std::to_string(digits.size()) +
                                              " in '" + from + "'");
        return digits;
    }
    if (!alphanumeric(from) || from.size() > max_platform_id)
        throw sdk::field_error(field, std::string("must be the ") +
                                          (c == channel::messenger ? "Page ID" : "Instagram account ID") +
                                          " (letters and digits, at most 64), got '" + from + "'");
    return from;
}

// ---- configuration ---------------------------------------------------------------------------

enum class signature_style { acs3, v1 };

struct settings {
    std::string endpoint;  // scheme://host[:port], no trailing slash
    std::string host;      // host[:port], as the HTTP client writes the Host header
    std::string access_key_id;
    std::string access_key_secret;
    std::string cust_space_id;
    std::string from;
    signature_style style = signature_style::acs3;
    bool form = false;     // business parameters in a form body instead of the query
};

void refuse_unknown_settings(const sdk::object_reader& config) {
    static constexpr std::string_view known[] = {"endpoint",      "access_key_id", "access_key_secret",
                                                 "cust_space_id", "from",          "signature",
                                                 "parameters"};
    for (const auto& item : config.object())
        if (std::find(std::begin(known), std::end(known), item.key()) == std::end(known))
            throw sdk::field_error(sdk::child_path("config", item.key()), "is not a setting of the cams provider");
}

void read_endpoint(const sdk::object_reader& config, settings& out) {
    const std::string given = config.string_or("endpoint", default_endpoint);
    const sdk::base_url url = sdk::read_base_url(given, "config.endpoint");
    if (!url.path.empty())
        throw sdk::field_error("config.endpoint", "must not have a path (CAMS's RPC path is '/'), got '" + given + "'");
    out.endpoint = url.origin;
    out.host = url.host;
}


settings read_settings(const sdk::object_reader& config) {
    refuse_unknown_settings(config);
    settings out;
    read_endpoint(config, out);
    out.access_key_id = config.required_nonempty_string("access_key_id");
    out.access_key_secret = config.required_nonempty_string("access_key_secret");
    out.cust_space_id = config.required_nonempty_string("cust_space_id");
    out.from = config.required_nonempty_string("from");
    const std::string style = config.string_or("signature", "acs3");
    if (style == "acs3")
        out.style = signature_style::acs3;
    else if (style == "v1")
        out.style = signature_style::v1;
    else
        throw sdk::field_error("config.signature", "must be \"acs3\" or \"v1\", got '" + style + "'");
    const std::string placement = config.string_or("parameters", "form");
    if (placement != "query" && placement != "form")
        throw sdk::field_error("config.parameters", "must be \"query\" or \"form\", got '" + placement + "'");
    out.form = placement == "form";
    return out;
}

// ---- the route step --------------------------------------------------------------------------

struct route_step {
    channel chan = channel::whatsapp;
    std::string from;                       // as CAMS wants it
    std::string language;
    std::optional<std::string> template_code;
    std::optional<std::string> template_name;
    std::vector<std::string> params;
    std::optional<json::array> payload;
    std::optional<json::object> flow_action;
    std::optional<json::object> product_action;
    std::optional<std::string> fallback_id;
    std::optional<std::string> fallback_content;
    std::optional<std::int64_t> fallback_duration;
    std::optional<std::string> fallback_rule;
    std::optional<std::int64_t> ttl;
    std::optional<std::string> label;
    std::optional<std::string> tag;
};

std::optional<std::string> non_empty(const sdk::object_reader& step, std::string_view key) {
    std::optional<std::string> value = step.optional_string(key);
    if (value && value->empty())
        throw sdk::field_error(sdk::child_path("step", key), "must not be empty when given");
    return value;
}

std::vector<std::string> param_names(const sdk::object_reader& step) {
    std::vector<std::string> names;
    if (!step.has("params"))
        return names;
    const json::array& items = step.required_array("params");
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string() || items[i].get_string().empty())
            throw sdk::field_error(sdk::index_path("step.params", i), "must be a parameter name (a non-empty string)");
        const std::string name(items[i].get_string());
        if (std::find(names.begin(), names.end(), name) != names.end())
            throw sdk::field_error(sdk::index_path("step.params", i), "names '" + name + "' twice");
        names.push_back(name);
    }
    return names;
}

json::array read_payload(const sdk::object_reader& step) {
    const json::array& items = step.required_array("payload");
    for (std::size_t i = 0; i < items.size(); ++i)
        if (!items[i].is_string())
            throw sdk::field_error(sdk::index_path("step.payload", i),
                                   std::string("must be a string (a button's payload), not ") +
                                       sdk::object_reader::kind(items[i]));
    return items;
}

// {FlowActionData: {name: any}, FlowToken: string}, nothing else.
json::object read_flow_action(const sdk::object_reader& step) {
    const sdk::object_reader flow = step.required_object("flow_action");
    for (const auto& item : flow.object())
        if (item.key() != "FlowActionData" && item.key() != "FlowToken")
            throw sdk::field_error(sdk::child_path(flow.path(), item.key()),
                                   "is not a FlowAction field (FlowActionData, FlowToken)");
    if (flow.has("FlowActionData"))
        (void)flow.required_object("FlowActionData");
    if (flow.has("FlowToken"))
        (void)flow.required_string("FlowToken");
    return flow.object();
}

// {ThumbnailProductRetailerId, Sections: [{Title, ProductItems: [{ProductRetailerId}]}]}:
// at most 10 sections and 30 products in all.
json::object read_product_action(const sdk::object_reader& step) {
    const sdk::object_reader product = step.required_object("product_action");
    for (const auto& item : product.object())
        if (item.key() != "ThumbnailProductRetailerId" && item.key() != "Sections")
            throw sdk::field_error(sdk::child_path(product.path(), item.key()),
                                   "is not a ProductAction field (ThumbnailProductRetailerId, Sections)");
    if (product.has("ThumbnailProductRetailerId") && product.required_string("ThumbnailProductRetailerId").empty())
        throw sdk::field_error("step.product_action.ThumbnailProductRetailerId", "must not be empty");
    const json::array& sections = product.required_array("Sections");
    if (sections.empty())
        throw sdk::field_error("step.product_action.Sections", "must hold at least one section");
    if (sections.size() > max_sections)
        throw sdk::field_error("step.product_action.Sections", "has " + std::to_string(sections.size()) +
                                                                   " sections; CAMS takes at most 10");
    std::size_t products = 0;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const std::string path = sdk::index_path("step.product_action.Sections", i);
        if (!sections[i].is_object())
            throw sdk::field_error(path, "must be an object {Title, ProductItems}");
        const sdk::object_reader section(sections[i].get_object(), path);
        if (section.required_string("Title").empty())
            throw sdk::field_error(path + ".Title", "must not be empty");
        const json::array& items = section.required_array("ProductItems");
        if (items.empty())
            throw sdk::field_error(path + ".ProductItems", "must hold at least one product");
        for (std::size_t j = 0; j < items.size(); ++j) {
            const std::string item_path = sdk::index_path(path + ".ProductItems", j);
            if (!items[j].is_object())
                throw sdk::field_error(item_path, "must be an object {ProductRetailerId}");
            if (sdk::object_reader(items[j].get_object(), item_path).required_string("ProductRetailerId").empty())
                throw sdk::field_error(item_path + ".ProductRetailerId", "must not be empty");
        }
        products += items.size();
    }
    if (products > max_products)
        throw sdk::field_error("step.product_action.Sections", "hold " + std::to_string(products) +
                                                                   " products in all; CAMS takes at most 30");
    return product.object();
}

std::optional<std::int64_t> ranged(const sdk::object_reader& step, std::string_view key, std::int64_t low,
                                   std::int64_t high, std::string_view unit) {
    const std::optional<std::int64_t> value = step.optional_int(key);
    if (value && (*value < low || *value > high))
        throw sdk::field_error(sdk::child_path("step", key), "must be " + std::to_string(low) + " to " +
                                                                 std::to_string(high) + " " + std::string(unit) +
                                                                 ", got " + std::to_string(*value));
    return value;
}

void only_on(const sdk::object_reader& step, std::string_view key, bool allowed, std::string_view where,
             std::string_view channel_name) {
    if (step.has(key) && !allowed)
        throw sdk::field_error(sdk::child_path("step", key), "applies to " + std::string(where) + " only, not to " +
                                                                 std::string(channel_name));
}

// Throws sdk::field_error naming "channel", "step.<field>" or "config.from".
route_step read_step(const std::string& channel_name, const json::object& object, const settings& config) {
    const std::optional<channel> chan = channel_of(channel_name);
    if (!chan)
        throw sdk::field_error("channel", "must be whatsapp, messenger, instagram or viber, got '" + channel_name + "'");
    const sdk::object_reader step(object, "step");
    route_step out;
    out.chan = *chan;
    if (const std::optional<std::string> from = step.optional_string("from"))
        out.from = vendor_from(*chan, "step.from", *from);
    else
        out.from = vendor_from(*chan, "config.from", config.from);

    const std::optional<std::string> language = step.optional_string("language");
    if (!language)
        throw sdk::field_error("step.language", "is required (the template's language code, such as en or en_GB)");
    if (language->empty() || language->size() > 16 ||
        language->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != std::string::npos)
        throw sdk::field_error("step.language", "must be a language code such as en, id or en_GB, got '" + *language + "'");
    out.language = *language;

    out.template_code = non_empty(step, "template_code");
    out.template_name = non_empty(step, "template_name");
    if (!out.template_code && !out.template_name)
        throw sdk::field_error("step.template_code", "is required unless step.template_name is given");

    out.params = param_names(step);
    if (step.has("payload"))
        out.payload = read_payload(step);
    if (step.has("flow_action"))
        out.flow_action = read_flow_action(step);
    only_on(step, "product_action", *chan == channel::whatsapp, "whatsapp", channel_name);
    if (step.has("product_action"))
        out.product_action = read_product_action(step);

    (void)non_empty(step, "task_id");  // checked here; task_id_of() reads it, in decode too
    out.fallback_id = non_empty(step, "fallback_id");
    out.fallback_content = non_empty(step, "fallback_content");
    out.fallback_duration = ranged(step, "fallback_duration", min_fallback_duration, max_fallback_duration, "seconds");
    out.fallback_rule = step.optional_string("fallback_rule");
    if (out.fallback_rule && *out.fallback_rule != "undelivered" && *out.fallback_rule != "sentFailed")
        throw sdk::field_error("step.fallback_rule", "must be \"undelivered\" or \"sentFailed\", got '" +
                                                         *out.fallback_rule + "'");

    const bool viber = *chan == channel::viber;
    only_on(step, "ttl", viber, "viber", channel_name);
    only_on(step, "label", viber, "viber", channel_name);
    only_on(step, "tag", viber, "viber", channel_name);
    out.ttl = ranged(step, "ttl", min_ttl, max_ttl, "seconds");
    out.label = step.optional_string("label");
    if (out.label && *out.label != "promotion" && *out.label != "transaction")
        throw sdk::field_error("step.label", "must be \"promotion\" or \"transaction\", got '" + *out.label + "'");
    out.tag = non_empty(step, "tag");
    return out;
}

bool plain_task_id(std::string_view id) {
    return !id.empty() && id.size() <= max_plain_task_id && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' ||
               c == '.';
    });
}

// The TaskId `batch` is sent with (see the top of the file). Encode and decode both derive it from
// the batch, so the outcomes name the TaskId the receipts will echo.
std::string task_id_of(const sdk::batch& batch) {
    if (const json::value* given = batch.step.if_contains("task_id"); given != nullptr && given->is_string() &&
                                                                      !given->get_string().empty())
        return std::string(given->get_string());
    return plain_task_id(batch.id) ? batch.id : "sb-" + sdk::hex(sdk::sha256(batch.id)).substr(0, 32);
}

// ---- recipients ------------------------------------------------------------------------------

// Why a recipient's parameter cannot fill a template parameter, or nothing: CAMS takes text, and
// an integer is written as its digits.
std::optional<std::string> param_problem(const json::value* value) {
    if (value == nullptr || value->is_null())
        return "is required by step.params";
    if (value->is_string() || value->is_int64() || value->is_uint64())
        return std::nullopt;
    if (value->is_double())
        return "must be a string or an integer; write decimals as strings";
    return std::string("must be a string or a number, not ") + sdk::object_reader::kind(*value);
}

sdk::verdict recipient_verdict(const route_step& step, std::string_view channel_name, const sdk::recipient& r) {
    if (std::optional<std::string> problem = recipient_problem(step.chan, channel_name, r.to))
        return sdk::verdict::invalid("to", *problem);
    for (const std::string& name : step.params)
        if (std::optional<std::string> problem = param_problem(r.params.if_contains(name)))
            return sdk::verdict::invalid("params." + name, *problem);
    return sdk::verdict::valid();
}

// A parameter that passed param_problem, as a JSON string.
void append_param(std::string& out, const json::value& value) {
    if (value.is_string())
        sdk::append_json_string(out, value.get_string());
    else
        sdk::append_json_string(out, value.is_int64() ? std::to_string(value.get_int64()) : std::to_string(value.get_uint64()));
}

// ---- answers ---------------------------------------------------------------------------------

// x-acs-retry-after, read as integer milliseconds (openapi-core's getThrottlingTimeLeft sleeps
// for that many ms); else Retry-After in seconds; else -1.
std::int64_t retry_hint_ms(const sdk::http_response& response) {
    if (const std::string* value = response.find_header("x-acs-retry-after")) {
        std::int64_t ms = 0;
        const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), ms);
        if (ec == std::errc() && ms >= 0)
            return ms;
    }
    return response.retry_after_ms();
}

bool transient_code(std::string_view code) {
    // SignatureNonceUsed: a retry is encoded at another time, so it carries another nonce.
    return code == "System.LimitControl" || code.rfind("Throttling", 0) == 0 || code == "InternalError" ||
           code == "ServiceUnavailable" || code.rfind("ServiceUnavailable.", 0) == 0 || code == "SignatureNonceUsed";
}

bool authentication_code(std::string_view code) {
    return code == "SignatureDoesNotMatch" || code.rfind("InvalidAccessKeyId", 0) == 0 ||
           code == "IncompleteSignature" || code == "InvalidTimeStamp.Expired";
}

// Throws unless CAMS took the batch.
void require_accepted(const sdk::http_response& response) {
    const std::int64_t hint = retry_hint_ms(response);
    const bool has_hint_header = response.find_header("x-acs-retry-after") != nullptr;
    const std::string http = "CAMS answered HTTP " + std::to_string(response.status);
    boost::system::error_code ec;
    const json::value doc = json::parse(response.body, ec);
    const json::object* answer = ec ? nullptr : doc.if_object();
    if (answer == nullptr) {
        // A gateway or proxy page: CAMS itself always answers JSON.
        if (response.status >= 400 && response.status < 500 && response.status != 408 && response.status != 429 &&
            !has_hint_header)
            throw sdk::error(sdk::status::permanent, http + " without a JSON body: " + sdk::excerpt(response.body));
        throw sdk::error(sdk::status::transient, http + ", and the body is not a JSON object: " +
                                                     sdk::excerpt(response.body), hint);
    }
    const std::string code = sdk::text_field(*answer, "Code");
    const bool ok_status = response.status >= 200 && response.status <= 299;
    if (ok_status && code == "OK")
        return;
    const std::string message = sdk::text_field(*answer, "Message");
    const std::string request_id = sdk::text_field(*answer, "RequestId");
    const std::string said = http + " Code " + (code.empty() ? "(none)" : code) + ": " +
                             (message.empty() ? "(no Message)" : message) +
                             (request_id.empty() ? "" : " (RequestId " + request_id + ")");
    if (transient_code(code) || has_hint_header || response.status == 408 || response.status == 429 ||
        response.status >= 500)
        throw sdk::error(sdk::status::transient, said, hint);
    if (authentication_code(code) || (code.empty() && (response.status == 401 || response.status == 403)))
        throw sdk::error(sdk::status::authentication, said + ": check access_key_id and access_key_secret");
    if (ok_status && code.empty())
        throw sdk::error(sdk::status::transient, "CAMS answered HTTP " + std::to_string(response.status) +
                                                     " without a Code: " + sdk::excerpt(response.body), hint);
    throw sdk::error(sdk::status::permanent, said);
}

// ---- receipts --------------------------------------------------------------------------------

// A receipt's To in the host's form: "+digits" for a phone number (7 to 15 digits), else as is
// (Messenger/Instagram ids; a 16+ digit PSID stays as CAMS wrote it).
std::string host_to(const std::string& to) {
    if (all_digits(to) && to.size() >= 7 && to.size() <= 15)
        return "+" + to;
    return to;
}

std::optional<sdk::receipt> read_receipt(const json::value& item, const std::string& path) {
    if (!item.is_object())
        throw sdk::field_error(path, "must be an object");
    const sdk::object_reader r(item.get_object(), path);
    const std::string status = r.required_string("Status");
    // Viber's subscribe/unsubscribe report on the user, not on a message.
    if (status == "subscribe" || status == "unsubscribe")
        return std::nullopt;
    sdk::receipt out;
    const std::string message_id = sdk::text_field(r.object(), "MessageId");
    if (message_id.empty())
        throw sdk::field_error(path + ".MessageId", "is required");
    const std::string to = sdk::text_field(r.object(), "To");
    const std::string task_id = sdk::text_field(r.object(), "TaskId");
    out.message_id = task_id.empty() ? message_id : correlation_id(task_id, to);
    out.to = host_to(to);
    if (status == "Delivered" || status == "Read") {
        out.status = sdk::delivery::delivered;
    } else if (status == "Failed") {
        out.status = sdk::delivery::undelivered;
        out.code = sdk::text_field(r.object(), "ErrorCode");
        out.reason = sdk::text_field(r.object(), "ErrorDescription");
        if (out.reason.empty())
            out.reason = sdk::text_field(r.object(), "StatusDescription");
    } else {
        out.status = sdk::delivery::pending;  // Sent, and whatever CAMS adds later
        if (status != "Sent")
            out.reason = "unrecognised Status '" + status + "'";
    }
    if (const json::value* at = r.object().if_contains("Timestamp"))
        if (at->is_int64() || at->is_uint64())
            out.at_unix_ms = r.int_or("Timestamp", 0);
    return out;
}

// ---- the provider ----------------------------------------------------------------------------

class cams_provider final : public sdk::provider {
public:
    static constexpr bool names_messages_in_advance = true;  // see do_message_ids

    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "cams";
        m.version = "1.0.0";
        m.description = "Alibaba Cloud Chat App Message Service (SendChatappMassMessage): WhatsApp, Messenger, "
                        "Instagram and Viber templates, up to 1000 recipients per call, with pushed receipts";
        m.channels = {"whatsapp", "messenger", "instagram", "viber"};
        m.max_recipients_per_call = static_cast<int>(max_recipients);
        m.grouping = {"template_code", "template_name", "language", "from"};
        m.receipts = "push";
        m.thread_safe = true;
        m.transient_errors = {"System.LimitControl", "Throttling", "Throttling.User", "Throttling.Api",
                              "InternalError", "ServiceUnavailable", "SignatureNonceUsed"};
        m.requests_per_second = 10;  // "單使用者 QPS 限制為 10 次/秒" (seed 003)
        m.recipients_per_second = 0;
        m.config_schema = json::parse(R"schema({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["access_key_id", "access_key_secret", "cust_space_id", "from"],
            "properties": {
                "endpoint": {"type": "string", "pattern": "^https?://[^/?#]+/?$",
                             "default": "https://cams.ap-southeast-1.aliyuncs.com",
                             "description": "scheme and host of the CAMS API; the RPC path is /"},
                "access_key_id": {"type": "string", "minLength": 1, "description": "the AccessKey ID"},
                "access_key_secret": {"type": "string", "minLength": 1, "writeOnly": true,
                                      "description": "the AccessKey secret; a secret"},
                "cust_space_id": {"type": "string", "minLength": 1,
                                  "description": "CustSpaceId: the channel instance id (cams-...)"},
                "from": {"type": "string", "minLength": 1,
                         "description": "the sender: WhatsApp/Viber number with country code, Messenger Page ID or Instagram account ID; a route step's from overrides it"},
                "signature": {"enum": ["acs3", "v1"], "default": "acs3",
                              "description": "acs3: ACS3-HMAC-SHA256 headers (the SDK default); v1: RPC HMAC-SHA1 query signature"},
                "parameters": {"enum": ["query", "form"], "default": "form",
                               "description": "form: the business parameters in an application/x-www-form-urlencoded body (the current SDK); query: in the URL, which a full batch makes too long for most servers"}
            },
            "additionalProperties": false
        })schema");
        // The step's own keys, checked by the host at start for every route step on this plugin.
        m.step_schema = json::parse(R"schema({
            "type": "object",
            "required": ["language"],
            "anyOf": [{"required": ["template_code"]}, {"required": ["template_name"]}],
            "properties": {
                "from": {"type": "string", "description": "the sender; default: the instance's"},
                "language": {"type": "string", "pattern": "^[A-Za-z_-]{1,16}$"},
                "template_code": {"type": "string", "minLength": 1},
                "template_name": {"type": "string", "minLength": 1},
                "params": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "payload": {"type": "array", "items": {"type": "string"}},
                "flow_action": {"type": "object"},
                "product_action": {"type": "object"},
                "task_id": {"type": "string", "minLength": 1},
                "fallback_id": {"type": "string", "minLength": 1},
                "fallback_content": {"type": "string", "minLength": 1},
                "fallback_duration": {"type": "integer"},
                "fallback_rule": {"enum": ["undelivered", "sentFailed"]},
                "ttl": {"type": "integer"},
                "label": {"enum": ["promotion", "transaction"]},
                "tag": {"type": "string", "minLength": 1}
            },
            "additionalProperties": false
        })schema");
        return m;
    }

    cams_provider(const sdk::host& host, const sdk::object_reader& config)
        : provider(host), settings_(read_settings(config)) {}

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return sdk::verdicts_for(
            request, [&] { return read_step(request.channel, request.step, settings_); },
            [&](const route_step& step, const sdk::recipient& r) { return recipient_verdict(step, request.channel, r); });
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t now_unix_ms) override {
        if (batch.recipients.size() > max_recipients)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " +
                                                         std::to_string(batch.recipients.size()) +
                                                         " recipients; CAMS takes at most 1000 per call");
        const route_step step = step_of(batch);
        // SenderList is written as text: a thousand small JSON objects built only to be printed cost
        // more than the rest of the call.
        const std::string shared = shared_sender_fields(step);
        std::string senders = "[";
        senders.reserve(batch.recipients.size() * (48 + shared.size()));
        for (std::size_t i = 0; i < batch.recipients.size(); ++i)
            append_sender(senders, step, shared, batch, i);
        senders += ']';

        std::vector<cams::parameter> query{{"ChannelType", batch.channel},
                                           {"CustSpaceId", settings_.cust_space_id},
                                           {"From", step.from},
                                           {"Language", step.language},
                                           {"SenderList", std::move(senders)}};
        const auto add = [&](const char* name, const auto& value) {
            if (value)
                query.emplace_back(name, to_text(*value));
        };
        add("TemplateCode", step.template_code);
        add("TemplateName", step.template_name);
        query.emplace_back("TaskId", task_id_of(batch));
        add("FallBackId", step.fallback_id);
        add("FallBackContent", step.fallback_content);
        add("FallBackDuration", step.fallback_duration);
        add("FallBackRule", step.fallback_rule);
        add("Ttl", step.ttl);
        add("Label", step.label);
        add("Tag", step.tag);
        return signed_request(std::move(query), nonce(batch.id, now_unix_ms), now_unix_ms);
    }

    // Code OK takes every recipient; their ids come from the TaskId the call carried, so an answer
    // without GroupMessageId loses nothing.
    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        require_accepted(response);
        std::vector<sdk::outcome> outcomes;
        outcomes.reserve(batch.recipients.size());
        for (sdk::named_message& named : do_message_ids(batch))
            outcomes.push_back(sdk::outcome::accepted(std::move(named.id), std::move(named.message_id)));
        return outcomes;
    }

    // The same ids, without an answer: the receipts of a call whose answer was lost still find
    // their recipients.
    std::vector<sdk::named_message> do_message_ids(const sdk::batch& batch) override {
        const std::string task_id = task_id_of(batch);
        const std::optional<channel> chan = channel_of(batch.channel);
        std::vector<sdk::named_message> named;
        named.reserve(batch.recipients.size());
        for (const sdk::recipient& r : batch.recipients)
            named.push_back({r.id, correlation_id(task_id, chan && r.to.size() > 1 ? vendor_to(*chan, r.to) : r.to)});
        return named;
    }

    // CAMS's HTTP status push (ChatAppStatus) carries no signature or token in its documentation:
    // nothing here can tell a forged callback from a real one, so the host must protect its receipt
    // URL (a secret path, an IP allow-list of Alibaba's senders, TLS).
    sdk::receipt_batch do_parse_receipt(const sdk::http_request& callback, std::int64_t) override {
        if (callback.method != "POST")
            throw sdk::error(sdk::status::permanent, "CAMS posts receipts; got a " + callback.method + " request");
        boost::system::error_code ec;
        const json::value doc = json::parse(callback.body, ec);
        if (ec || !doc.is_array())
            throw sdk::error(sdk::status::permanent,
                             "a CAMS receipt callback is a JSON array of status reports; got " +
                                 sdk::excerpt(callback.body));
        sdk::receipt_batch out;
        const json::array& items = doc.get_array();
        for (std::size_t i = 0; i < items.size(); ++i)
            if (std::optional<sdk::receipt> r = read_receipt(items[i], sdk::index_path("receipts", i)))
                out.receipts.push_back(std::move(*r));
        out.reply.status = 200;
        out.reply.content_type = "application/json";
        out.reply.body = R"({"code":"ok"})";
        return out;
    }

private:
    route_step step_of(const sdk::batch& batch) const {
        try {
            return read_step(batch.channel, batch.step, settings_);
        } catch (const sdk::field_error& e) {
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + e.what());
        }
    }

    static std::string to_text(const std::string& value) { return value; }
    static std::string to_text(std::int64_t value) { return std::to_string(value); }

    // The per-message objects every SenderList item carries, as the JSON members after its To.
    static std::string shared_sender_fields(const route_step& step) {
        std::string out;
        if (step.payload)
            out += ",\"Payload\":" + json::serialize(*step.payload);
        if (step.flow_action)
            out += ",\"FlowAction\":" + json::serialize(*step.flow_action);
        if (step.product_action)
            out += ",\"ProductAction\":" + json::serialize(*step.product_action);
        return out;
    }

    // One SenderList item: To, the template's parameters, and the step's per-message objects.
    static void append_sender(std::string& out, const route_step& step, const std::string& shared,
                              const sdk::batch& batch, std::size_t i) {
        const sdk::recipient& r = batch.recipients[i];
        const sdk::verdict checked = recipient_verdict(step, batch.channel, r);
        if (!checked.ok)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + ": " + sdk::index_path("recipients", i) + "." +
                                                         checked.field + ": " + checked.reason);
        out += i == 0 ? "{\"To\":" : ",{\"To\":";
        sdk::append_json_string(out, vendor_to(step.chan, r.to));
        if (!step.params.empty()) {
            out += ",\"TemplateParams\":{";
            for (std::size_t p = 0; p < step.params.size(); ++p) {
                if (p > 0)
                    out += ',';
                sdk::append_json_string(out, step.params[p]);
                out += ':';
                append_param(out, *r.params.if_contains(step.params[p]));
            }
            out += '}';
        }
        out += shared;
        out += '}';
    }

    // `business` goes in the query (or, with parameters "form", in a form body); the signature
    // goes in headers (acs3) or in the query (v1).
    sdk::http_request signed_request(std::vector<cams::parameter> business, const std::string& nonce,
                                     std::int64_t now_unix_ms) const {
        sdk::http_request out;
        out.method = "POST";
        const std::string date = sdk::utc_iso8601(now_unix_ms);
        std::vector<cams::parameter> query;
        if (settings_.form) {
            out.body = cams::canonical_query(business);
            out.headers.push_back({"content-type", form_content_type});
        } else {
            query = std::move(business);
        }
        if (settings_.style == signature_style::v1) {
            query.insert(query.end(), {{"Format", "JSON"},
                                       {"Version", api_version},
                                       {"Action", action},
                                       {"AccessKeyId", settings_.access_key_id},
                                       {"SignatureMethod", "HMAC-SHA1"},
                                       {"SignatureVersion", "1.0"},
                                       {"SignatureNonce", nonce},
                                       {"Timestamp", date}});
            std::vector<cams::parameter> signed_params = query;  // v1 signs the form's parameters too
            if (settings_.form)
                signed_params.insert(signed_params.end(), business.begin(), business.end());
            const std::string signature = cams::rpc_v1_signature("POST", signed_params, settings_.access_key_secret);
            out.url = settings_.endpoint + "/?" + cams::canonical_query(query) +
                      "&Signature=" + sdk::percent_encode(signature);
            return out;
        }
        const std::string body_hash = settings_.form ? sdk::hex(sdk::sha256(out.body)) : empty_body_sha256;
        std::vector<cams::parameter> headers{{"host", settings_.host},
                                             {"x-acs-action", action},
                                             {"x-acs-version", api_version},
                                             {"x-acs-date", date},
                                             {"x-acs-signature-nonce", nonce},
                                             {"x-acs-content-sha256", body_hash}};
        if (settings_.form)
            headers.emplace_back("content-type", form_content_type);
        const cams::acs3_parts parts =
            cams::acs3_sign("POST", "/", query, headers, body_hash, settings_.access_key_secret);
        out.url = settings_.endpoint + "/" + (query.empty() ? "" : "?" + cams::canonical_query(std::move(query)));
        for (const cams::parameter& h : headers)
            if (h.first != "host" && h.first != "content-type")  // the HTTP client writes Host from the URL
                out.headers.push_back({h.first, h.second});
        out.headers.push_back({"Authorization", cams::acs3_authorization(settings_.access_key_id, parts)});
        return out;
    }

    static std::string nonce(std::string_view batch_id, std::int64_t now_unix_ms) {
        return sdk::hex(sdk::sha256(std::string(batch_id) + "@" + std::to_string(now_unix_ms))).substr(0, 32);
    }

    const settings settings_;
};

} // namespace

SWITCHBOARD_PROVIDER(cams_provider)
