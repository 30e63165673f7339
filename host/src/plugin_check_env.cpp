#include "plugin_check_env.hpp"

#include <switchboard/core/plugin_documents.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

namespace switchboard::host {
namespace json = boost::json;

void fail(const std::string& why) { throw case_failed(why); }
void skip(const std::string& why) { throw case_skipped(why); }

std::string shown(std::string_view text, std::size_t size) {
    std::string out(text.substr(0, size));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20)
            c = ' ';
    return text.size() > size ? out + "..." : out;
}

namespace {

constexpr sb_abi_version host_abi{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};

json::object parse_object_or_fail(const std::string& text, const std::string& what, const char* expected) {
    boost::system::error_code ec;
    json::value doc = json::parse(text, ec);
    if (ec || !doc.is_object())
        fail(what + ": the result is not a JSON object (" + (ec ? ec.message() : "another JSON value") +
             "), expected " + expected + ": " + shown(text));
    return std::move(doc.get_object());
}

const json::array& array_or_fail(const json::object& doc, std::string_view key, const std::string& what) {
    const json::value* v = doc.if_contains(key);
    if (v == nullptr || !v->is_array())
        fail(what + ": the result has no \"" + std::string(key) + "\" array");
    return v->get_array();
}

bool optional_string(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v == nullptr || v->is_string();
}

bool is_token(std::string_view name) {
    static constexpr std::string_view separators = "()<>@,;:\\\"/[]?={} \t";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return c > 0x20 && c < 0x7f && separators.find(c) == std::string_view::npos;
    });
}

// The step's "params" names, each given a sample value: the convention of the SDK's examples.
std::string params_from_step(const std::string& step_json) {
    boost::system::error_code ec;
    const json::value step = json::parse(step_json, ec);
    json::object params;
    if (!ec && step.is_object())
        if (const json::value* names = step.get_object().if_contains("params"); names && names->is_array())
            for (const json::value& name : names->get_array())
                if (name.is_string())
                    params[name.get_string()] = "123456";
    return json::serialize(params);
}

} // namespace

check_env::check_env(const check_inputs& inputs) : inputs_(inputs) {}

check_env::~check_env() {
    if (instance_ != nullptr)
        table_->destroy(instance_);
}

const core::provider_library& check_env::library() {
    if (!library_) {
        try {
            library_ = core::provider_library::open(inputs_.file);
        } catch (const core::plugin_error& e) {
            skip(std::string("the library cannot be used (see entry.symbol): ") + e.what());
        }
    }
    return *library_;
}

const sb_provider& check_env::table() {
    if (table_ == nullptr) {
        const sb_provider* table = library().entry()(host_abi);
        if (table == nullptr)
            skip("the entry point answers no table (see entry.table)");
        if (table->abi.major != SB_ABI_VERSION_MAJOR)
            skip("the table is for another ABI major version (see table.version)");
        if (table->struct_size < offsetof(sb_provider, get_extension) + sizeof(table->get_extension))
            skip("the table is smaller than ABI 1.0's (see table.size)");
        table_ = table;
        probe_ = std::make_unique<plugin_probe>(*table_);
    }
    return *table_;
}

const plugin_probe& check_env::probe() {
    table();
    return *probe_;
}

void check_env::require(const void* function, const char* name) {
    if (function == nullptr)
        skip(std::string("the table has no ") + name + " function");
}

const core::plugin_manifest& check_env::manifest() {
    if (!manifest_) {
        require(reinterpret_cast<const void*>(table().manifest), "manifest");
        const probe_call call = probe().manifest();
        try {
            if (!call.ok())
                throw std::invalid_argument(call.error);
            manifest_ = core::parse_plugin_manifest(call.json);
        } catch (const std::invalid_argument& e) {
            skip(std::string("the manifest cannot be read (see manifest.document and manifest.fields): ") + e.what());
        }
    }
    return *manifest_;
}

sb_instance* check_env::instance() {
    if (instance_ == nullptr) {
        manifest();
        require(reinterpret_cast<const void*>(table().create), "create");
        require(reinterpret_cast<const void*>(table().destroy), "destroy");
        sb_instance* created = nullptr;
        const probe_call call = probe().create(inputs_.config_json, &created);
        if (!call.ok() || created == nullptr)
            skip("no instance: create() refused the configuration (see create.config)");
        instance_ = created;
    }
    return instance_;
}

const core::route_step& check_env::step() {
    if (!step_) {
        boost::system::error_code ec;
        json::value step = inputs_.step_json.empty() ? json::value(json::object{{"channel", manifest().channels.front()}})
                                                     : json::parse(inputs_.step_json, ec);
        if (ec || !step.is_object())
            skip("the step given with --step is not a JSON object");
        step.get_object()["provider"] = "check";
        std::vector<std::string> problems;
        const core::route r = core::read_route("check", json::array{step}, "step", problems);
        if (!problems.empty())
            skip("the step given with --step is not a route step: " + problems.front());
        step_ = r.steps.front();
    }
    return *step_;
}

core::recipient check_env::sample(std::size_t index) {
    core::recipient r;
    r.index = static_cast<std::int64_t>(index);
    char to[32];
    if (core::addressed_by_phone_number(step().channel))
        std::snprintf(to, sizeof to, "+85261%06zu", index % 1'000'000);   // Hong Kong mobile numbers
    else
        std::snprintf(to, sizeof to, "7%015zu", index);                     // a page-scoped id
    r.to = to;
    r.params_json = inputs_.params_json.empty() ? params_from_step(step().step_json) : inputs_.params_json;
    return r;
}

core::recipient check_env::invalid_sample(std::size_t index) {
    core::recipient r = sample(index);
    r.to = index % 2 == 0 ? "not a number" : "+1";
    return r;
}

std::vector<core::recipient> check_env::valid_recipients(std::size_t count) {
    require(reinterpret_cast<const void*>(table().validate), "validate");
    std::vector<core::recipient> candidates;
    for (std::size_t i = 0; i < count; ++i)
        candidates.push_back(sample(i));
    const probe_call call = probe().validate(instance(), validation_document(candidates));
    if (!call.ok())
        skip("validate() refuses the sample recipients: " + shown(call.error, 200));
    boost::system::error_code ec;
    const json::value doc = json::parse(call.json, ec);
    const json::value* verdicts = !ec && doc.is_object() ? doc.get_object().if_contains("verdicts") : nullptr;
    if (verdicts == nullptr || !verdicts->is_array() || verdicts->get_array().size() != count)
        skip("validate() does not give one verdict per sample recipient (see validate.one_verdict_each)");
    for (std::size_t i = 0; i < count; ++i) {
        const json::value& v = verdicts->get_array()[i];
        if (!v.is_object() || v.get_object().if_contains("ok") == nullptr || v.get_object().at("ok") != true)
            skip("validate() refuses the sample recipient " + candidates[i].to + " with params " +
                 candidates[i].params_json + ": " + shown(json::serialize(v), 200) +
                 "; give --step (and --params) that its recipients can be sent with");
    }
    return candidates;
}

std::string check_env::validation_document(const std::vector<core::recipient>& recipients) {
    std::vector<const core::recipient*> pointers;
    for (const core::recipient& r : recipients)
        pointers.push_back(&r);
    return core::validation_document(step(), pointers);
}

std::string check_env::batch_document(const std::vector<core::recipient>& recipients) {
    return core::batch_document("job_check", step(), recipients);
}

// ---- judgements

void expect_sound(const probe_call& call, const std::string& what) {
    if (const std::string problem = call.contract_problem(); !problem.empty())
        fail(what + ": " + problem);
}

void expect_refusal(const probe_call& call, const std::string& what) {
    expect_sound(call, what);
    if (call.ok())
        fail(what + ": it succeeded; expected a failure status with a reason");
    if (call.json_writes > 0 || call.request_writes > 0)
        fail(what + ": it failed with " + status_name(call.status) + " but also wrote a result");
}

void expect_one_request(const probe_call& call, const std::string& what) {
    expect_sound(call, what);
    if (!call.ok())
        fail(what + ": it failed with " + status_name(call.status) + ": " + shown(call.error, 200));
    if (call.request_writes != 1 || !call.request)
        fail(what + ": it succeeded without writing a request (write_request once)");
    if (call.json_writes > 0)
        fail(what + ": it wrote a JSON document besides its request");
    const core::http_request& request = *call.request;
    if (!is_token(request.method))
        fail(what + ": the request's method '" + shown(request.method) + "' is not an HTTP method");
    const auto url = boost::urls::parse_absolute_uri(request.url);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || !url->has_authority() || url->host().empty())
        fail(what + ": the request's URL '" + shown(request.url) + "' is not an absolute http(s) URL");
    for (const core::http_header& h : request.headers) {
        if (!is_token(h.name))
            fail(what + ": the request has a header named '" + shown(h.name) + "', which is not an HTTP token");
        if (h.value.find_first_of("\r\n") != std::string::npos)
            fail(what + ": the request's header " + h.name + " has a line break in its value");
    }
}

std::size_t expect_verdicts(const probe_call& call, const std::string& what) {
    expect_sound(call, what);
    if (!call.ok())
        fail(what + ": it failed with " + status_name(call.status) + ": " + shown(call.error, 200));
    const json::object doc = parse_object_or_fail(call.json, what, "{\"verdicts\": [...]}");
    const json::array& verdicts = array_or_fail(doc, "verdicts", what);
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        const json::object* v = verdicts[i].if_object();
        const json::value* ok = v != nullptr ? v->if_contains("ok") : nullptr;
        if (ok == nullptr || !ok->is_bool())
            fail(what + ": verdict " + std::to_string(i) + " has no \"ok\": true or false: " + shown(json::serialize(verdicts[i])));
        if (ok->get_bool())
            continue;
        const json::value* field = v->if_contains("field");
        const json::value* reason = v->if_contains("reason");
        if (field == nullptr || !field->is_string() || reason == nullptr || !reason->is_string() ||
            reason->get_string().empty())
            fail(what + ": verdict " + std::to_string(i) + " refuses without a \"field\" and a \"reason\": " +
                 shown(json::serialize(verdicts[i])));
    }
    return verdicts.size();
}

void expect_outcomes_or_refusal(const probe_call& call, const std::vector<std::string>& ids, bool may_accept,
                                const std::string& what) {
    expect_sound(call, what);
    if (!call.ok())
        return;
    const json::object doc = parse_object_or_fail(call.json, what, "{\"outcomes\": [...]}");
    const json::array& outcomes = array_or_fail(doc, "outcomes", what);
    std::set<std::string> seen;
    static const std::set<std::string, std::less<>> results = {"accepted", "rejected", "transient", "unknown"};
    for (const json::value& item : outcomes) {
        const json::object* o = item.if_object();
        const json::value* id = o != nullptr ? o->if_contains("id") : nullptr;
        const json::value* result = o != nullptr ? o->if_contains("result") : nullptr;
        if (id == nullptr || !id->is_string() || result == nullptr || !result->is_string())
            fail(what + ": an outcome without a string \"id\" and \"result\": " + shown(json::serialize(item)));
        const std::string name(id->get_string());
        if (std::find(ids.begin(), ids.end(), name) == ids.end())
            fail(what + ": an outcome for '" + shown(name) + "', which is not a recipient of the batch");
        if (!seen.insert(name).second)
            fail(what + ": two outcomes for recipient '" + name + "'");
        if (results.find(result->get_string()) == results.end())
            fail(what + ": recipient '" + name + "' has result '" + shown(result->get_string()) +
                 "'; provider.h allows accepted, rejected, transient, unknown");
        if (!may_accept && result->get_string() == "accepted")
            fail(what + ": recipient '" + name + "' is accepted by an answer that accepts nothing");
        if (!optional_string(*o, "message_id") || !optional_string(*o, "code") || !optional_string(*o, "reason"))
            fail(what + ": recipient '" + name + "' has a message_id, code or reason that is not a string");
        if (const json::value* retry = o->if_contains("retry_after_ms"); retry && !retry->is_int64() && !retry->is_uint64())
            fail(what + ": recipient '" + name + "' has a retry_after_ms that is not an integer");
    }
    if (seen.size() != ids.size())
        fail(what + ": " + std::to_string(outcomes.size()) + " outcomes for a batch of " + std::to_string(ids.size()) +
             " recipients; every recipient needs exactly one");
}

void expect_receipts_or_refusal(const probe_call& call, const std::string& what) {
    expect_sound(call, what);
    if (!call.ok())
        return;
    const json::object doc = parse_object_or_fail(call.json, what, "{\"receipts\": [...]}");
    static const std::set<std::string, std::less<>> statuses = {"delivered", "undelivered", "pending"};
    for (const json::value& item : array_or_fail(doc, "receipts", what)) {
        const json::object* r = item.if_object();
        const json::value* id = r != nullptr ? r->if_contains("message_id") : nullptr;
        const json::value* status = r != nullptr ? r->if_contains("status") : nullptr;
        if (id == nullptr || !id->is_string() || id->get_string().empty())
            fail(what + ": a receipt without a message_id: " + shown(json::serialize(item)));
        if (status == nullptr || !status->is_string() || statuses.find(status->get_string()) == statuses.end())
            fail(what + ": receipt for '" + shown(id->get_string()) +
                 "' has no status of delivered, undelivered or pending: " + shown(json::serialize(item)));
    }
    if (const json::value* reply = doc.if_contains("reply")) {
        const json::object* o = reply->if_object();
        const json::value* status = o != nullptr ? o->if_contains("status") : nullptr;
        if (status == nullptr || !status->is_int64() || status->get_int64() < 100 || status->get_int64() > 599)
            fail(what + ": its \"reply\" has no HTTP status from 100 to 599: " + shown(json::serialize(*reply)));
    }
}

} // namespace switchboard::host
