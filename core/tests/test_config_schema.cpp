// The host enforces a plugin's config_schema: every problem of a configuration at once, each with
// its path, and never the value itself (it may be a secret).
#include <switchboard/core/config_schema.hpp>

#include <catch2/catch.hpp>

using switchboard::core::config_schema_problems;
using problems = std::vector<std::string>;

namespace {

const std::string schema = R"({
    "type": "object",
    "required": ["key", "secret"],
    "properties": {
        "key": {"type": "string", "minLength": 1},
        "secret": {"type": "string", "minLength": 8, "writeOnly": true},
        "region": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "account": {"type": "integer", "minimum": 1, "maximum": 99},
        "style": {"enum": ["action", "v1"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "rate": {"type": "number", "exclusiveMinimum": 0}
    },
    "additionalProperties": false,
    "if": {"properties": {"style": {"const": "v1"}}, "required": ["style"]},
    "then": {"required": ["account"]}
})";

problems check(const std::string& config) { return config_schema_problems(schema, config, "config"); }

} // namespace

TEST_CASE("a configuration that keeps the schema has no problems", "[schema]") {
    CHECK(check(R"({"key": "k", "secret": "s3cret-long", "region": "cn-north-4", "account": 7, "style": "v1",
                    "tags": ["a"], "rate": 0.5})")
              .empty());
    CHECK(check(R"({"key": "k", "secret": "s3cret-long", "account": 7.0})").empty());   // 7.0 is an integer
}

TEST_CASE("every breach is reported at once, each with its path", "[schema]") {
    CHECK(check(R"({"secret": "short", "region": "CN North", "account": 0, "style": "basic", "tags": ["a", 2, "c"],
                    "rate": 0, "regoin": "x"})") ==
          problems{"config.key: is required",
                   "config.secret: must have at least 8 characters",
                   "config.region: must match the pattern ^[a-z0-9-]+$",
                   "config.account: must be at least 1",
                   "config.style: must be one of action, v1",
                   "config.tags: must have at most 2 items",
                   "config.tags[1]: must be a string, not an integer",
                   "config.rate: must be more than 0",
                   "config.regoin: is not a setting of this plugin (its settings: account, key, rate, region, secret, "
                   "style, tags)"});
}

TEST_CASE("types are named in words and a wrong type stops that field's other checks", "[schema]") {
    CHECK(check(R"({"key": 5, "secret": true, "account": "7"})") ==
          problems{"config.key: must be a string, not an integer", "config.secret: must be a string, not true or false",
                   "config.account: must be an integer, not a string"});
    CHECK(check(R"([1, 2])") == problems{"config: must be an object, not an array"});
    CHECK(check("{\"key\": ") == problems{"config: is not valid JSON (incomplete JSON)"});
}

TEST_CASE("conditions and alternatives apply: if/then, anyOf, oneOf", "[schema]") {
    CHECK(check(R"({"key": "k", "secret": "s3cret-long", "style": "v1"})") == problems{"config.account: is required"});
    const std::string either = R"({"type": "object", "anyOf": [{"required": ["endpoint"]}, {"required": ["region"]}]})";
    CHECK(config_schema_problems(either, R"({"region": "x"})", "config").empty());
    CHECK(config_schema_problems(either, "{}", "config") ==
          problems{"config: must satisfy one of 2 alternatives; the first says: config.endpoint: is required"});
    const std::string one = R"({"oneOf": [{"type": "string"}, {"type": "string", "minLength": 2}]})";
    CHECK(config_schema_problems(one, R"("abc")", "config") ==
          problems{"config: must satisfy exactly one of 2 alternatives, not 2"});
}

TEST_CASE("a secret's value never appears in a problem", "[schema]") {
    const problems found = check(R"({"key": "k", "secret": "hunter2"})");
    REQUIRE(found.size() == 1);
    CHECK(found.front().find("hunter2") == std::string::npos);
}

TEST_CASE("an invalid pattern in a plugin's schema is named as the plugin's bug", "[schema]") {
    CHECK(config_schema_problems(R"({"properties": {"x": {"pattern": "(["}}})", R"({"x": "a"})", "config") ==
          problems{"config.x: cannot be checked: the plugin's config_schema has an invalid pattern ([ (a bug in the plugin)"});
}
