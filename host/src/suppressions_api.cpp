#include "suppressions_api.hpp"

#include "api_answers.hpp"
#include "job_request.hpp"

#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/phone_numbers.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/sqlite_job_store.hpp>
#include <switchboard/core/unix_time.hpp>

#include <boost/algorithm/string/trim.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>


namespace switchboard::host {

namespace json = boost::json;

namespace {

constexpr std::size_t most_entries_a_request = 10'000;
constexpr std::size_t longest_address = 256;
constexpr std::size_t longest_reason = 500;
constexpr std::size_t largest_page = 1000;

std::string string_field(const json::object& o, std::string_view key, const std::string& path, bool required,
                         std::size_t longest) {
    const json::value* v = o.if_contains(key);
    const std::string field = path + "." + std::string(key);
    if (v == nullptr) {
        if (required)
            throw bad_request{field, "is required"};
        return {};
    }
    if (!v->is_string())
        throw bad_request{field, "must be a string"};
    const std::string text = boost::algorithm::trim_copy(std::string(v->get_string()));
    if (required && text.empty())
        throw bad_request{field, "must not be empty"};
    if (text.size() > longest)
        throw bad_request{field, "is longer than " + std::to_string(longest) + " bytes"};
    return text;
}

json::object entry_json(const core::suppression& e) {
    return {{"address", e.address}, {"channel", e.channel}, {"reason", e.reason}, {"created_at_ms", e.created_at_ms}};
}

} // namespace

suppressions_api::suppressions_api(core::job_store& store, const core::provider_map& providers, std::string default_region)
    : store_(store), default_region_(std::move(default_region)) {
    for (const auto& [name, instance] : providers)
        for (const std::string& channel : instance->owner().manifest().channels)
            channels_.insert(channel);
}

std::optional<http_server_response> suppressions_api::handle(const http_server_request& request) {
    const auto url = boost::urls::parse_origin_form(request.target);
    if (!url)
        return std::nullopt;
    const std::string path = url->path();
    const std::string prefix = "/v1/suppressions";
    if (path.rfind(prefix, 0) != 0 || (path.size() > prefix.size() && path[prefix.size()] != '/'))
        return std::nullopt;
    try {
        if (path == prefix && request.method == "GET")
            return list(request.target);
        if (path == prefix && request.method == "POST")
            return add(request);
        if (path.size() > prefix.size() + 1 && request.method == "DELETE")
            return remove(path.substr(prefix.size() + 1), request.target);
        const std::string allowed = path.size() > prefix.size() ? "DELETE" : "GET, POST";
        http_server_response refused = error_answer(405, "method_not_allowed",
                                             core::excerpt(request.method) + " " + path + " is not served: use " + allowed);
        refused.headers.emplace_back("Allow", allowed);
        return refused;
    } catch (const bad_request& bad) {
        return error_answer(400, "invalid_request", bad.message, bad.field);
    } catch (const unsupported_media&) {
        return error_answer(415, "unsupported_media_type", "send the body as JSON, with the header Content-Type: application/json");
    } catch (const core::store_error& e) {
        spdlog::error("{} {}: {}", request.method, path, e.what());
        return error_answer(503, "store_unavailable", "the job store is not available; try again later");
    }
}

void suppressions_api::check_channel(const std::string& channel, const std::string& field) const {
    if (channel == core::every_channel || channels_.count(channel) != 0)
        return;
    std::string known = core::every_channel;
    for (const std::string& c : channels_)
        known += ", " + c;
    throw bad_request{field, "no provider serves channel '" + core::excerpt(channel) + "' (channels: " + known + ")"};
}

std::string suppressions_api::stored_address(const std::string& address, const std::string& channel,
                                             const std::string& field) const {
    const bool phone_channel = channel != core::every_channel && core::addressed_by_phone_number(channel);
    if (channel != core::every_channel && !phone_channel)
        return address;   // a platform's own user id, kept as given
    const core::phone_number_verdict number = core::normalise_phone_number(address, default_region_);
    if (number.ok())
        return number.e164;
    if (phone_channel)
        throw bad_request{field, "'" + core::excerpt(address, core::longest_phone_number_text) +
                                     "' is not a valid phone number: " + number.reason};
    return address;   // every channel: an id of a platform that does not address people by number
}

http_server_response suppressions_api::list(const std::string& target) const {
    const boost::urls::url_view url = *boost::urls::parse_origin_form(target);
    const std::size_t offset = query_number(url.params(), "offset", 0, std::numeric_limits<std::int64_t>::max());
    const std::size_t limit = query_number(url.params(), "limit", 100, largest_page);
    const std::vector<core::suppression> page = store_.suppressions(offset, limit);
    json::array entries;
    for (const core::suppression& e : page)
        entries.push_back(entry_json(e));
    json::object body{{"suppressions", std::move(entries)}};
    body["next_offset"] = page.size() == limit && !page.empty() ? json::value(offset + limit) : json::value(nullptr);
    return json_answer(200, body);
}

http_server_response suppressions_api::add(const http_server_request& request) {
    const json::object doc = read_json_request(request);
    only_known_fields(doc, "", {"entries"});
    const json::value* list = doc.if_contains("entries");
    if (list == nullptr || !list->is_array() || list->get_array().empty())
        throw bad_request{"entries", "must be a non-empty array of {\"address\", \"channel\", \"reason\"}"};
    if (list->get_array().size() > most_entries_a_request)
        throw bad_request{"entries", "holds at most " + std::to_string(most_entries_a_request) + " entries a request"};
    const std::int64_t now = core::unix_now_ms();
    std::vector<core::suppression> entries;
    for (std::size_t i = 0; i < list->get_array().size(); ++i) {
        const std::string path = "entries[" + std::to_string(i) + "]";
        const json::value& item = list->get_array()[i];
        if (!item.is_object())
            throw bad_request{path, "must be an object with \"address\""};
        only_known_fields(item.get_object(), path, {"address", "channel", "reason"});
        std::string channel = string_field(item.get_object(), "channel", path, false, 64);
        if (channel.empty())
            channel = core::every_channel;
        check_channel(channel, path + ".channel");
        const std::string given = string_field(item.get_object(), "address", path, true, longest_address);
        entries.push_back({stored_address(given, channel, path + ".address"), channel,
                           string_field(item.get_object(), "reason", path, false, longest_reason), now});
    }
    const std::size_t added = store_.add_suppressions(entries);
    spdlog::info("suppression list: {} entr{} added, {} updated (client {})", added, added == 1 ? "y" : "ies",
                 entries.size() - added, request.client);
    return json_answer(200, json::object{{"added", added}, {"updated", entries.size() - added}});
}

http_server_response suppressions_api::remove(const std::string& address, const std::string& target) {
    const boost::urls::url_view url = *boost::urls::parse_origin_form(target);
    std::string channel = core::every_channel;
    if (auto it = url.params().find("channel"); it != url.params().end())
        channel = (*it).value;
    check_channel(channel, "channel");
    const std::string stored = stored_address(address, channel, "address");
    if (!store_.remove_suppression(stored, channel))
        return error_answer(404, "not_found", "'" + core::excerpt(stored) + "' is not on the suppression list for " +
                                           (channel == core::every_channel ? std::string("every channel") : channel));
    return json_answer(200, json::object{{"removed", json::object{{"address", stored}, {"channel", channel}}}});
}

} // namespace switchboard::host
