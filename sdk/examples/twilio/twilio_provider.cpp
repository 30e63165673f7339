// A provider for a Twilio-style SMS API, written with the SDK's helpers: one recipient per call,
// a form body, HTTP Basic credentials, and status callbacks signed in the URL's name.
//
// Request:  POST {endpoint}/2010-04-01/Accounts/{account_sid}/Messages.json
//           Authorization: Basic base64(account_sid:auth_token)
//           I-Twilio-Idempotency-Token: {batch id}
//           To={to}&From={from}&Body={the step's body, {name} filled from params}[&StatusCallback=...]
// Answer:   201 {"sid": "SM...", "status": "queued"}; 400 {"code": 21211, "message": "..."}
// Callback: POST form MessageSid, MessageStatus, To, ErrorCode, signed with X-Twilio-Signature:
//           base64(HMAC-SHA1(auth_token, URL + each field's name and value, sorted by name)).
#include <switchboard/sdk.hpp>

#include <algorithm>

namespace sdk = switchboard::sdk;
namespace json = boost::json;

namespace {

class twilio_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "twilio";
        m.version = "1.0.0";
        m.description = "SMS through a Twilio-style API: a form body per message, signed status callbacks";
        m.channels = {"sms"};
        m.max_recipients_per_call = 1;
        m.requests_per_second = 1;   // a long code's pace
        m.receipts = "push";
        m.thread_safe = true;
        m.config_schema = json::parse(R"({"type": "object", "required": ["account_sid", "auth_token", "from"],
            "properties": {"account_sid": {"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$"},
                           "auth_token": {"type": "string", "minLength": 1, "writeOnly": true},
                           "from": {"type": "string", "minLength": 1}, "endpoint": {"type": "string"},
                           "status_callback": {"type": "string"}},
            "additionalProperties": false})");
        m.step_schema = json::parse(R"({"type": "object", "required": ["body"],
            "properties": {"body": {"type": "string", "minLength": 1}}, "additionalProperties": false})");
        return m;
    }

    twilio_provider(const sdk::host& host, const sdk::object_reader& config) : provider(host) {
        sdk::settings_reader settings(config.object());
        settings.refuse_unknown({"account_sid", "auth_token", "from", "endpoint", "status_callback"});
        sid_ = settings.required_string("account_sid");
        token_ = settings.required_secret("auth_token");
        from_ = settings.required_string("from");
        callback_ = settings.string_or("status_callback", "");
        const std::string endpoint = settings.string_or("endpoint", "https://api.twilio.com");
        settings.finish();
        const sdk::base_url base = sdk::read_base_url(endpoint, "config.endpoint");
        url_ = base.origin + base.path + "/2010-04-01/Accounts/" + sid_ + "/Messages.json";
    }

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return sdk::verdicts_for(request, [&] { return body_of(request.step); }, [](const std::string& body, const sdk::recipient& r) {
            if (const auto problem = sdk::e164_problem(r.to, "+14155550100"))
                return sdk::verdict::invalid("to", *problem);
            try {
                sdk::render_named(body, r.params);
            } catch (const sdk::field_error& e) {
                return sdk::verdict::invalid(e.path(), e.reason());
            }
            return sdk::verdict::valid();
        });
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t) override {
        if (batch.recipients.size() != 1)
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " + std::to_string(batch.recipients.size()) +
                                                         " recipients; a Twilio-style API takes one per call");
        const sdk::recipient& r = batch.recipients.front();
        sdk::form body{{"To", r.to}, {"From", from_}, {"Body", sdk::render_named(body_of(batch.step), r.params)}};
        if (!callback_.empty())
            body.push_back({"StatusCallback", callback_});
        return {"POST", url_,
                {{"Authorization", "Basic " + sdk::base64(sid_ + ":" + token_)},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"I-Twilio-Idempotency-Token", batch.id}},
                sdk::form_encode(body)};
    }

    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        const std::string& id = batch.recipients.front().id;
        boost::system::error_code ec;
        const json::value answer = json::parse(response.body, ec);
        const json::object* fields = ec ? nullptr : answer.if_object();
        if (response.status == 400 && fields != nullptr)   // this recipient refused: an invalid number, say
            return {sdk::outcome::rejected(id, sdk::text_field(*fields, "code"), sdk::text_field(*fields, "message"))};
        sdk::throw_for_status(response, "the Twilio-style API");
        const std::string sid = fields != nullptr ? sdk::text_field(*fields, "sid") : "";
        if (sid.empty())   // taken, as its 2xx says, but under which id we cannot tell
            return {sdk::outcome::unknown(id, "a 2xx answer without a message sid: " + sdk::excerpt(response.body))};
        return {sdk::outcome::accepted(id, sid)};
    }

    sdk::receipt_batch do_parse_receipt(const sdk::http_request& callback, std::int64_t) override {
        const sdk::form fields = sdk::form_decode(callback.body, "callback");
        const std::string* signature = callback.find_header("X-Twilio-Signature");
        if (signature == nullptr || !sdk::constant_time_equal(*signature, signature_of(callback.url, fields)))
            throw sdk::error(sdk::status::authentication, "status callback refused: its X-Twilio-Signature does not match");
        const std::string* sid = sdk::form_value(fields, "MessageSid");
        const std::string* status = sdk::form_value(fields, "MessageStatus");
        if (sid == nullptr || sid->empty() || status == nullptr)
            throw sdk::field_error("callback", "has no MessageSid or MessageStatus");
        sdk::receipt r;
        r.message_id = *sid;
        r.to = sdk::form_value(fields, "To") != nullptr ? *sdk::form_value(fields, "To") : "";
        r.code = sdk::form_value(fields, "ErrorCode") != nullptr ? *sdk::form_value(fields, "ErrorCode") : "";
        r.status = *status == "delivered" ? sdk::delivery::delivered
                   : *status == "undelivered" || *status == "failed" ? sdk::delivery::undelivered
                                                                     : sdk::delivery::pending;
        return {{r}, {}};
    }

private:
    static std::string body_of(const json::object& step) { return sdk::object_reader(step, "step").required_nonempty_string("body"); }

    std::string signature_of(const std::string& url, sdk::form fields) const {
        std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        std::string signed_text = url;
        for (const sdk::form_field& f : fields)
            signed_text += f.name + f.value;
        return sdk::base64(sdk::hmac_sha1(token_, signed_text));
    }

    std::string sid_, token_, from_, callback_, url_;
};

} // namespace

SWITCHBOARD_PROVIDER(twilio_provider)
