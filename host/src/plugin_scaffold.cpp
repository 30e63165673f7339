#include "plugin_scaffold.hpp"

#include <fstream>
#include <ostream>
#include <utility>
#include <vector>

namespace switchboard::host {
namespace fs = std::filesystem;

namespace {

// Each file of the project; @NAME@ is the plugin's name, @IDENT@ the same as a C++ identifier.
const std::pair<const char*, const char*> project_files[] = {
    {"CMakeLists.txt", R"tmpl(# The @NAME@ provider plugin for Switchboard, built against the installed SDK:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=/usr/local && cmake --build build && ctest --test-dir build
cmake_minimum_required(VERSION 3.20)
project(@IDENT@_provider VERSION 0.1.0 LANGUAGES CXX)

find_package(SwitchboardSDK 1.1 REQUIRED)
switchboard_add_provider(@NAME@ SOURCES src/@IDENT@_provider.cpp)

enable_testing()
# The plugin driven through the C ABI with canned vendor answers: no daemon, no HTTP server.
add_executable(@IDENT@_tests tests/@IDENT@_tests.cpp)
target_compile_features(@IDENT@_tests PRIVATE cxx_std_17)
target_link_libraries(@IDENT@_tests PRIVATE SwitchboardSDK::sdk ${CMAKE_DL_LIBS})
add_test(NAME unit COMMAND @IDENT@_tests $<TARGET_FILE:@NAME@>)
# Every rule of the ABI, by the daemon's own conformance checker.
find_program(SWITCHBOARD_PROGRAM switchboard)
if(SWITCHBOARD_PROGRAM)
    add_test(NAME conformance COMMAND ${SWITCHBOARD_PROGRAM} plugins check $<TARGET_FILE:@NAME@>
        --config ${CMAKE_CURRENT_SOURCE_DIR}/tests/config.json --step ${CMAKE_CURRENT_SOURCE_DIR}/tests/step.json
        --params ${CMAKE_CURRENT_SOURCE_DIR}/tests/params.json)
else()
    message(STATUS "switchboard not found: the conformance test (switchboard plugins check) is left out")
endif()
)tmpl"},
    {"src/@IDENT@_provider.cpp", R"tmpl(// The @NAME@ provider: SMS through a JSON API. Replace the request and the answer with your vendor's.
//
// Request: POST {endpoint}/v1/messages  Authorization: Bearer {api_key}  Idempotency-Key: {batch id}
//          {"messages": [{"ref": "<recipient id>", "to": "+85255311111", "text": "<the step's text>"}]}
// Answer:  2xx {"results": [{"ref": "...", "id": "<message id>"} | {"ref": "...", "error": {"code", "message"}}]}
#include <switchboard/sdk.hpp>

#include <map>

namespace sdk = switchboard::sdk;
namespace json = boost::json;

namespace {

constexpr int max_per_call = 100;

class @IDENT@_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "@NAME@";
        m.version = "0.1.0";
        m.description = "SMS through the @NAME@ API";
        m.channels = {"sms"};
        m.max_recipients_per_call = max_per_call;
        m.requests_per_second = 10;
        m.thread_safe = true;
        m.config_schema = json::parse(R"({"type": "object", "required": ["api_key"],
            "properties": {"api_key": {"type": "string", "minLength": 1, "writeOnly": true},
                           "endpoint": {"type": "string", "pattern": "^https?://"}},
            "additionalProperties": false})");
        m.step_schema = json::parse(R"({"type": "object", "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}}, "additionalProperties": false})");
        return m;
    }

    @IDENT@_provider(const sdk::host& host, const sdk::object_reader& config) : provider(host) {
        sdk::settings_reader settings(config.object());
        settings.refuse_unknown({"api_key", "endpoint"});
        api_key_ = settings.required_secret("api_key");
        const std::string endpoint = settings.string_or("endpoint", "https://api.example.com");
        settings.finish();
        const sdk::base_url base = sdk::read_base_url(endpoint, "config.endpoint");
        url_ = base.origin + base.path + "/v1/messages";
    }

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return sdk::verdicts_for(request, [&] { return text_of(request.step); }, [](const std::string& text, const sdk::recipient& r) {
            if (const auto problem = sdk::e164_problem(r.to, "+85255311111"))
                return sdk::verdict::invalid("to", *problem);
            try {
                sdk::render_named(text, r.params);
            } catch (const sdk::field_error& e) {
                return sdk::verdict::invalid(e.path(), e.reason());
            }
            return sdk::verdict::valid();
        });
    }

    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t) override {
        if (batch.recipients.size() > static_cast<std::size_t>(max_per_call))
            throw sdk::error(sdk::status::permanent, "batch " + batch.id + " has " + std::to_string(batch.recipients.size()) +
                                                         " recipients; @NAME@ takes at most " + std::to_string(max_per_call));
        const std::string text = text_of(batch.step);
        json::array messages;
        for (const sdk::recipient& r : batch.recipients)
            messages.push_back(json::object{{"ref", r.id}, {"to", r.to}, {"text", sdk::render_named(text, r.params)}});
        return {"POST", url_,
                {{"Authorization", "Bearer " + api_key_}, {"Content-Type", "application/json"}, {"Idempotency-Key", batch.id}},
                json::serialize(json::object{{"messages", std::move(messages)}})};
    }

    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        sdk::throw_for_status(response, "@NAME@");
        boost::system::error_code ec;
        const json::value answer = json::parse(response.body, ec);
        const json::array* results = !ec && answer.is_object() ? sdk::array_field(answer.get_object(), "results") : nullptr;
        std::map<std::string, const json::object*> by_ref;
        for (std::size_t i = 0; results != nullptr && i < results->size(); ++i)
            if (const json::object* o = (*results)[i].if_object())
                by_ref.emplace(sdk::text_field(*o, "ref"), o);
        std::vector<sdk::outcome> outcomes;
        for (const sdk::recipient& r : batch.recipients) {
            const auto found = by_ref.find(r.id);
            if (found == by_ref.end()) {   // taken (a 2xx) but not named: we cannot tell what became of it
                outcomes.push_back(sdk::outcome::unknown(r.id, "the answer names no result for it: " + sdk::excerpt(response.body)));
                continue;
            }
            const json::value* error = found->second->if_contains("error");
            if (error != nullptr && error->is_object())
                outcomes.push_back(sdk::outcome::rejected(r.id, sdk::text_field(error->get_object(), "code"),
                                                          sdk::text_field(error->get_object(), "message")));
            else
                outcomes.push_back(sdk::outcome::accepted(r.id, sdk::text_field(*found->second, "id")));
        }
        return outcomes;
    }

private:
    static std::string text_of(const json::object& step) { return sdk::object_reader(step, "step").required_nonempty_string("text"); }

    std::string api_key_;
    std::string url_;
};

} // namespace

SWITCHBOARD_PROVIDER(@IDENT@_provider)
)tmpl"},
    {"tests/@IDENT@_tests.cpp", R"tmpl(// The @NAME@ plugin through the C ABI, as the daemon drives it, with canned answers of the vendor.
//   @IDENT@_tests path/to/@NAME@.so
#include <switchboard/sdk/harness.hpp>

#include <iostream>

namespace sdk = switchboard::sdk;
namespace harness = switchboard::sdk::harness;
namespace json = boost::json;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << '\n';
    failures += ok ? 0 : 1;
}

sdk::batch one_batch() {
    sdk::batch b;
    b.id = "job1-0-0-0";
    b.job_id = "job1";
    b.channel = "sms";
    b.step = json::object{{"text", "Your code is {code}"}};
    b.recipients = {{"0", "+85255311111", json::object{{"code", "123456"}}}, {"1", "+85255311112", json::object{{"code", "654321"}}}};
    return b;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " path/to/@NAME@.so\n";
        return 2;
    }
    try {
        harness::plugin plugin(argv[1]);
        check(plugin.manifest().at("name") == "@NAME@", "the manifest names the plugin @NAME@");
        harness::instance provider(plugin, json::object{{"api_key", "test-key"}, {"endpoint", "https://api.test"}});

        const sdk::batch batch = one_batch();
        const auto verdicts = provider.validate("sms", batch.step, {batch.recipients[0], {"", "0123", json::object{}}});
        check(verdicts[0].ok, "a number in E.164 with its parameter is valid");
        check(!verdicts[1].ok && verdicts[1].field == "to", "a number that is not E.164 is refused on \"to\"");

        const sdk::http_request request = provider.encode(batch, 0);
        check(request.url == "https://api.test/v1/messages", "the batch is posted to {endpoint}/v1/messages");
        check(*request.find_header("Authorization") == "Bearer test-key", "with the API key as a bearer token");
        check(request.body.find("\"text\":\"Your code is 123456\"") != std::string::npos, "and each text filled in");

        const auto outcomes = provider.decode(batch, {200, {}, R"({"results": [{"ref": "0", "id": "m-1"},
            {"ref": "1", "error": {"code": "invalid_number", "message": "no such number"}}]})"});
        check(outcomes[0].kind == sdk::result::accepted && outcomes[0].message_id == "m-1", "an id in the answer accepts");
        check(outcomes[1].kind == sdk::result::rejected && outcomes[1].code == "invalid_number", "an error in it rejects");
        try {
            provider.decode(batch, {429, {{"Retry-After", "5"}}, "{}"});
            check(false, "a 429 fails the call");
        } catch (const sdk::error& e) {
            check(e.code() == sdk::status::transient && e.retry_after_ms() == 5000, "a 429 is a passing failure after 5 s");
        }
    } catch (const std::exception& e) {
        std::cout << "FAIL " << e.what() << '\n';
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
)tmpl"},
    {"tests/config.json", R"tmpl({"api_key": "check-key", "endpoint": "https://api.test"}
)tmpl"},
    {"tests/step.json", R"tmpl({"channel": "sms", "text": "Your code is {code}"}
)tmpl"},
    {"tests/params.json", R"tmpl({"code": "123456"}
)tmpl"},
    {"README.md", R"tmpl(# The @NAME@ provider plugin for Switchboard

Generated by `switchboard plugins new @NAME@`. Build and test it against the installed SDK:

    cmake -S . -B build -DCMAKE_PREFIX_PATH=/usr/local
    cmake --build build
    ctest --test-dir build --output-on-failure

`unit` drives `@NAME@.so` through the C ABI with canned vendor answers
(`tests/@IDENT@_tests.cpp`, with `<switchboard/sdk/harness.hpp>`); `conformance` runs
`switchboard plugins check` on it with `tests/config.json`, `tests/step.json` and
`tests/params.json`. Then replace the request and the answer in `src/@IDENT@_provider.cpp` with
your vendor's, and keep both tests passing. The guide to the rules is the SDK's README
(`share/switchboard/sdk-examples/README.md`).

Install it beside the daemon's plugins and name its directory in the daemon's `plugin_dirs`:

    cmake --install build --prefix /usr/lib/switchboard/vendor-plugins
)tmpl"},
};

std::string replaced(std::string text, const std::string& name, const std::string& ident) {
    for (const auto& [from, to] : {std::pair<std::string, const std::string&>{"@NAME@", name}, {"@IDENT@", ident}})
        for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    return text;
}

bool is_plugin_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || !(name[0] >= 'a' && name[0] <= 'z'))
        return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

} // namespace

int new_plugin_project(const std::string& name, const fs::path& dir, std::ostream& out, std::ostream& err) {
    if (!is_plugin_name(name)) {
        err << "error: '" << name << "' cannot name a plugin: 1 to 64 of a-z, 0-9, _ and -, starting with a letter "
            << "(the file is <name>.so)\n";
        return 1;
    }
    std::string ident = name;
    for (char& c : ident)
        if (c == '-')
            c = '_';
    const fs::path root = dir / name;
    std::error_code ec;
    if (fs::exists(root, ec) && !fs::is_empty(root, ec)) {
        err << "error: " << root.string() << " exists and is not empty: choose another --dir or name\n";
        return 1;
    }
    for (const auto& [path, text] : project_files) {
        const fs::path file = root / replaced(path, name, ident);
        fs::create_directories(file.parent_path(), ec);
        std::ofstream written(file, std::ios::binary);
        written << replaced(text, name, ident);
        if (!written.flush()) {
            err << "error: " << file.string() << ": cannot be written\n";
            return 1;
        }
    }
    out << "wrote " << root.string() << ": the " << name << " provider, its tests and a README\n"
        << "next:\n"
        << "  cmake -S " << root.string() << " -B " << (root / "build").string() << " -DCMAKE_PREFIX_PATH=<the SDK's prefix>\n"
        << "  cmake --build " << (root / "build").string() << "\n"
        << "  ctest --test-dir " << (root / "build").string() << " --output-on-failure\n";
    return 0;
}

} // namespace switchboard::host
