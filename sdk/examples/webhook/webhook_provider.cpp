// A generic HTTP JSON webhook provider: posts each batch as JSON to a configured URL and reads a
// result per recipient back. Useful on its own (hand messages to a service of your own), and the
// example to copy when writing a provider for a new vendor.
//
// Request:  POST {url}  Authorization: Bearer {token}  Idempotency-Key: {batch id}
//           {"batch_id": "...", "job_id": "...", "channel": "webhook", "step": {...},
//            "recipients": [{"id": "...", "to": "...", "params": {...}}]}
// Response: 2xx {"results": [{"id": "...", "status": "accepted" | "rejected" | "retry",
//                            "message_id": "...", "code": "...", "reason": "..."}]}
// Receipts: POST to the host, body {"receipts": [{"message_id": "...", "status": "delivered" |
//           "undelivered", "reason": "...", "at_unix_ms": 0}]}, signed with
//           X-Webhook-Signature: sha256=hex(HMAC-SHA256(signing_secret, body)).
#include <switchboard/sdk.hpp>

#include <unordered_map>

namespace sdk = switchboard::sdk;
namespace json = boost::json;

namespace {

constexpr int largest_max_recipients = 10000;
constexpr std::size_t longest_recipient = 256;
constexpr const char* signature_header = "X-Webhook-Signature";



class webhook_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "webhook";
        m.version = "1.0.0";
        m.description = "Posts each batch as JSON to a URL of yours and reads per-recipient results back";
        m.channels = {"webhook"};
        m.max_recipients_per_call = largest_max_recipients;
        m.receipts = "push";
        m.thread_safe = true;
        m.config_schema = json::parse(R"schema({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "description": "where batches are posted (http or https)"},
                "token": {"type": "string", "description": "sent as Authorization: Bearer; a secret"},
                "signing_secret": {"type": "string", "description": "HMAC key receipts are signed with; a secret"},
                "max_recipients_per_call": {"type": "integer", "minimum": 1, "maximum": 10000}
            },
            "additionalProperties": false
        })schema");
        return m;
    }

    webhook_provider(const sdk::host& host, const sdk::object_reader& config)
        : provider(host),
          url_(config.required_string("url")),
          token_(config.string_or("token", "")),
          signing_secret_(config.string_or("signing_secret", "")),
          max_recipients_(config.int_or("max_recipients_per_call", largest_max_recipients)) {
        if (url_.rfind("http://", 0) != 0 && url_.rfind("https://", 0) != 0)
            throw sdk::field_error("config.url", "must start with http:// or https://, got '" + url_ + "'");
        if (max_recipients_ < 1 || max_recipients_ > largest_max_recipients)
            throw sdk::field_error("config.max_recipients_per_call",
                                   "must be between 1 and 10000, got " + std::to_string(max_recipients_));
        for (const auto& [key, value] : config.object())
            if (key != "url" && key != "token" && key != "signing_secret" && key != "max_recipients_per_call")
                throw sdk::field_error(sdk::child_path("config", key), "is not a setting of the webhook provider");
        if (signing_secret_.empty())
            this->host().warning("no signing_secret configured: every pushed receipt will be refused");
    }

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        std::vector<sdk::verdict> verdicts;
        verdicts.reserve(request.recipients.size());
        for (const sdk::recipient& r : request.recipients) {
            if (r.to.empty())
                verdicts.push_back(sdk::verdict::invalid("to", "is empty"));
            else if (r.to.size() > longest_recipient)
                verdicts.push_back(sdk::verdict::invalid("to", "is longer than 256 bytes"));
            else
                verdicts.push_back(sdk::verdict::valid());
        }
        return verdicts;
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t) override {
        if (batch.recipients.size() > static_cast<std::size_t>(max_recipients_))
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " +
                                                         std::to_string(batch.recipients.size()) +
                                                         " recipients; this instance takes at most " +
                                                         std::to_string(max_recipients_) + " per call");
        json::object body = sdk::to_json(batch);
        body["batch_id"] = body["id"];
        body.erase("id");
        sdk::http_request request;
        request.method = "POST";
        request.url = url_;
        request.headers.push_back({"Content-Type", "application/json"});
        request.headers.push_back({"Idempotency-Key", batch.id});
        if (!token_.empty())
            request.headers.push_back({"Authorization", "Bearer " + token_});
        request.body = json::serialize(body);
        return request;
    }

    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        const int status = response.status;
        if (status == 401 || status == 403)
            throw sdk::error(sdk::status::authentication,
                             "the webhook refused our credentials (HTTP " + std::to_string(status) + "): check token");
        if (status == 408 || status == 429 || status >= 500)
            throw sdk::error(sdk::status::transient,
                             "the webhook answered HTTP " + std::to_string(status) + ": " + sdk::excerpt(response.body),
                             response.retry_after_ms());
        if (status < 200 || status > 299)
            throw sdk::error(sdk::status::permanent,
                             "the webhook answered HTTP " + std::to_string(status) + ": " + sdk::excerpt(response.body));
        return decode_results(batch, response.body);
    }

    sdk::receipt_batch do_parse_receipt(const sdk::http_request& callback, std::int64_t) override {
        const std::string* signature = callback.find_header(signature_header);
        if (signing_secret_.empty())
            throw sdk::error(sdk::status::authentication, "receipt refused: no signing_secret is configured");
        if (signature == nullptr)
            throw sdk::error(sdk::status::authentication, std::string("receipt refused: no ") + signature_header + " header");
        const std::string expected = "sha256=" + sdk::hex(sdk::hmac_sha256(signing_secret_, callback.body));
        if (!sdk::constant_time_equal(*signature, expected))
            throw sdk::error(sdk::status::authentication, "receipt refused: the signature does not match the body");

        const json::object doc = sdk::parse_object(callback.body, "receipt");
        const json::array& items = sdk::object_reader(doc, "receipt").required_array("receipts");
        sdk::receipt_batch out;
        for (std::size_t i = 0; i < items.size(); ++i)
            out.receipts.push_back(parse_one_receipt(items[i], sdk::index_path("receipt.receipts", i)));
        return out;
    }

private:
    std::vector<sdk::outcome> decode_results(const sdk::batch& batch, const std::string& body) {
        boost::system::error_code ec;
        const json::value doc = json::parse(body, ec);
        const json::value* results = !ec && doc.is_object() ? doc.get_object().if_contains("results") : nullptr;
        if (results == nullptr || !results->is_array()) {
            // The webhook took the batch but its answer says nothing usable: we cannot know who got it.
            std::vector<sdk::outcome> unknown;
            for (const sdk::recipient& r : batch.recipients)
                unknown.push_back(sdk::outcome::unknown(r.id, "the webhook's answer has no results array: " + sdk::excerpt(body)));
            return unknown;
        }
        std::unordered_map<std::string, const json::object*> by_id;
        for (const json::value& item : results->get_array())
            if (const json::object* o = item.if_object())
                if (const json::value* id = o->if_contains("id"); id != nullptr && id->is_string())
                    by_id.emplace(std::string(id->get_string()), o);

        std::vector<sdk::outcome> outcomes;
        outcomes.reserve(batch.recipients.size());
        for (const sdk::recipient& r : batch.recipients) {
            auto it = by_id.find(r.id);
            outcomes.push_back(it == by_id.end() ? sdk::outcome::unknown(r.id, "the webhook returned no result for it")
                                                 : decode_one(r.id, sdk::object_reader(*it->second, "results")));
        }
        return outcomes;
    }

    static sdk::outcome decode_one(const std::string& id, const sdk::object_reader& result) {
        const std::string status = result.string_or("status", "");
        const std::string code = result.string_or("code", "");
        const std::string reason = result.string_or("reason", "");
        if (status == "accepted")
            return sdk::outcome::accepted(id, result.string_or("message_id", ""));
        if (status == "rejected")
            return sdk::outcome::rejected(id, code, reason);
        if (status == "retry")
            return sdk::outcome::transient(id, code, reason, result.int_or("retry_after_ms", -1));
        return sdk::outcome::unknown(id, "unknown result status '" + status + "'");
    }

    static sdk::receipt parse_one_receipt(const json::value& item, const std::string& path) {
        if (!item.is_object())
            throw sdk::field_error(path, "must be an object");
        const sdk::object_reader r(item.get_object(), path);
        sdk::receipt out;
        out.message_id = r.required_string("message_id");
        const std::string status = r.required_string("status");
        if (status == "delivered")
            out.status = sdk::delivery::delivered;
        else if (status == "undelivered")
            out.status = sdk::delivery::undelivered;
        else
            throw sdk::field_error(sdk::child_path(path, "status"), "must be delivered or undelivered, got '" + status + "'");
        out.reason = r.string_or("reason", "");
        out.at_unix_ms = r.int_or("at_unix_ms", 0);
        return out;
    }

    std::string url_;
    std::string token_;
    std::string signing_secret_;
    std::int64_t max_recipients_;
};

} // namespace

SWITCHBOARD_PROVIDER(webhook_provider)
