#include "receipts_api.hpp"

#include <switchboard/core/dispatcher.hpp>
#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/sqlite_job_store.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace switchboard::host {

namespace json = boost::json;

namespace {

http_server_response refusal(int status, const std::string& code, const std::string& message) {
    return {status, "application/json", json::serialize(json::object{{"code", code}, {"message", message}})};
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The callback as the plugin sees it: an absolute URL, as the vendor addressed it.
core::http_request as_callback(const http_server_request& request, const callback_origin& origin) {
    core::http_request callback{request.method, callback_url(request, origin), {}, request.body};
    for (const auto& [name, value] : request.headers)
        callback.headers.push_back({name, value});
    return callback;
}

bool same_token(const std::string& given, const std::string& expected) {
    return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

} // namespace

receipts_api::receipts_api(core::dispatcher& dispatcher, const core::provider_map& providers,
                           std::map<std::string, std::string> tokens, callback_origin origin)
    : dispatcher_(dispatcher), providers_(providers), tokens_(std::move(tokens)), origin_(std::move(origin)) {}

http_server_response receipts_api::handle(const http_server_request& request) {
    const auto url = boost::urls::parse_origin_form(request.target);
    if (!url)
        return refusal(400, "invalid_request", "the request target is not a valid path");
    const std::string instance = std::string(url->path()).substr(receipts_path_prefix.size());
    const auto provider = providers_.find(instance);
    if (provider == providers_.end())
        return refusal(404, "not_found", "no provider instance named '" + core::excerpt(instance) + "'");
    if (request.method != "POST" && request.method != "GET") {
        http_server_response refused = refusal(405, "method_not_allowed", "vendors POST receipts here");
        refused.headers.emplace_back("Allow", "GET, POST");
        return refused;
    }
    if (const auto token = tokens_.find(instance); token != tokens_.end()) {
        const auto given = url->params().find("token");
        if (given == url->params().end() || !same_token((*given).value, token->second)) {
            spdlog::warn("provider {}: receipt callback refused: missing or wrong token", instance);
            return refusal(401, "unauthorized", "this receipt URL needs its token");
        }
    }
    const core::http_request callback = as_callback(request, origin_);
    const core::plugin_call_result parsed = provider->second->parse_receipt(callback, now_ms());
    if (!parsed.breach.empty())
        dispatcher_.note_breach(instance, parsed.breach, "in parse_receipt");
    if (!parsed.ok()) {
        const bool forged = parsed.status == SB_STATUS_AUTHENTICATION;
        // The URL as the plugin checked it (a signature may cover it), without its query: a token.
        spdlog::warn("provider {}: receipt callback to {} {}: {}", instance, callback.url.substr(0, callback.url.find('?')),
                     forged ? "failed verification" : "refused", parsed.error);
        // The caller is not authenticated: it learns that the callback was refused, not why (the
        // plugin's reason can describe what a valid signature needs). The operator reads it above.
        return forged ? refusal(401, "unauthorized", "the callback failed verification")
                      : refusal(400, "invalid_receipt", "the callback could not be read as receipts");
    }
    try {
        const core::receipt_tally tally = dispatcher_.apply_receipts(instance, parsed.json);
        spdlog::info("provider {}: receipts: {} applied, {} ignored, {} for no known message yet (kept)", instance,
                     tally.applied, tally.ignored, tally.unmatched);
    } catch (const core::too_many_receipts& e) {
        spdlog::warn("provider {}: receipt callback refused: {}", instance, e.what());
        return refusal(413, "too_large", e.what());
    } catch (const core::store_error& e) {
        // Not applied: answer an error so that the vendor sends them again later.
        spdlog::error("provider {}: receipts could not be recorded: {}", instance, e.what());
        return refusal(503, "store_unavailable", "the receipts could not be recorded; send them again later");
    } catch (const std::exception& e) {
        spdlog::error("provider {}: its plugin's receipts cannot be read: {}", instance, e.what());
        return refusal(502, "provider_error", "the receipts could not be read");
    }
    const json::value doc = json::parse(parsed.json);
    if (const json::value* reply = doc.as_object().if_contains("reply"); reply != nullptr && reply->is_object()) {
        const json::object& r = reply->get_object();
        const auto text = [&r](std::string_view key) {
            const json::value* v = r.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        const json::value* status = r.if_contains("status");
        return {status != nullptr && status->is_int64() ? static_cast<int>(status->get_int64()) : 200,
                text("content_type").empty() ? "text/plain" : text("content_type"), text("body")};
    }
    return {200, "text/plain", ""};
}

} // namespace switchboard::host
