// A plugin's config_schema (and step_schema) enforced by the host: every problem of a configuration at once, each
// with its path, before the plugin's create() sees it. The subset of JSON Schema (draft 07) it
// reads: type, enum, const, required, properties, additionalProperties, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern (ECMAScript), items,
// minItems, maxItems, allOf, anyOf, oneOf, if/then/else. Other keywords are not checked (the
// plugin still checks everything itself). Values are never quoted back: they may be secrets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class value;
}

namespace switchboard::core {

// Adds "<path>.<field>: <what is wrong>" to `problems` for each way `value` breaks `schema`;
// `path` names the value ("config").
// A key that additionalProperties: false refuses is told `unknown_key`, then "(<known_label>: a, b)".
void check_config_schema(const boost::json::value& schema, const boost::json::value& value, const std::string& path,
                         std::vector<std::string>& problems,
                         const std::string& unknown_key = "is not a setting of this plugin",
                         const std::string& known_label = "its settings");

// The problems of a plugin's configuration (JSON text, secrets resolved) against the config_schema
// of its manifest (`schema_json`), each "<path>.<field>: <what is wrong>".
std::vector<std::string> config_schema_problems(std::string_view schema_json, std::string_view config_json,
                                                const std::string& path);

// The problems of a route step (JSON text, the host's keys included) against the step_schema of
// plugin `plugin_name` (`schema_json`): the keys the host reads itself (SB_HOST_STEP_KEYS) are
// left out, since they are not the plugin's.
std::vector<std::string> step_schema_problems(std::string_view schema_json, std::string_view step_json,
                                              const std::string& path, const std::string& plugin_name);

} // namespace switchboard::core
