// The host reads every manifest before it trusts a plugin: a missing or malformed field is named.
#include <switchboard/core/plugin_manifest.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

using switchboard::core::parse_plugin_manifest;

namespace {
const std::string complete = R"({
    "name": "uspeedo", "version": "1.2.0", "abi": "1.0", "description": "SMS",
    "channels": ["sms"], "max_recipients_per_call": 1000, "grouping": ["template", "sender"],
    "rate_limits": {"requests_per_second": 10, "recipients_per_second": 2000.5},
    "receipts": "pull", "thread_safe": true, "transient_errors": ["150", "153"],
    "config_schema": {"type": "object"}, "a_field_from_the_future": 1})";

std::string without(const std::string& field) {
    std::string doc = complete;
    const std::size_t at = doc.find("\"" + field + "\"");
    const std::size_t end = doc.find(", \"", at);
    return doc.erase(at, end + 2 - at);
}
} // namespace

TEST_CASE("a complete manifest is read field by field", "[core][manifest]") {
    const auto m = parse_plugin_manifest(complete);
    CHECK(m.name == "uspeedo");
    CHECK(m.version == "1.2.0");
    CHECK(m.abi == "1.0");
    CHECK(m.channels == std::vector<std::string>{"sms"});
    CHECK(m.max_recipients_per_call == 1000);
    CHECK(m.grouping == std::vector<std::string>{"template", "sender"});
    CHECK(m.requests_per_second == 10);
    CHECK(m.recipients_per_second == 2000.5);
    CHECK(m.receipts == "pull");
    CHECK(m.thread_safe);
    CHECK(m.transient_errors.size() == 2);
    CHECK(m.config_schema_json == R"({"type":"object"})");
    CHECK(m.json == complete);
}

TEST_CASE("each required manifest field is named when missing", "[core][manifest]") {
    for (const std::string field : {"name", "version", "abi", "channels", "max_recipients_per_call"}) {
        INFO(field);
        CHECK_THROWS_WITH(parse_plugin_manifest(without(field)), "manifest field '" + field + "' is missing");
    }
    const std::string no_schema = R"({"name": "x", "version": "1", "abi": "1.0", "channels": ["sms"],
                                      "max_recipients_per_call": 1})";
    CHECK_THROWS_WITH(parse_plugin_manifest(no_schema), "manifest field 'config_schema' is missing");
}

TEST_CASE("malformed manifest fields say what was expected", "[core][manifest]") {
    auto with = [](const std::string& from, const std::string& to) {
        std::string doc = complete;
        return doc.replace(doc.find(from), from.size(), to);
    };
    CHECK_THROWS_WITH(parse_plugin_manifest("{"), Catch::StartsWith("manifest is not valid JSON"));
    CHECK_THROWS_WITH(parse_plugin_manifest("[]"), "manifest is not a JSON object");
    CHECK_THROWS_WITH(parse_plugin_manifest(with("\"uspeedo\"", "\"USpeedo\"")),
                      "manifest field 'name' must be 1 to 64 of [a-z0-9_-], got 'USpeedo'");
    CHECK_THROWS_WITH(parse_plugin_manifest(with("[\"sms\"]", "[]")),
                      "manifest field 'channels' must name at least one channel");
    CHECK_THROWS_WITH(parse_plugin_manifest(with("1000", "0")),
                      "manifest field 'max_recipients_per_call' must be an integer from 1 to 1000000");
    CHECK_THROWS_WITH(parse_plugin_manifest(with("\"pull\"", "\"poll\"")),
                      "manifest field 'receipts' must be none, push or pull, got 'poll'");
    CHECK_THROWS_WITH(parse_plugin_manifest(with("\"requests_per_second\": 10", "\"requests_per_second\": -1")),
                      "manifest field 'rate_limits.requests_per_second' must be a number of at least 0");
}

TEST_CASE("a step_schema (ABI 1.1) is read when present and must be a schema object", "[core][manifest]") {
    CHECK(parse_plugin_manifest(complete).step_schema_json.empty());   // a 1.0 plugin has none
    std::string with_steps = complete;
    with_steps.replace(with_steps.find("\"config_schema\""), 0, R"("step_schema": {"required": ["template"]}, )");
    CHECK(parse_plugin_manifest(with_steps).step_schema_json == R"({"required":["template"]})");
    std::string wrong = complete;
    wrong.replace(wrong.find("\"config_schema\""), 0, R"("step_schema": ["template"], )");
    CHECK_THROWS_WITH(parse_plugin_manifest(wrong), "manifest field 'step_schema' must be a JSON Schema object");
}
