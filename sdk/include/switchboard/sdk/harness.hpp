// A test harness for a plugin's own tests: it loads the built .so and drives it through the C ABI
// as the daemon does (no daemon, no HTTP server, no core library), with documents built from the
// SDK's types and canned vendor answers. Every call's output is held to the ABI's rules (a known
// status, one write, a reason for each failure, one verdict and one outcome per recipient): a
// broken rule throws harness::violation naming the call and the rule. A call that fails as the
// plugin meant it throws sdk::error with the plugin's status, message and retry hint.
#pragma once

#include <switchboard/provider.h>
#include <switchboard/sdk/error.hpp>
#include <switchboard/sdk/json.hpp>
#include <switchboard/sdk/messages.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::sdk::harness {

class violation : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

inline std::string_view view(sb_str s) { return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size); }
inline sb_str str(std::string_view s) { return sb_str{s.data(), s.size()}; }
constexpr sb_abi_version abi{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};

// What one call wrote, and how often.
struct output {
    sb_output raw{};
    int json_writes = 0, request_writes = 0, error_writes = 0;
    std::string json, error;
    std::int64_t retry_after_ms = -1;
    std::optional<http_request> request;

    output() {
        raw.struct_size = sizeof raw;
        raw.abi = abi;
        raw.context = this;
        raw.write_json = [](void* c, sb_str s) {
            auto* self = static_cast<output*>(c);
            ++self->json_writes;
            self->json.assign(view(s));
        };
        raw.write_request = [](void* c, const sb_http_request* r) {
            auto* self = static_cast<output*>(c);
            ++self->request_writes;
            http_request copy;
            copy.method = std::string(view(r->method));
            copy.url = std::string(view(r->url));
            copy.body = std::string(view(r->body));
            for (std::size_t i = 0; i < r->header_count; ++i)
                copy.headers.push_back({std::string(view(r->headers[i].name)), std::string(view(r->headers[i].value))});
            self->request = std::move(copy);
        };
        raw.set_error = [](void* c, sb_str s, std::int64_t retry) {
            auto* self = static_cast<output*>(c);
            ++self->error_writes;
            self->error.assign(view(s));
            self->retry_after_ms = retry;
        };
    }
    output(const output&) = delete;
    output& operator=(const output&) = delete;

    // Holds the call to the output's rules; throws sdk::error when it failed as the plugin meant.
    void settle(sb_status status, const std::string& call) const {
        if (status < SB_STATUS_OK || status > SB_STATUS_INTERNAL)
            throw violation(call + " returned the status " + std::to_string(status) + ", which provider.h does not define");
        if (json_writes + request_writes > 1 || error_writes > 1)
            throw violation(call + " wrote its result or its error more than once");
        if (status != SB_STATUS_OK) {
            if (error.empty())
                throw violation(call + " failed without a reason (set_error)");
            throw sdk::error(static_cast<sdk::status>(status), error, retry_after_ms);
        }
        if (error_writes > 0)
            throw violation(call + " succeeded but set an error");
    }
};

inline json::array result_array(const std::string& text, const char* member, const std::string& call) {
    boost::system::error_code ec;
    const json::value doc = json::parse(text, ec);
    const json::value* list = !ec && doc.is_object() ? doc.get_object().if_contains(member) : nullptr;
    if (list == nullptr || !list->is_array())
        throw violation(call + " wrote no {\"" + std::string(member) + "\": [...]} document: " + excerpt(text));
    return list->get_array();
}

} // namespace detail

// The plugin library at `path`, loaded and checked as the daemon checks it.
class plugin {
public:
    explicit plugin(const std::string& path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        if (handle_ == nullptr)
            throw violation(path + ": cannot be loaded: " + dlerror());
        const auto entry = reinterpret_cast<sb_entry_fn>(dlsym(handle_, SB_ENTRY_SYMBOL));
        table_ = entry != nullptr ? entry(detail::abi) : nullptr;
        if (table_ == nullptr || table_->abi.major != SB_ABI_VERSION_MAJOR ||
            table_->struct_size < offsetof(sb_provider, get_extension) + sizeof(table_->get_extension))
            throw violation(path + ": no entry point, or no table of ABI " + std::to_string(SB_ABI_VERSION_MAJOR) + ".x");
    }
    ~plugin() { dlclose(handle_); }
    plugin(const plugin&) = delete;
    plugin& operator=(const plugin&) = delete;

    const sb_provider& table() const noexcept { return *table_; }

    json::object manifest() const {
        detail::output out;
        out.settle(table_->manifest(&out.raw), "manifest()");
        return parse_object(out.json, "manifest");
    }

private:
    void* handle_;
    const sb_provider* table_ = nullptr;
};

// One instance, created with `config` as the daemon would (its secrets already resolved).
class instance {
public:
    instance(const plugin& p, const json::object& config) : table_(p.table()) {
        host_.struct_size = sizeof host_;
        host_.abi = detail::abi;
        host_.instance_name = detail::str("test");
        host_.log = [](void*, sb_log_level, sb_str) {};
        host_.get_extension = [](void*, const char*) -> const void* { return nullptr; };
        const std::string text = json::serialize(config);
        detail::output out;
        out.settle(table_.create(&host_, detail::str(text), &instance_, &out.raw), "create()");
        if (instance_ == nullptr)
            throw violation("create() succeeded but stored no instance");
    }
    ~instance() { table_.destroy(instance_); }
    instance(const instance&) = delete;
    instance& operator=(const instance&) = delete;

    // One verdict per recipient, in order (recipients' ids are not sent to validate).
    std::vector<verdict> validate(const std::string& channel, const json::object& step, const std::vector<recipient>& recipients) {
        json::array list;
        for (const recipient& r : recipients)
            list.push_back(json::object{{"to", r.to}, {"params", r.params}});
        const std::string doc = json::serialize(json::object{{"channel", channel}, {"step", step}, {"recipients", list}});
        detail::output out;
        out.settle(table_.validate(instance_, detail::str(doc), &out.raw), "validate()");
        std::vector<verdict> verdicts;
        for (const json::value& v : detail::result_array(out.json, "verdicts", "validate()")) {
            const json::object* o = v.if_object();
            if (o == nullptr || o->if_contains("ok") == nullptr || !o->at("ok").is_bool())
                throw violation("validate() wrote a verdict without \"ok\": " + json::serialize(v));
            verdicts.push_back(o->at("ok").get_bool() ? verdict::valid()
                                                      : verdict::invalid(text(*o, "field"), text(*o, "reason")));
        }
        if (verdicts.size() != recipients.size())
            throw violation("validate() wrote " + std::to_string(verdicts.size()) + " verdicts for " +
                            std::to_string(recipients.size()) + " recipients");
        return verdicts;
    }

    // Exactly one request.
    http_request encode(const batch& b, std::int64_t now_unix_ms) {
        const std::string doc = json::serialize(to_json(b));
        detail::output out;
        out.settle(table_.encode(instance_, detail::str(doc), now_unix_ms, &out.raw), "encode()");
        if (!out.request)
            throw violation("encode() succeeded without writing a request");
        return *out.request;
    }

    // One outcome per recipient of the batch, each once.
    std::vector<outcome> decode(const batch& b, const http_response& answer) {
        const std::string doc = json::serialize(to_json(b));
        std::vector<sb_header> headers;
        for (const header& h : answer.headers)
            headers.push_back({detail::str(h.name), detail::str(h.value)});
        sb_http_response raw{};
        raw.struct_size = sizeof raw;
        raw.abi = detail::abi;
        raw.status = answer.status;
        raw.headers = headers.data();
        raw.header_count = headers.size();
        raw.body = detail::str(answer.body);
        detail::output out;
        out.settle(table_.decode(instance_, detail::str(doc), &raw, &out.raw), "decode()");
        std::vector<outcome> outcomes;
        std::set<std::string> seen;
        for (const json::value& v : detail::result_array(out.json, "outcomes", "decode()")) {
            const json::object* o = v.if_object();
            const std::string id = o != nullptr ? text(*o, "id") : "";
            const bool known = std::any_of(b.recipients.begin(), b.recipients.end(), [&](const recipient& r) { return r.id == id; });
            if (!known || !seen.insert(id).second)
                throw violation("decode() wrote an outcome for '" + id + "', not a recipient of the batch or named twice");
            outcomes.push_back(outcome_of(*o, id));
        }
        if (outcomes.size() != b.recipients.size())
            throw violation("decode() wrote " + std::to_string(outcomes.size()) + " outcomes for " +
                            std::to_string(b.recipients.size()) + " recipients");
        return outcomes;
    }

private:
    static std::string text(const json::object& o, std::string_view key) {
        const json::value* v = o.if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
    }

    static outcome outcome_of(const json::object& o, const std::string& id) {
        const std::string result = text(o, "result");
        if (result == "accepted")
            return outcome::accepted(id, text(o, "message_id"));
        if (result == "rejected")
            return outcome::rejected(id, text(o, "code"), text(o, "reason"));
        if (result == "transient") {
            const json::value* retry = o.if_contains("retry_after_ms");
            return outcome::transient(id, text(o, "code"), text(o, "reason"), retry != nullptr && retry->is_int64() ? retry->get_int64() : -1);
        }
        if (result == "unknown")
            return outcome::unknown(id, text(o, "reason"));
        throw violation("decode() wrote the result '" + result + "' for '" + id + "'; provider.h allows accepted, rejected, transient, unknown");
    }

    const sb_provider& table_;
    sb_host host_{};
    sb_instance* instance_ = nullptr;
};

} // namespace switchboard::sdk::harness
