#include "job_request.hpp"

#include "json_body.hpp"
#include "rfc3339.hpp"

#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/phone_numbers.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/algorithm/string/trim.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace switchboard::host {

namespace json = boost::json;

namespace {

// How far ahead a job may be scheduled: far enough for any campaign, near enough that every time
// the dispatcher waits for stays a plain timer (a wait of centuries overflows one).
constexpr std::int64_t furthest_ahead_ms = 366LL * 24 * 3600 * 1000;

// An optional RFC 3339 time field of the job: milliseconds, or 0 when absent.
std::int64_t time_field(const json::object& doc, std::string_view field, std::int64_t now) {
    const json::value* v = doc.if_contains(field);
    if (v == nullptr)
        return 0;
    const std::string example = "must be an RFC 3339 time such as \"2026-11-23T17:00:00Z\"";
    if (!v->is_string())
        throw bad_request{std::string(field), example};
    const rfc3339_time t = parse_rfc3339(v->get_string());
    if (!t.ok())
        throw bad_request{std::string(field), example + ": " + t.problem};
    if (t.unix_ms > now + furthest_ahead_ms)
        throw bad_request{std::string(field), "must be at most 366 days from now"};
    return t.unix_ms;
}

// A number as people write it: 5, 1.5, 0.001 (Boost.JSON would write 1.5E0).
std::string decimal_text(const json::value& number) {
    if (!number.is_double())
        return json::serialize(number);
    char text[64];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, number.get_double());
    return ec == std::errc() ? std::string(text, end) : json::serialize(number);
}

// Parameters are named strings; numbers are taken as their decimal text.
json::object read_params(const json::value* v, const std::string& path) {
    if (v == nullptr)
        return {};
    if (!v->is_object())
        throw bad_request{path, "must be an object of named parameters"};
    json::object out;
    for (const auto& [key, value] : v->get_object()) {
        if (value.is_string())
            out[key] = value;
        else if (value.is_int64() || value.is_uint64() || value.is_double())
            out[key] = decimal_text(value);
        else
            throw bad_request{path + "." + std::string(key), "must be a string or a number"};
    }
    return out;
}

// The "recipients" array of a job or page; indexes start at `first_index`.
std::vector<core::recipient> read_recipients(const json::object& doc, const json::object& job_params,
                                             std::int64_t first_index, bool may_be_empty) {
    const json::value* list = doc.if_contains("recipients");
    if (list == nullptr && may_be_empty)
        return {};
    if (list == nullptr)
        throw bad_request{"recipients", "is required"};
    if (!list->is_array() || (list->get_array().empty() && !may_be_empty))
        throw bad_request{"recipients", "must be a non-empty array"};
    std::vector<core::recipient> out;
    out.reserve(list->get_array().size());
    for (const json::value& item : list->get_array()) {
        const std::string path = "recipients[" + std::to_string(out.size()) + "]";
        if (!item.is_object())
            throw bad_request{path, "must be an object with at least \"to\""};
        const json::object& r = item.get_object();
        only_known_fields(r, path, {"to", "ref", "params"});
        const json::value* to = r.if_contains("to");
        if (to == nullptr || !to->is_string() || to->get_string().empty())
            throw bad_request{path + ".to", "is required: the recipient's number or platform id"};
        const json::value* ref = r.if_contains("ref");
        if (ref != nullptr && !ref->is_string())
            throw bad_request{path + ".ref", "must be a string"};
        json::object params = job_params;
        for (auto& [key, value] : read_params(r.if_contains("params"), path + ".params"))
            params[key] = value;
        core::recipient rec;
        rec.index = first_index + static_cast<std::int64_t>(out.size());
        rec.to = std::string(to->get_string());
        rec.ref = ref != nullptr ? std::string(ref->get_string()) : "";
        rec.params_json = json::serialize(params);
        out.push_back(std::move(rec));
    }
    return out;
}

} // namespace

// Refuses a field the API does not know: a typo ("sendat") must not pass for "send now".
void only_known_fields(const json::object& o, const std::string& path, std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : o)
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string names;
            for (std::string_view k : known)
                names += (names.empty() ? "" : ", ") + std::string(k);
            throw bad_request{(path.empty() ? "" : path + ".") + core::excerpt(key), "is not a known field (known: " + names + ")"};
        }
}

// The request's JSON body, which must be declared so (a form or plain text is not taken for JSON).
json::object read_json_request(const http_server_request& request) {
    const auto content_type = std::find_if(request.headers.begin(), request.headers.end(), [](const auto& h) {
        return boost::algorithm::iequals(h.first, "Content-Type");
    });
    const std::string_view media = content_type == request.headers.end()
                                       ? std::string_view()
                                       : std::string_view(content_type->second).substr(0, content_type->second.find(';'));
    if (!boost::algorithm::iequals(boost::algorithm::trim_copy(std::string(media)), "application/json"))
        throw unsupported_media{};
    json_body body = read_json_body(request.body);
    if (!body.problem.empty())
        throw bad_request{body.field, body.problem};
    return std::move(body.document);
}


std::size_t characters(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

job_request read_job_request(const http_server_request& request, std::int64_t now_ms) {
    job_request out;
    out.document = read_json_request(request);
    const json::object& doc = out.document;
    only_known_fields(doc, "", {"route", "recipients", "params", "region", "open", "idempotency_key", "send_at", "deadline"});
    const json::value* route = doc.if_contains("route");
    if (route == nullptr || !(route->is_string() || route->is_array() || route->is_object()))
        throw bad_request{"route", "is required: the name of a configured route, an array of steps, or {\"rules\": [...]}"};
    out.route = *route;
    if (const json::value* given = doc.if_contains("region")) {
        if (!given->is_string() || !core::is_supported_region(given->get_string()))
            throw bad_request{"region", "must be a region code such as \"HK\" or \"CN\" (ISO 3166-1 alpha-2)"};
        out.region = std::string(given->get_string());
    }
    const json::value* open = doc.if_contains("open");
    if (open != nullptr && !open->is_bool())
        throw bad_request{"open", "must be true (to add recipients in pages, then start) or false"};
    out.open = open != nullptr && open->get_bool();
    if (const json::value* k = doc.if_contains("idempotency_key")) {
        if (!k->is_string() || k->get_string().empty() || characters(k->get_string()) > 200)
            throw bad_request{"idempotency_key", "must be a string of 1 to 200 characters"};
        out.idempotency_key = std::string(k->get_string());
    }
    out.send_at_ms = time_field(doc, "send_at", now_ms);
    if (doc.contains("deadline")) {
        out.deadline_ms = time_field(doc, "deadline", now_ms);
        if (out.deadline_ms <= std::max(out.send_at_ms, now_ms))
            throw bad_request{"deadline", "must be later than now and than send_at"};
    }
    out.recipients = read_recipients(doc, read_params(doc.if_contains("params"), "params"), 0, out.open);
    return out;
}

std::vector<core::recipient> read_page_request(const http_server_request& request) {
    const json::object doc = read_json_request(request);
    only_known_fields(doc, "", {"recipients", "params"});
    return read_recipients(doc, read_params(doc.if_contains("params"), "params"), 0, false);
}

} // namespace switchboard::host
