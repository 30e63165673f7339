// The cases about loading, the manifest, create, validate and encode.
#include "plugin_check_cases.hpp"

#include <switchboard/core/config_schema.hpp>
#include <switchboard/extensions/message_ids.h>

#include <boost/json.hpp>

namespace switchboard::host {
namespace json = boost::json;

namespace {

constexpr sb_abi_version host_abi{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};

std::string version(sb_abi_version v) { return std::to_string(v.major) + "." + std::to_string(v.minor); }

const sb_provider* raw_table(check_env& env) {
    const sb_provider* table = env.library().entry()(host_abi);
    if (table == nullptr)
        skip("the entry point answers no table (see entry.table)");
    return table;
}

// ---- loading

void entry_symbol(check_env& env) {
    try {
        core::provider_library::open(env.inputs().file);
    } catch (const core::plugin_error& e) {
        fail(e.what());
    }
}

void entry_table(check_env& env) {
    if (env.library().entry()(host_abi) == nullptr)
        fail("switchboard_provider_entry(" + version(host_abi) + ") returned NULL: a plugin built against ABI " +
             std::to_string(SB_ABI_VERSION_MAJOR) + ".x must serve a host of the same major version");
}

void table_version(check_env& env) {
    const sb_provider* table = raw_table(env);
    if (table->abi.major != SB_ABI_VERSION_MAJOR)
        fail("the table says ABI " + version(table->abi) + "; this host speaks " + version(host_abi) +
             ": rebuild the plugin against this SDK");
}

void table_size(check_env& env) {
    const sb_provider* table = raw_table(env);
    const std::size_t v1_size = offsetof(sb_provider, get_extension) + sizeof(table->get_extension);
    if (table->struct_size < v1_size)
        fail("struct_size is " + std::to_string(table->struct_size) + ", ABI 1.0's table needs at least " +
             std::to_string(v1_size) + ": set it to sizeof(sb_provider)");
}

void table_required_functions(check_env& env) {
    const sb_provider& table = env.table();
    const std::pair<const void*, const char*> required[] = {
        {reinterpret_cast<const void*>(table.manifest), "manifest"}, {reinterpret_cast<const void*>(table.create), "create"},
        {reinterpret_cast<const void*>(table.destroy), "destroy"},   {reinterpret_cast<const void*>(table.validate), "validate"},
        {reinterpret_cast<const void*>(table.encode), "encode"},     {reinterpret_cast<const void*>(table.decode), "decode"}};
    for (const auto& [function, name] : required)
        if (function == nullptr)
            fail(std::string("the table has no '") + name + "' function; the host needs all of manifest, create, "
                                                           "destroy, validate, encode and decode");
}

void table_receipt_functions(check_env& env) {
    const sb_provider& table = env.table();
    const std::string& receipts = env.manifest().receipts;
    if (receipts == "push" && table.parse_receipt == nullptr)
        fail("the manifest says \"receipts\": \"push\" but the table has no parse_receipt");
    if (receipts == "pull" && (table.encode_receipt_query == nullptr || table.decode_receipt_query == nullptr))
        fail("the manifest says \"receipts\": \"pull\" but the table lacks encode_receipt_query or decode_receipt_query");
}

void table_get_extension(check_env& env) {
    const sb_provider& table = env.table();
    if (table.get_extension == nullptr)
        return;   // no extensions at all: allowed
    if (table.get_extension("switchboard.no_such_extension/1") != nullptr)
        fail("get_extension(\"switchboard.no_such_extension/1\") answered a pointer; an unknown id must answer NULL");
    const auto* ids = static_cast<const sb_ext_message_ids*>(table.get_extension(SB_EXT_MESSAGE_IDS));
    if (ids != nullptr &&
        (ids->struct_size < offsetof(sb_ext_message_ids, message_ids) + sizeof(ids->message_ids) || ids->message_ids == nullptr))
        fail(std::string("extension ") + SB_EXT_MESSAGE_IDS + " is smaller than its 1.0 struct or has no message_ids function");
}

// ---- the manifest

void manifest_document(check_env& env) {
    env.require(reinterpret_cast<const void*>(env.table().manifest), "manifest");
    const probe_call call = env.probe().manifest();
    expect_sound(call, "manifest()");
    if (!call.ok())
        fail("manifest() failed with " + status_name(call.status) + ": " + shown(call.error, 200));
    if (call.json_writes != 1 || call.request_writes != 0)
        fail("manifest() must write its document once with write_json, and nothing else");
    boost::system::error_code ec;
    const json::value doc = json::parse(call.json, ec);
    if (ec || !doc.is_object())
        fail("the manifest is not a JSON object" + (ec ? " (" + ec.message() + ")" : std::string()) + ": " + shown(call.json));
    if (env.probe().manifest().json != call.json)
        fail("manifest() wrote a different document the second time; it must always write the same");
}

void manifest_fields(check_env& env) {
    env.require(reinterpret_cast<const void*>(env.table().manifest), "manifest");
    const probe_call call = env.probe().manifest();
    boost::system::error_code ec;
    if (const json::value doc = json::parse(call.json, ec); ec || !doc.is_object())
        skip("the manifest is not a JSON object (see manifest.document)");
    try {
        core::parse_plugin_manifest(call.json);
    } catch (const std::invalid_argument& e) {
        fail(e.what());
    }
}

void manifest_name_matches_file(check_env& env) {
    const std::string& name = env.manifest().name;
    const std::string stem = env.library().file().stem().string();
    if (env.library().file().extension() != ".so" || stem != name)
        fail("the manifest names the plugin '" + name + "' but the file is " + env.library().file().filename().string() +
             "; a configuration names a plugin by its file, so the daemon needs " + name + ".so");
}

void manifest_abi_matches_table(check_env& env) {
    const std::string table = version(env.table().abi);
    if (env.manifest().abi != table)
        fail("the manifest says \"abi\": \"" + env.manifest().abi + "\" but the table says " + table);
}

void manifest_step_schema(check_env& env) {
    const core::plugin_manifest& m = env.manifest();
    if (m.step_schema_json.empty())
        skip("the manifest declares no step_schema (ABI 1.1, optional)");
    if (env.inputs().step_json.empty())
        skip("no --step to hold to the step_schema");
    const std::vector<std::string> problems =
        core::step_schema_problems(m.step_schema_json, env.inputs().step_json, "step", m.name);
    if (!problems.empty())
        fail("the step given with --step, which validate() accepts, breaks the plugin's own step_schema: " + problems.front());
}

// ---- create

void create_config(check_env& env) {
    env.manifest();
    env.require(reinterpret_cast<const void*>(env.table().create), "create");
    sb_instance* created = nullptr;
    const probe_call call = env.probe().create(env.inputs().config_json, &created);
    expect_sound(call, "create() with " + shown(env.inputs().config_json, 200));
    if (!call.ok())
        fail("create() refused the configuration " + shown(env.inputs().config_json, 200) + ": " + shown(call.error, 300) +
             (env.inputs().config_json == "{}" ? " (give one it accepts with --config)" : ""));
    if (created == nullptr)
        fail("create() succeeded but stored no instance");
    if (call.json_writes > 0 || call.request_writes > 0)
        fail("create() wrote a result; it reports only through its status and set_error");
    env.probe().destroy(created);
}

void expect_refused_config(check_env& env, const std::string& config, const std::string& why) {
    sb_instance* created = nullptr;
    const probe_call call = env.probe().create(config, &created);
    if (call.ok()) {
        if (created != nullptr)
            env.probe().destroy(created);
        fail("create() accepted " + why + ": " + shown(config, 200));
    }
    expect_refusal(call, "create() with " + why);
}

void create_refuses_non_object(check_env& env) {
    env.manifest();
    env.require(reinterpret_cast<const void*>(env.table().create), "create");
    for (const char* config : {"[]", "\"text\"", "42", "not json", "{\"unterminated\": "})
        expect_refused_config(env, config, std::string("a configuration that is not a JSON object (") + config + ")");
}

// A value of another JSON type than `type`.
json::value wrong_type(std::string_view type) {
    if (type == "string")
        return 12345;
    if (type == "object" || type == "array")
        return "a string";
    return json::object{{"not", "a " + std::string(type)}};
}

void create_refuses_schema_breach(check_env& env) {
    env.instance();   // the given configuration is accepted (create.config)
    boost::system::error_code ec;
    const json::value schema = json::parse(env.manifest().config_schema_json, ec);
    const json::value config = json::parse(env.inputs().config_json, ec);
    if (!schema.is_object() || !config.is_object())
        skip("no schema or configuration object to break");
    int breaches = 0;
    if (const json::value* required = schema.get_object().if_contains("required"); required && required->is_array())
        for (const json::value& key : required->get_array()) {
            if (!key.is_string() || !config.get_object().contains(key.get_string()))
                continue;
            json::object without = config.get_object();
            without.erase(key.get_string());
            expect_refused_config(env, json::serialize(without),
                                  "the configuration without \"" + std::string(key.get_string()) + "\", which the schema requires");
            ++breaches;
        }
    if (const json::value* extra = schema.get_object().if_contains("additionalProperties"); extra && *extra == false) {
        json::object with = config.get_object();
        with["no_such_setting"] = 1;
        expect_refused_config(env, json::serialize(with), "a setting the schema does not allow (additionalProperties: false)");
        ++breaches;
    }
    if (const json::value* properties = schema.get_object().if_contains("properties"); properties && properties->is_object())
        for (const auto& [key, property] : properties->get_object()) {
            const json::value* type = property.is_object() ? property.get_object().if_contains("type") : nullptr;
            if (type == nullptr || !type->is_string() || !config.get_object().contains(key))
                continue;
            json::object changed = config.get_object();
            changed[key] = wrong_type(type->get_string());
            expect_refused_config(env, json::serialize(changed),
                                  "\"" + std::string(key) + "\" of another type than the schema's " +
                                      std::string(type->get_string()));
            ++breaches;
        }
    if (breaches == 0)
        skip("the schema declares nothing the given configuration could break (required, additionalProperties, types)");
}

// ---- validate

void validate_required(check_env& env) { env.require(reinterpret_cast<const void*>(env.table().validate), "validate"); }

void validate_one_verdict_each(check_env& env) {
    validate_required(env);
    std::vector<core::recipient> recipients;
    for (std::size_t i = 0; i < 6; ++i)
        recipients.push_back(i % 3 == 2 ? env.invalid_sample(i) : env.sample(i));
    const std::size_t verdicts = expect_verdicts(env.probe().validate(env.instance(), env.validation_document(recipients)),
                                                 "validate() of 6 recipients");
    if (verdicts != recipients.size())
        fail("validate() of 6 recipients gave " + std::to_string(verdicts) + " verdicts; exactly one per recipient");
}

json::array verdicts_of(check_env& env, const std::vector<core::recipient>& recipients) {
    const probe_call call = env.probe().validate(env.instance(), env.validation_document(recipients));
    if (expect_verdicts(call, "validate()") != recipients.size())
        skip("validate() does not give one verdict per recipient (see validate.one_verdict_each)");
    return json::parse(call.json).at("verdicts").get_array();
}

void validate_order(check_env& env) {
    validate_required(env);
    std::vector<core::recipient> recipients{env.sample(0), env.invalid_sample(1), env.sample(2), env.invalid_sample(3)};
    const json::array together = verdicts_of(env, recipients);
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const json::array alone = verdicts_of(env, {recipients[i]});
        if (alone.front() != together[i])
            fail("recipient " + std::to_string(i) + " (" + recipients[i].to + ") gets " + json::serialize(together[i]) +
                 " among four but " + json::serialize(alone.front()) + " alone: verdicts must be in input order");
    }
}

void validate_sample_recipient(check_env& env) {
    validate_required(env);
    // What the daemon asks at start for every route step: one sample recipient without params.
    core::recipient sample = env.sample(0);
    sample.to = core::addressed_by_phone_number(env.step().channel) ? "+85255311111" : "1234567890123456";
    sample.params_json = "{}";
    expect_verdicts(env.probe().validate(env.instance(), env.validation_document({sample})),
                    "validate() of the daemon's load-time sample (one recipient, no params)");
}

void validate_field_names(check_env& env) {
    validate_required(env);
    std::vector<core::recipient> recipients;
    for (std::size_t i = 0; i < 4; ++i)
        recipients.push_back(env.invalid_sample(i));
    core::recipient no_params = env.sample(4);
    no_params.params_json = "{}";
    recipients.push_back(no_params);
    for (const json::value& v : verdicts_of(env, recipients)) {
        if (v.at("ok") == true)
            continue;
        const std::string_view field = v.at("field").get_string();
        if (field != "to" && field != "params" && !field.starts_with("params.") && !field.starts_with("step."))
            fail("a verdict names the field '" + shown(field) + "'; fields are \"to\", \"params\", \"params.<name>\", "
                 "or \"step.<key>\" for a problem with the route step");
    }
}

void validate_empty(check_env& env) {
    validate_required(env);
    if (const std::size_t n = expect_verdicts(env.probe().validate(env.instance(), env.validation_document({})),
                                              "validate() of no recipients");
        n != 0)
        fail("validate() of no recipients gave " + std::to_string(n) + " verdicts");
}

void validate_malformed_request(check_env& env) {
    validate_required(env);
    for (const char* request : {"not json", "[]", "{\"channel\": \"sms\"}", "{\"channel\": \"sms\", \"recipients\": 5}"})
        expect_refusal(env.probe().validate(env.instance(), request), std::string("validate() of ") + request);
}

// ---- encode

void encode_required(check_env& env) { env.require(reinterpret_cast<const void*>(env.table().encode), "encode"); }

std::size_t full_call(check_env& env) {
    return static_cast<std::size_t>(std::min(env.manifest().max_recipients_per_call, 1000));
}

void encode_one_request(check_env& env) {
    encode_required(env);
    const std::vector<core::recipient> batch = env.valid_recipients(full_call(env));
    expect_one_request(env.probe().encode(env.instance(), env.batch_document(batch), check_env::now_ms),
                       "encode() of a full batch of " + std::to_string(batch.size()));
}

void encode_deterministic(check_env& env) {
    encode_required(env);
    const std::string batch = env.batch_document(env.valid_recipients(std::min<std::size_t>(full_call(env), 3)));
    const probe_call first = env.probe().encode(env.instance(), batch, check_env::now_ms);
    const probe_call second = env.probe().encode(env.instance(), batch, check_env::now_ms);
    if (!first.request || !second.request)
        skip("encode() does not write a request (see encode.one_request)");
    const core::http_request& a = *first.request;
    const core::http_request& b = *second.request;
    if (a.method != b.method || a.url != b.url)
        fail("two encodes of one batch at one time went to " + a.method + " " + shown(a.url) + " and " + b.method + " " +
             shown(b.url) + ": encode must depend only on the batch, the configuration and now_unix_ms");
    if (a.body != b.body)
        fail("two encodes of one batch at one time wrote different bodies (" + shown(a.body, 60) + " / " + shown(b.body, 60) +
             "): a nonce must derive from the batch id, so that a resent call is the same call");
    if (a.headers.size() != b.headers.size())
        fail("two encodes of one batch at one time wrote different headers");
    for (std::size_t i = 0; i < a.headers.size(); ++i)
        if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value)
            fail("two encodes of one batch at one time wrote header " + a.headers[i].name + " differently");
}

void encode_refuses_oversize(check_env& env) {
    encode_required(env);
    const std::size_t max = static_cast<std::size_t>(env.manifest().max_recipients_per_call);
    if (max > 10'000)
        skip("the plugin takes " + std::to_string(max) + " recipients per call; the checker stops at 10,000");
    std::vector<core::recipient> batch = env.valid_recipients(std::min<std::size_t>(max, 1000));
    for (std::size_t i = batch.size(); i < max + 1; ++i) {
        batch.push_back(batch[i % batch.size()]);
        batch.back().index = static_cast<std::int64_t>(i);
    }
    const probe_call call = env.probe().encode(env.instance(), env.batch_document(batch), check_env::now_ms);
    const std::string what = "encode() of " + std::to_string(max + 1) + " recipients (the manifest says at most " +
                             std::to_string(max) + ")";
    expect_refusal(call, what);
    if (call.status != SB_STATUS_PERMANENT)
        fail(what + ": failed with " + status_name(call.status) + "; a batch the vendor cannot take as a whole is "
                                                                   "SB_STATUS_PERMANENT");
}

void encode_malformed_batch(check_env& env) {
    encode_required(env);
    for (const char* batch : {"not json", "[]", "{\"id\": \"b\", \"channel\": \"sms\"}", "{\"id\": \"b\", \"recipients\": {}}"})
        expect_refusal(env.probe().encode(env.instance(), batch, check_env::now_ms), std::string("encode() of ") + batch);
}

} // namespace

void add_contract_cases(std::vector<check_case>& cases) {
    cases.insert(cases.end(), {
        {"entry.symbol", "the file is a shared library that loads and exports switchboard_provider_entry", entry_symbol},
        {"entry.table", "the entry point answers this host's ABI version with a function table", entry_table},
        {"table.version", "the table's ABI major version is the host's", table_version},
        {"table.size", "the table's struct_size covers ABI 1.0's table", table_size},
        {"table.required_functions", "manifest, create, destroy, validate, encode and decode are all there", table_required_functions},
        {"table.receipt_functions", "the receipt functions the manifest's \"receipts\" promises are there", table_receipt_functions},
        {"table.get_extension", "get_extension answers NULL for an unknown id and well-formed extensions for known ones", table_get_extension},
        {"manifest.document", "manifest() writes one JSON object, once, the same every time", manifest_document},
        {"manifest.fields", "every manifest field is present where required and of its type and range", manifest_fields},
        {"manifest.name_matches_file", "the manifest's name is the file's name without .so", manifest_name_matches_file},
        {"manifest.abi_matches_table", "the manifest's \"abi\" is the table's version", manifest_abi_matches_table},
        {"manifest.step_schema", "a step that validate() accepts (--step) keeps the manifest's step_schema", manifest_step_schema},
        {"create.config", "create() accepts the given configuration, stores an instance and writes nothing", create_config},
        {"create.refuses_non_object", "create() refuses a configuration that is not a JSON object, with a reason", create_refuses_non_object},
        {"create.refuses_schema_breach", "create() refuses configurations that break its config_schema, with a reason", create_refuses_schema_breach},
        {"validate.one_verdict_each", "validate() gives exactly one verdict per recipient, each ok or with field and reason", validate_one_verdict_each},
        {"validate.order", "each recipient's verdict is the one it gets alone, in input order", validate_order},
        {"validate.sample_recipient", "validate() answers the daemon's load-time sample: one recipient, no params", validate_sample_recipient},
        {"validate.field_names", "verdicts name \"to\", \"params.<name>\", or \"step.<key>\" for problems with the step", validate_field_names},
        {"validate.empty", "validate() of no recipients answers no verdicts", validate_empty},
        {"validate.malformed_request", "validate() refuses a request that is not the documented JSON, with a reason", validate_malformed_request},
        {"encode.one_request", "encode() of a full batch writes exactly one well-formed HTTP request", encode_one_request},
        {"encode.deterministic", "encode() of one batch at one time writes the same request twice", encode_deterministic},
        {"encode.refuses_oversize", "encode() refuses more recipients than max_recipients_per_call with SB_STATUS_PERMANENT", encode_refuses_oversize},
        {"encode.malformed_batch", "encode() refuses a batch that is not the documented JSON, with a reason", encode_malformed_batch},
    });
}

const std::vector<check_case>& all_check_cases() {
    static const std::vector<check_case> cases = [] {
        std::vector<check_case> out;
        add_contract_cases(out);
        add_answer_cases(out);
        return out;
    }();
    return cases;
}

} // namespace switchboard::host
