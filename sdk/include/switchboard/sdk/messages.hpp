// The typed documents a plugin works with, and their JSON forms as provider.h describes them.
#pragma once

#include <switchboard/sdk/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace switchboard::sdk {

// ---- HTTP ------------------------------------------------------------------------------------

struct header {
    std::string name;
    std::string value;
};

namespace detail {
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

inline const std::string* find_header(const std::vector<header>& headers, std::string_view name) {
    for (const header& h : headers)
        if (iequals(h.name, name))
            return &h.value;
    return nullptr;
}
} // namespace detail

struct http_request {
    std::string method = "POST";
    std::string url;
    std::vector<header> headers;
    std::string body;

    // The first header of that name (case-insensitive), or nullptr.
    const std::string* find_header(std::string_view name) const { return detail::find_header(headers, name); }
};

struct http_response {
    int status = 0;
    std::vector<header> headers;
    std::string body;

    const std::string* find_header(std::string_view name) const { return detail::find_header(headers, name); }

    // The Retry-After header in whole seconds, as milliseconds (at most a day: a vendor asking for
    // longer is not taken at its word); -1 when absent or an HTTP date.
    std::int64_t retry_after_ms() const {
        const std::string* value = find_header("Retry-After");
        std::int64_t seconds = 0;
        if (value == nullptr ||
            std::from_chars(value->data(), value->data() + value->size(), seconds).ec != std::errc() || seconds < 0)
            return -1;
        return std::min<std::int64_t>(seconds, 86'400) * 1000;
    }
};

// The start of a vendor's answer, for error messages: enough to recognise it, never a whole page.
inline std::string excerpt(std::string_view body, std::size_t shown = 120) {
    return body.size() <= shown ? std::string(body) : std::string(body.substr(0, shown)) + "...";
}

// ---- recipients and batches -----------------------------------------------------------------

struct recipient {
    std::string id;         // the host's id, echoed in outcomes; empty in validation requests
    std::string to;         // E.164 number, or a platform id for channels that use them
    json::object params;    // the job's named parameters for this recipient
};

// What validate() is asked about.
struct validation_request {
    std::string channel;
    json::object step;      // the route step: template, sender, parameter mapping, ...
    std::vector<recipient> recipients;
};

// One batch for one vendor call.
struct batch {
    std::string id;
    std::string job_id;
    std::string channel;
    json::object step;
    std::optional<std::int64_t> send_at_unix_ms;
    std::vector<recipient> recipients;
};

namespace detail {

// The object at `key` of `parent`, moved out: it keeps the document's arena, so this costs a
// pointer's worth of work, not a copy of its values. An empty object when there is none.
// `parent_path()` names the parent, for an error only (most documents have none).
template <class ParentPath>
json::object take_object(json::object& parent, std::string_view key, ParentPath parent_path) {
    json::value* v = parent.if_contains(key);
    if (v == nullptr)
        return json::object(parent.storage());
    if (!v->is_object())
        throw field_error(child_path(parent_path(), key), std::string("must be an object, not ") + object_reader::kind(*v));
    return json::object(std::move(v->get_object()));
}

inline std::string document_root() { return {}; }

inline std::string take_string(const json::object& item, std::string_view key, std::size_t index) {
    const json::value* v = item.if_contains(key);
    if (v == nullptr || !v->is_string())   // the path is written only for an error: most recipients have none
        throw field_error(child_path(index_path("recipients", index), key),
                          v == nullptr ? "is required" : std::string("must be a string, not ") + object_reader::kind(*v));
    return std::string(v->get_string());
}

inline std::vector<recipient> take_recipients(json::object& doc, bool with_id) {
    json::value* list = doc.if_contains("recipients");
    if (list == nullptr)
        throw field_error("recipients", "is required");
    if (!list->is_array())
        throw field_error("recipients", std::string("must be an array, not ") + object_reader::kind(*list));
    json::array& items = list->get_array();
    std::vector<recipient> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_object())
            throw field_error(index_path("recipients", i), "must be an object");
        json::object& item = items[i].get_object();
        std::string id = with_id ? take_string(item, "id", i) : std::string();
        std::string to = take_string(item, "to", i);
        out.push_back(recipient{std::move(id), std::move(to), take_object(item, "params", [i] { return index_path("recipients", i); })});
    }
    return out;
}

} // namespace detail

inline validation_request validation_request_from_json(std::string_view text) {
    json::object doc = parse_object(text, "validation request");
    std::string channel = object_reader(doc, "").required_string("channel");
    json::object step = detail::take_object(doc, "step", detail::document_root);
    return validation_request{std::move(channel), std::move(step), detail::take_recipients(doc, false)};
}

inline batch batch_from_json(std::string_view text) {
    json::object doc = parse_object(text, "batch");
    const object_reader r(doc, "");
    std::string id = r.required_string("id");
    std::string job_id = r.string_or("job_id", "");
    std::string channel = r.required_string("channel");
    const std::optional<std::int64_t> send_at = r.optional_int("send_at_unix_ms");
    json::object step = detail::take_object(doc, "step", detail::document_root);
    return batch{std::move(id), std::move(job_id), std::move(channel), std::move(step), send_at,
                 detail::take_recipients(doc, true)};
}

inline json::object to_json(const recipient& r) {
    json::object o;
    if (!r.id.empty())
        o["id"] = r.id;
    o["to"] = r.to;
    o["params"] = r.params;
    return o;
}

inline json::object to_json(const batch& b) {
    json::array recipients;
    for (const recipient& r : b.recipients)
        recipients.push_back(to_json(r));
    json::object o{{"id", b.id}, {"job_id", b.job_id}, {"channel", b.channel}, {"step", b.step}};
    if (b.send_at_unix_ms)
        o["send_at_unix_ms"] = *b.send_at_unix_ms;
    o["recipients"] = std::move(recipients);
    return o;
}

// ---- verdicts and outcomes --------------------------------------------------------------------

struct verdict {
    bool ok = true;
    std::string field;      // which field of the recipient is wrong ("to", "params.code")
    std::string reason;     // why, in words an operator can act on

    static verdict valid() { return {}; }
    static verdict invalid(std::string field, std::string reason) {
        return {false, std::move(field), std::move(reason)};
    }
};

// Validates every recipient of `request` against one route step: `read_step()` reads the step once
// (a field_error it throws refuses every recipient with the step's field and reason), then
// `check(step, recipient)` gives each recipient's verdict.
template <class ReadStep, class Check>
std::vector<verdict> verdicts_for(const validation_request& request, ReadStep read_step, Check check) {
    std::optional<std::decay_t<decltype(read_step())>> step;
    verdict step_problem;
    try {
        step = read_step();
    } catch (const field_error& e) {
        step_problem = verdict::invalid(e.path(), e.reason());
    }
    std::vector<verdict> verdicts;
    verdicts.reserve(request.recipients.size());
    for (const recipient& r : request.recipients)
        verdicts.push_back(step ? check(*step, r) : step_problem);
    return verdicts;
}

enum class result { accepted, rejected, transient, unknown };

inline const char* to_string(result r) noexcept {
    switch (r) {
    case result::accepted: return "accepted";
    case result::rejected: return "rejected";
    case result::transient: return "transient";
    case result::unknown: return "unknown";
    }
    return "unknown";
}

// What became of one recipient of a vendor call.
struct outcome {
    std::string id;
    result kind = result::unknown;
    std::string message_id;       // the vendor's id, when accepted
    std::string code;             // the vendor's error code, when not
    std::string reason;
    std::int64_t retry_after_ms = -1;

    static outcome accepted(std::string id, std::string message_id) {
        return {std::move(id), result::accepted, std::move(message_id), {}, {}, -1};
    }
    static outcome rejected(std::string id, std::string code, std::string reason) {
        return {std::move(id), result::rejected, {}, std::move(code), std::move(reason), -1};
    }
    static outcome transient(std::string id, std::string code, std::string reason, std::int64_t retry_after_ms = -1) {
        return {std::move(id), result::transient, {}, std::move(code), std::move(reason), retry_after_ms};
    }
    static outcome unknown(std::string id, std::string reason) {
        return {std::move(id), result::unknown, {}, {}, std::move(reason), -1};
    }
};

inline json::object to_json(const verdict& v) {
    if (v.ok)
        return {{"ok", true}};
    return {{"ok", false}, {"field", v.field}, {"reason", v.reason}};
}

inline json::object to_json(const outcome& o) {
    json::object out{{"id", o.id}, {"result", to_string(o.kind)}};
    if (!o.message_id.empty())
        out["message_id"] = o.message_id;
    if (!o.code.empty())
        out["code"] = o.code;
    if (!o.reason.empty())
        out["reason"] = o.reason;
    if (o.retry_after_ms >= 0)
        out["retry_after_ms"] = o.retry_after_ms;
    return out;
}

// A JSON string, quoted and escaped, appended to `out`: for plugins that write a vendor's JSON as
// text. Runs of plain characters are appended
// whole: ids and numbers, the bulk of every result, have nothing to escape.
inline void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (c != '"' && c != '\\' && u >= 0x20)
            continue;
        out.append(text, plain_from, i - plain_from);
        plain_from = i + 1;
        if (u >= 0x20) {
            out += '\\';
            out += c;
        } else {
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 0xF];
        }
    }
    out.append(text, plain_from, std::string_view::npos);
    out += '"';
}

namespace detail {

// {"verdicts": [...]}, written as text: a thousand small objects built only to be printed cost more
// than the validation itself.
inline std::string verdicts_json(const std::vector<verdict>& verdicts) {
    std::string out = "{\"verdicts\":[";
    out.reserve(16 + verdicts.size() * 12);
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        if (i > 0)
            out += ',';
        if (verdicts[i].ok) {
            out += "{\"ok\":true}";
            continue;
        }
        out += "{\"ok\":false,\"field\":";
        append_json_string(out, verdicts[i].field);
        out += ",\"reason\":";
        append_json_string(out, verdicts[i].reason);
        out += '}';
    }
    out += "]}";
    return out;
}

// {"outcomes": [...]}, written as text, for the same reason.
inline std::string outcomes_json(const std::vector<outcome>& outcomes) {
    std::string out = "{\"outcomes\":[";
    out.reserve(16 + outcomes.size() * (48 + (outcomes.empty() ? 0 : outcomes.front().message_id.size())));
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const outcome& o = outcomes[i];
        out += i == 0 ? "{\"id\":" : ",{\"id\":";
        append_json_string(out, o.id);
        out += ",\"result\":\"";
        out += to_string(o.kind);
        out += '"';
        for (const auto& [key, value] : {std::pair{"message_id", &o.message_id}, {"code", &o.code}, {"reason", &o.reason}})
            if (!value->empty()) {
                out += ",\"";
                out += key;
                out += "\":";
                append_json_string(out, *value);
            }
        if (o.retry_after_ms >= 0)
            out += ",\"retry_after_ms\":" + std::to_string(o.retry_after_ms);
        out += '}';
    }
    out += "]}";
    return out;
}

} // namespace detail

// The message id the vendor will name a recipient by (extension switchboard.message_ids/1).
struct named_message {
    std::string id;           // the recipient's id in the batch
    std::string message_id;
};

namespace detail {

inline std::string message_ids_json(const std::vector<named_message>& named) {
    std::string out = "{\"message_ids\":[";
    for (std::size_t i = 0; i < named.size(); ++i) {
        out += i == 0 ? "{\"id\":" : ",{\"id\":";
        append_json_string(out, named[i].id);
        out += ",\"message_id\":";
        append_json_string(out, named[i].message_id);
        out += '}';
    }
    out += "]}";
    return out;
}

} // namespace detail

// ---- receipts ---------------------------------------------------------------------------------

enum class delivery { delivered, undelivered, pending };

inline const char* to_string(delivery d) noexcept {
    switch (d) {
    case delivery::delivered: return "delivered";
    case delivery::undelivered: return "undelivered";
    case delivery::pending: return "pending";
    }
    return "pending";
}

struct receipt {
    std::string message_id;
    std::string to;
    delivery status = delivery::pending;
    std::string code;
    std::string reason;
    std::int64_t at_unix_ms = 0;
};

// What the host answers the vendor that posted a callback.
struct receipt_reply {
    int status = 200;
    std::string content_type;
    std::string body;
};

struct receipt_batch {
    std::vector<receipt> receipts;
    receipt_reply reply;
};

struct receipt_query {
    std::vector<std::string> message_ids;
    std::int64_t since_unix_ms = 0;
};

inline receipt_query receipt_query_from_json(std::string_view text) {
    const json::object doc = parse_object(text, "receipt query");
    const object_reader r(doc, "");
    receipt_query out;
    const json::array& ids = r.required_array("message_ids");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].is_string())
            throw field_error(index_path("message_ids", i), "must be a string");
        out.message_ids.emplace_back(ids[i].get_string());
    }
    out.since_unix_ms = r.int_or("since_unix_ms", 0);
    return out;
}

inline json::object to_json(const receipt_batch& batch) {
    json::array receipts;
    for (const receipt& r : batch.receipts) {
        json::object o{{"message_id", r.message_id}, {"status", to_string(r.status)}};
        if (!r.to.empty())
            o["to"] = r.to;
        if (!r.code.empty())
            o["code"] = r.code;
        if (!r.reason.empty())
            o["reason"] = r.reason;
        if (r.at_unix_ms != 0)
            o["at_unix_ms"] = r.at_unix_ms;
        receipts.push_back(std::move(o));
    }
    return {{"receipts", std::move(receipts)},
            {"reply", {{"status", batch.reply.status},
                       {"content_type", batch.reply.content_type},
                       {"body", batch.reply.body}}}};
}

// ---- the manifest -----------------------------------------------------------------------------

struct manifest {
    std::string name;
    std::string version;
    std::string description;
    std::vector<std::string> channels;
    int max_recipients_per_call = 1;
    std::vector<std::string> grouping;
    double requests_per_second = 0;       // 0: no limit of the vendor's
    double recipients_per_second = 0;
    std::string receipts = "none";        // "none" | "push" | "pull"
    bool thread_safe = false;
    bool vendor_scheduling = false;       // encode() has the vendor hold a call until the batch's send_at_unix_ms
    std::vector<std::string> transient_errors;
    json::value config_schema = json::object{{"type", "object"}};
    json::value step_schema = nullptr;    // JSON Schema of a route step's own keys; null: none (ABI 1.1)
};

inline json::object to_json(const manifest& m) {
    const auto strings = [](const std::vector<std::string>& items) {
        json::array a;
        for (const std::string& s : items)
            a.emplace_back(s);
        return a;
    };
    json::object out{{"name", m.name},
            {"version", m.version},
            {"abi", std::to_string(SB_ABI_VERSION_MAJOR) + "." + std::to_string(SB_ABI_VERSION_MINOR)},
            {"description", m.description},
            {"channels", strings(m.channels)},
            {"max_recipients_per_call", m.max_recipients_per_call},
            {"grouping", strings(m.grouping)},
            {"rate_limits", {{"requests_per_second", m.requests_per_second},
                             {"recipients_per_second", m.recipients_per_second}}},
            {"receipts", m.receipts},
            {"thread_safe", m.thread_safe},
            {"vendor_scheduling", m.vendor_scheduling},
            {"transient_errors", strings(m.transient_errors)},
            {"config_schema", m.config_schema}};
    if (!m.step_schema.is_null())
        out["step_schema"] = m.step_schema;
    return out;
}

} // namespace switchboard::sdk
