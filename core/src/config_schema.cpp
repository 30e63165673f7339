#include <switchboard/core/config_schema.hpp>

#include <switchboard/provider.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <regex>

namespace switchboard::core {
namespace json = boost::json;

namespace {

bool is_integer(const json::value& v) {
    if (v.is_int64() || v.is_uint64())
        return true;
    return v.is_double() && std::isfinite(v.get_double()) && std::floor(v.get_double()) == v.get_double();
}

bool has_type(const json::value& v, std::string_view type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_bool();
    if (type == "null") return v.is_null();
    if (type == "number") return v.is_number();
    if (type == "integer") return is_integer(v);
    return true;   // a type this subset does not know is not held against the value
}

const char* kind_of(const json::value& v) {
    if (is_integer(v))
        return "an integer";
    switch (v.kind()) {
    case json::kind::object: return "an object";
    case json::kind::array: return "an array";
    case json::kind::string: return "a string";
    case json::kind::bool_: return "true or false";
    case json::kind::null: return "null";
    default: return "a number";
    }
}

std::string names_of(const json::array& items) {
    std::string out;
    for (const json::value& item : items)
        out += (out.empty() ? "" : ", ") + (item.is_string() ? std::string(item.get_string()) : json::serialize(item));
    return out;
}

double number(const json::value& v) { return v.to_number<double>(); }

std::string decimal(double d) {
    std::string s = json::serialize(json::value(d));
    if (is_integer(json::value(d)) && std::fabs(d) < 1e15)
        s = std::to_string(static_cast<long long>(d));
    return s;
}

class checker {
public:
    checker(std::vector<std::string>& problems, const std::string& unknown_key, const std::string& known_label)
        : problems_(problems), unknown_key_(unknown_key), known_label_(known_label) {}

    void check(const json::value& schema, const json::value& value, const std::string& path) {
        if (!schema.is_object())
            return;   // true, false and anything else: no constraint this subset reads
        const json::object& s = schema.get_object();
        if (!check_type(s, value, path))
            return;   // the other keywords would only repeat it
        check_choices(s, value, path);
        check_combinations(s, value, path);
        if (value.is_object())
            check_object(s, value.get_object(), path);
        else if (value.is_array())
            check_array(s, value.get_array(), path);
        else if (value.is_string())
            check_string(s, value.get_string(), path);
        else if (value.is_number())
            check_number(s, number(value), path);
    }

private:
    void add(const std::string& path, const std::string& what) { problems_.push_back(path + ": " + what); }

    bool check_type(const json::object& s, const json::value& value, const std::string& path) {
        const json::value* type = s.if_contains("type");
        if (type == nullptr)
            return true;
        if (type->is_string()) {
            if (has_type(value, type->get_string()))
                return true;
            add(path, "must be " + article(type->get_string()) + ", not " + kind_of(value));
            return false;
        }
        if (!type->is_array())
            return true;
        const json::array& types = type->get_array();
        if (std::any_of(types.begin(), types.end(), [&](const json::value& t) { return t.is_string() && has_type(value, t.get_string()); }))
            return true;
        add(path, "must be one of the types " + names_of(types) + ", not " + kind_of(value));
        return false;
    }

    static std::string article(std::string_view type) {
        if (type == "integer" || type == "object" || type == "array")
            return "an " + std::string(type);
        if (type == "boolean")
            return "true or false";
        return "a " + std::string(type);
    }

    void check_choices(const json::object& s, const json::value& value, const std::string& path) {
        if (const json::value* choices = s.if_contains("enum"); choices && choices->is_array()) {
            const json::array& items = choices->get_array();
            if (std::find(items.begin(), items.end(), value) == items.end())
                add(path, "must be one of " + names_of(items));
        }
        if (const json::value* only = s.if_contains("const"); only && *only != value)
            add(path, "must be " + names_of(json::array{*only}));
    }

    // How many problems `schema` finds in `value`, without reporting them.
    std::size_t quietly(const json::value& schema, const json::value& value, const std::string& path,
                        std::vector<std::string>* found = nullptr) {
        std::vector<std::string> problems;
        checker(problems, unknown_key_, known_label_).check(schema, value, path);
        if (found != nullptr)
            *found = problems;
        return problems.size();
    }

    void check_combinations(const json::object& s, const json::value& value, const std::string& path) {
        if (const json::value* all = s.if_contains("allOf"); all && all->is_array())
            for (const json::value& sub : all->get_array())
                check(sub, value, path);
        if (const json::value* any = s.if_contains("anyOf"); any && any->is_array()) {
            std::vector<std::string> first;
            const json::array& subs = any->get_array();
            bool matched = false;
            for (std::size_t i = 0; i < subs.size() && !matched; ++i)
                matched = quietly(subs[i], value, path, i == 0 ? &first : nullptr) == 0;
            if (!matched && !subs.empty())
                add(path, "must satisfy one of " + std::to_string(subs.size()) + " alternatives; the first says: " +
                              (first.empty() ? "no" : first.front()));
        }
        if (const json::value* one = s.if_contains("oneOf"); one && one->is_array()) {
            const std::size_t matching = std::count_if(one->get_array().begin(), one->get_array().end(),
                                                       [&](const json::value& sub) { return quietly(sub, value, path) == 0; });
            if (matching != 1)
                add(path, "must satisfy exactly one of " + std::to_string(one->get_array().size()) + " alternatives, not " +
                              std::to_string(matching));
        }
        if (const json::value* condition = s.if_contains("if")) {
            const json::value* branch = s.if_contains(quietly(*condition, value, path) == 0 ? "then" : "else");
            if (branch != nullptr)
                check(*branch, value, path);
        }
    }

    void check_object(const json::object& s, const json::object& value, const std::string& path) {
        if (const json::value* required = s.if_contains("required"); required && required->is_array())
            for (const json::value& key : required->get_array())
                if (key.is_string() && !value.contains(key.get_string()))
                    add(path + "." + std::string(key.get_string()), "is required");
        const json::object* properties = nullptr;
        if (const json::value* p = s.if_contains("properties"); p && p->is_object())
            properties = &p->get_object();
        const json::value* additional = s.if_contains("additionalProperties");
        for (const auto& [key, item] : value) {
            const std::string item_path = path + "." + std::string(key);
            if (properties != nullptr)
                if (const json::value* sub = properties->if_contains(key)) {
                    check(*sub, item, item_path);
                    continue;
                }
            if (additional == nullptr)
                continue;
            if (*additional == false)
                add(item_path, unknown_key_ +
                                   (properties != nullptr && !properties->empty() ? " (" + known_label_ + ": " + keys_of(*properties) + ")"
                                                                                  : std::string()));
            else
                check(*additional, item, item_path);
        }
    }

    static std::string keys_of(const json::object& properties) {
        std::vector<std::string> keys;
        for (const auto& [key, _] : properties)
            keys.emplace_back(key);
        std::sort(keys.begin(), keys.end());
        std::string out;
        for (const std::string& key : keys)
            out += (out.empty() ? "" : ", ") + key;
        return out;
    }

    void check_array(const json::object& s, const json::array& value, const std::string& path) {
        if (const json::value* min = s.if_contains("minItems"); min && is_integer(*min) && value.size() < number(*min))
            add(path, "must have at least " + decimal(number(*min)) + " items");
        if (const json::value* max = s.if_contains("maxItems"); max && is_integer(*max) && value.size() > number(*max))
            add(path, "must have at most " + decimal(number(*max)) + " items");
        if (const json::value* items = s.if_contains("items"); items && items->is_object())
            for (std::size_t i = 0; i < value.size(); ++i)
                check(*items, value[i], path + "[" + std::to_string(i) + "]");
    }

    void check_string(const json::object& s, std::string_view value, const std::string& path) {
        // Characters, as JSON Schema counts them: code points, not bytes.
        const auto length = static_cast<double>(
            std::count_if(value.begin(), value.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
        if (const json::value* min = s.if_contains("minLength"); min && min->is_number() && length < number(*min))
            add(path, number(*min) == 1 ? "must not be empty" : "must have at least " + decimal(number(*min)) + " characters");
        if (const json::value* max = s.if_contains("maxLength"); max && max->is_number() && length > number(*max))
            add(path, "must have at most " + decimal(number(*max)) + " characters");
        if (const json::value* pattern = s.if_contains("pattern"); pattern && pattern->is_string()) {
            try {
                const std::regex re(std::string(pattern->get_string()), std::regex::ECMAScript);
                if (!std::regex_search(value.begin(), value.end(), re))
                    add(path, "must match the pattern " + std::string(pattern->get_string()));
            } catch (const std::regex_error&) {
                add(path, "cannot be checked: the plugin's config_schema has an invalid pattern " +
                              std::string(pattern->get_string()) + " (a bug in the plugin)");
            }
        }
    }

    void check_number(const json::object& s, double value, const std::string& path) {
        const auto bound = [&](const char* key) -> const json::value* {
            const json::value* v = s.if_contains(key);
            return v != nullptr && v->is_number() ? v : nullptr;
        };
        if (const json::value* min = bound("minimum"); min && value < number(*min))
            add(path, "must be at least " + decimal(number(*min)));
        if (const json::value* max = bound("maximum"); max && value > number(*max))
            add(path, "must be at most " + decimal(number(*max)));
        if (const json::value* min = bound("exclusiveMinimum"); min && value <= number(*min))
            add(path, "must be more than " + decimal(number(*min)));
        if (const json::value* max = bound("exclusiveMaximum"); max && value >= number(*max))
            add(path, "must be less than " + decimal(number(*max)));
    }

    std::vector<std::string>& problems_;
    const std::string& unknown_key_;
    const std::string& known_label_;
};

} // namespace

void check_config_schema(const json::value& schema, const json::value& value, const std::string& path,
                         std::vector<std::string>& problems, const std::string& unknown_key,
                         const std::string& known_label) {
    checker(problems, unknown_key, known_label).check(schema, value, path);
}

std::vector<std::string> config_schema_problems(std::string_view schema_json, std::string_view config_json,
                                                const std::string& path) {
    std::vector<std::string> problems;
    boost::system::error_code ec;
    const json::value schema = json::parse(schema_json, ec);
    if (ec)
        return problems;   // the manifest's parser has read it already
    const json::value config = json::parse(config_json, ec);
    if (ec) {
        problems.push_back(path + ": is not valid JSON (" + ec.message() + ")");
        return problems;
    }
    check_config_schema(schema, config, path, problems);
    return problems;
}

std::vector<std::string> step_schema_problems(std::string_view schema_json, std::string_view step_json,
                                              const std::string& path, const std::string& plugin_name) {
    static constexpr std::string_view host_keys[] = {SB_HOST_STEP_KEYS};
    std::vector<std::string> problems;
    boost::system::error_code ec;
    const json::value schema = json::parse(schema_json, ec);
    const json::value written = ec ? json::value() : json::parse(step_json, ec);
    if (ec || !written.is_object())
        return problems;   // read and reported by the route's own checks
    json::object own;      // in the order written, so that problems come in that order too
    for (const auto& [key, value] : written.get_object())
        if (std::find(std::begin(host_keys), std::end(host_keys), key) == std::end(host_keys))
            own.emplace(key, value);
    check_config_schema(schema, own, path, problems, "is not a step key of plugin " + plugin_name, "its keys");
    return problems;
}

} // namespace switchboard::core
