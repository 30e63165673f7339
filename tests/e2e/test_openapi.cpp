// docs/openapi.json against the server's real answers: every documented path and method is called
// with good and bad requests, and each answer's status must be listed for it, its content type
// documented, and its body valid against the documented schema; each request the test sends must
// itself conform to the document (or, for the bad ones, must not). The JSON Schema validator here
// implements the subset the document uses and refuses any other keyword, so that a schema it cannot
// check never passes unchecked.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace json = boost::json;
using namespace switchboard;
using namespace switchboard::testing;

namespace {

// ---- the document ------------------------------------------------------------------------------

json::object load_document() {
    std::ifstream in(SWITCHBOARD_OPENAPI);
    if (!in)
        throw std::runtime_error(std::string("cannot read ") + SWITCHBOARD_OPENAPI);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str()).as_object();
}

// "#/components/schemas/Job" in `document`; throws when it leads nowhere.
const json::value& resolve_pointer(const json::object& document, std::string_view ref) {
    if (ref.substr(0, 2) != "#/")
        throw std::logic_error("only local references are supported: " + std::string(ref));
    const json::value* at = nullptr;
    const json::object* object = &document;
    std::string_view rest = ref.substr(2);
    while (true) {
        const std::size_t slash = rest.find('/');
        std::string token(rest.substr(0, slash));
        for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i)
            token.replace(i, 2, token.compare(i, 2, "~1") == 0 ? "/" : "~");
        if (object == nullptr || (at = object->if_contains(token)) == nullptr)
            throw std::logic_error("reference " + std::string(ref) + " leads nowhere");
        if (slash == std::string_view::npos)
            return *at;
        object = at->if_object();
        rest = rest.substr(slash + 1);
    }
}

// ---- a JSON Schema validator for the OpenAPI 3.0 subset the document uses -------------------------

// Where the instance first disagrees with the schema, as a JSON path ("$.counts.queued"), and how.
struct mismatch {
    std::string path;
    std::string problem;
    std::string text() const { return path + ": " + problem; }
};

std::string member_path(const std::string& parent, std::string_view key) {
    static const std::regex identifier("^[A-Za-z_][A-Za-z0-9_]*$");
    if (std::regex_match(key.begin(), key.end(), identifier))
        return parent + "." + std::string(key);
    return parent + "['" + std::string(key) + "']";
}

std::string kind_of(const json::value& v) {
    switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number with a fraction or exponent (" + json::serialize(v) + ")";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    }
    return "?";
}

double as_number(const json::value& v) {
    if (v.is_int64())
        return static_cast<double>(v.get_int64());
    if (v.is_uint64())
        return static_cast<double>(v.get_uint64());
    return v.get_double();
}

std::size_t code_points(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

class schema_validator {
public:
    explicit schema_validator(const json::object& document) : document_(document) {}

    // The first mismatch of `instance` against `schema`, or nothing when it conforms.
    std::optional<mismatch> validate(const json::value& instance, const json::value& schema,
                                     const std::string& path = "$") const {
        const json::object& s = schema.as_object();
        if (const json::value* ref = s.if_contains("$ref"))  // OpenAPI 3.0: siblings of $ref are ignored
            return validate(instance, resolve_pointer(document_, ref->as_string()), path);
        for (const auto& [keyword, value] : s)
            if (!known(keyword))
                throw std::logic_error("schema keyword '" + std::string(keyword) + "' is not supported by this validator");

        if (instance.is_null()) {
            const json::value* nullable = s.if_contains("nullable");
            if (nullable != nullptr && nullable->as_bool())
                return std::nullopt;
            if (s.contains("type"))
                return mismatch{path, "is null, which the schema does not allow (not nullable)"};
        }
        if (const json::value* type = s.if_contains("type"); type != nullptr && !has_type(instance, type->as_string()))
            return mismatch{path, "expected " + std::string(type->as_string()) + ", found " + kind_of(instance)};
        if (const json::value* values = s.if_contains("enum")) {
            const json::array& allowed = values->as_array();
            if (std::find(allowed.begin(), allowed.end(), instance) == allowed.end())
                return mismatch{path, json::serialize(instance) + " is not one of " + json::serialize(allowed)};
        }
        if (instance.is_number()) {
            if (const json::value* min = s.if_contains("minimum"); min != nullptr && as_number(instance) < as_number(*min))
                return mismatch{path, json::serialize(instance) + " is less than the minimum " + json::serialize(*min)};
            if (const json::value* max = s.if_contains("maximum"); max != nullptr && as_number(instance) > as_number(*max))
                return mismatch{path, json::serialize(instance) + " is more than the maximum " + json::serialize(*max)};
        }
        if (instance.is_string()) {
            const std::string_view text = instance.get_string();
            if (const json::value* min = s.if_contains("minLength"); min != nullptr && code_points(text) < min->to_number<std::size_t>())
                return mismatch{path, "is shorter than " + json::serialize(*min) + " characters"};
            if (const json::value* max = s.if_contains("maxLength"); max != nullptr && code_points(text) > max->to_number<std::size_t>())
                return mismatch{path, "is longer than " + json::serialize(*max) + " characters"};
            if (const json::value* pattern = s.if_contains("pattern")) {
                const std::regex re(std::string(pattern->as_string()));
                if (!std::regex_search(text.begin(), text.end(), re))
                    return mismatch{path, "'" + std::string(text) + "' does not match " + std::string(pattern->as_string())};
            }
            if (const json::value* format = s.if_contains("format"); format != nullptr && format->as_string() == "date-time") {
                static const std::regex rfc3339(R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
                if (!std::regex_match(text.begin(), text.end(), rfc3339))
                    return mismatch{path, "'" + std::string(text) + "' is not an RFC 3339 date-time"};
            }
        }
        if (instance.is_array()) {
            const json::array& items = instance.get_array();
            if (const json::value* min = s.if_contains("minItems"); min != nullptr && items.size() < min->to_number<std::size_t>())
                return mismatch{path, "has " + std::to_string(items.size()) + " items, fewer than " + json::serialize(*min)};
            if (const json::value* item_schema = s.if_contains("items"))
                for (std::size_t i = 0; i < items.size(); ++i)
                    if (auto m = validate(items[i], *item_schema, path + "[" + std::to_string(i) + "]"))
                        return m;
        }
        if (instance.is_object()) {
            const json::object& o = instance.get_object();
            if (const json::value* required = s.if_contains("required"))
                for (const json::value& name : required->as_array())
                    if (!o.contains(name.as_string()))
                        return mismatch{member_path(path, name.as_string()), "is required but missing"};
            const json::object* properties = s.contains("properties") ? &s.at("properties").as_object() : nullptr;
            const json::value* additional = s.if_contains("additionalProperties");
            for (const auto& [key, value] : o) {
                const json::value* property = properties != nullptr ? properties->if_contains(key) : nullptr;
                if (property != nullptr) {
                    if (auto m = validate(value, *property, member_path(path, key)))
                        return m;
                } else if (additional != nullptr && additional->is_bool()) {
                    if (!additional->get_bool())
                        return mismatch{member_path(path, key), "is not an allowed property"};
                } else if (additional != nullptr) {
                    if (auto m = validate(value, *additional, member_path(path, key)))
                        return m;
                }
            }
        }
        if (const json::value* all = s.if_contains("allOf"))
            for (const json::value& sub : all->as_array())
                if (auto m = validate(instance, sub, path))
                    return m;
        if (const json::value* any = s.if_contains("anyOf")) {
            std::optional<mismatch> closest;
            for (const json::value& sub : any->as_array()) {
                auto m = validate(instance, sub, path);
                if (!m)
                    return std::nullopt;
                if (!closest || m->path.size() > closest->path.size())
                    closest = m;
            }
            return mismatch{path, "matches none of anyOf (closest: " + closest->text() + ")"};
        }
        if (const json::value* one = s.if_contains("oneOf")) {
            std::size_t matched = 0;
            std::optional<mismatch> closest;
            for (const json::value& sub : one->as_array()) {
                auto m = validate(instance, sub, path);
                if (!m)
                    ++matched;
                else if (!closest || m->path.size() > closest->path.size())
                    closest = m;
            }
            if (matched == 0)
                return mismatch{path, "matches none of oneOf (closest: " + closest->text() + ")"};
            if (matched > 1)
                return mismatch{path, "matches " + std::to_string(matched) + " of oneOf, not exactly one"};
        }
        return std::nullopt;
    }

    // Walks a schema and everything it references, refusing what validate() does not implement.
    void check_schema(const json::value& schema, std::set<std::string>& seen) const {
        const json::object& s = schema.as_object();
        if (const json::value* ref = s.if_contains("$ref")) {
            if (seen.insert(std::string(ref->as_string())).second)
                check_schema(resolve_pointer(document_, ref->as_string()), seen);
            return;
        }
        for (const auto& [keyword, value] : s) {
            if (!known(keyword))
                throw std::logic_error("schema keyword '" + std::string(keyword) + "' is not supported by this validator");
            if (keyword == "items" || (keyword == "additionalProperties" && value.is_object()))
                check_schema(value, seen);
            if (keyword == "properties")
                for (const auto& [name, sub] : value.as_object())
                    check_schema(sub, seen);
            if (keyword == "allOf" || keyword == "anyOf" || keyword == "oneOf")
                for (const json::value& sub : value.as_array())
                    check_schema(sub, seen);
            if (keyword == "pattern")
                std::regex(std::string(value.as_string()));  // throws when it is not a valid regex
            if (keyword == "type") {
                static const std::set<std::string> types{"string", "integer", "number", "boolean", "object", "array"};
                if (types.count(std::string(value.as_string())) == 0)
                    throw std::logic_error("unknown type '" + std::string(value.as_string()) + "'");
            }
        }
    }

private:
    static bool known(std::string_view keyword) {
        static const std::set<std::string, std::less<>> keywords{
            // checked
            "type", "nullable", "enum", "required", "properties", "additionalProperties", "items", "allOf", "anyOf",
            "oneOf", "minimum", "maximum", "minLength", "maxLength", "minItems", "pattern", "format",
            // annotations only
            "description", "default", "example", "title"};
        return keywords.count(keyword) != 0;
    }

    // Strict about integers: 1.0 or 1E0 is not one (a client decoding into an integer type rejects it).
    static bool has_type(const json::value& v, std::string_view type) {
        if (type == "integer")
            return v.is_int64() || v.is_uint64();
        if (type == "number")
            return v.is_number();
        if (type == "string")
            return v.is_string();
        if (type == "boolean")
            return v.is_bool();
        if (type == "object")
            return v.is_object();
        if (type == "array")
            return v.is_array();
        throw std::logic_error("unknown type '" + std::string(type) + "'");
    }

    const json::object& document_;
};

// ---- requests and answers against the document ---------------------------------------------------

constexpr std::string_view http_methods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
constexpr std::string_view other_methods = "x-other-methods";

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::vector<std::string> segments(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        out.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    return out;
}

// "text/plain; version=0.0.4; charset=utf-8" without spaces, lower case.
std::string media_type(std::string_view content_type) {
    std::string out;
    for (char c : content_type)
        if (c != ' ' && c != '\t')
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool media_matches(std::string_view documented, std::string_view actual) {
    const std::string d = media_type(documented);
    const std::string a = media_type(actual);
    if (d == a || d == "*/*")
        return true;
    const std::string d_type = d.substr(0, d.find(';'));
    const std::string a_type = a.substr(0, a.find(';'));
    if (d.find(';') == std::string::npos && d_type == a_type)
        return true;  // documented without parameters: any parameters match
    return d_type.size() > 2 && d_type.compare(d_type.size() - 2, 2, "/*") == 0 &&
           a_type.compare(0, d_type.size() - 1, d_type, 0, d_type.size() - 1) == 0;
}

// Whether the request sent should conform to the document: a good request must, a request that is
// bad in a way the document describes must not; semantically bad requests that the schema cannot
// tell (a route name that is not configured, a deadline in the past) conform.
enum class request_is { conforming, nonconforming, not_checked };

struct answer {
    int status = 0;
    std::string content_type;
    std::string raw;
    json::value body;  // parsed when the answer is JSON
};

class conformance {
public:
    conformance(const json::object& document, std::string api_url, std::string key)
        : document_(document), validator_(document), api_url_(std::move(api_url)), key_(std::move(key)) {}

    // Sends the request (with the API key unless `with_key` is false), expects `expected_status`,
    // and checks the request and the answer against the document. Returns the answer.
    answer call(const std::string& method, const std::string& target, const std::string& body, int expected_status,
                request_is request = request_is::not_checked, bool with_key = true,
                const std::string& content_type = "application/json") {
        INFO(method << " " << target << (body.size() < 600 ? " " + body : " (" + std::to_string(body.size()) + " bytes)"));
        const std::string path = target.substr(0, target.find('?'));
        const std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
        const std::string path_template = template_of(path);
        REQUIRE_FALSE(path_template.empty());  // every path the test calls is documented
        const json::object& item = document_.at("paths").at(path_template).as_object();
        const std::string op_key = item.contains(lower(method)) ? lower(method) : std::string(other_methods);
        REQUIRE(item.contains(op_key));
        const json::object& op = item.at(op_key).as_object();
        exercised_[path_template].insert(op_key);

        if (request != request_is::not_checked) {
            const std::optional<std::string> problem = request_problem(item, op, path, query, body, content_type);
            INFO("the request against the document: " << problem.value_or("conforms"));
            CHECK(problem.has_value() == (request == request_is::nonconforming));
        }

        std::vector<core::http_header> headers{{"Content-Type", content_type}};
        if (with_key)
            headers.push_back({"Authorization", "Bearer " + key_});
        const core::http_result r = core::fetch({method, api_url_ + target, headers, body});
        INFO(r.error);
        REQUIRE(r.ok());
        answer out;
        out.status = r.response.status;
        out.raw = r.response.body;
        if (const std::string* type = core::find_header(r.response.headers, "Content-Type"))
            out.content_type = *type;
        INFO("answer: " << out.status << " " << out.content_type << " " << out.raw.substr(0, 2000));
        CHECK(out.status == expected_status);
        statuses_seen_.insert(out.status);

        // The status must be listed for this path and method.
        const json::object& responses = op.at("responses").as_object();
        const json::value* response = responses.if_contains(std::to_string(out.status));
        if (response == nullptr)
            response = responses.if_contains("default");
        INFO("documented statuses: " << json::serialize(responses_keys(responses)));
        REQUIRE(response != nullptr);
        const json::object& documented = resolved(*response).as_object();
        const json::object* content = documented.contains("content") ? &documented.at("content").as_object() : nullptr;
        if (content == nullptr) {
            CHECK(out.raw.empty());
            return out;
        }
        // Its content type must be documented, and its body valid against that type's schema.
        const json::value* media = nullptr;
        for (const auto& [type, entry] : *content)
            if (media == nullptr && media_matches(type, out.content_type))
                media = &entry;
        INFO("documented content types: " << json::serialize(json::value_from(content_keys(*content))));
        REQUIRE(media != nullptr);
        const json::value* schema = media->as_object().if_contains("schema");
        const bool is_json = media_type(out.content_type).rfind("application/json", 0) == 0;
        if (is_json) {
            boost::system::error_code ec;
            out.body = json::parse(out.raw, ec);
            INFO("the body is not JSON: " << ec.message());
            REQUIRE_FALSE(ec);
        } else {
            out.body = json::string(out.raw);
        }
        if (schema != nullptr) {
            const std::optional<mismatch> m = validator_.validate(out.body, *schema);
            INFO("the body against the documented schema: " << (m ? m->text() : "conforms"));
            CHECK_FALSE(m.has_value());
        }
        return out;
    }

    // Every path and method of the document that no call reached.
    std::vector<std::string> unexercised() const {
        std::vector<std::string> out;
        for (const auto& [path, item] : document_.at("paths").as_object())
            for (const auto& [key, op] : item.as_object()) {
                const bool is_operation = key == other_methods ||
                                          std::find(std::begin(http_methods), std::end(http_methods), key) != std::end(http_methods);
                const auto seen = exercised_.find(std::string(path));
                if (is_operation && (seen == exercised_.end() || seen->second.count(std::string(key)) == 0))
                    out.push_back(std::string(key) + " " + std::string(path));
            }
        return out;
    }

    const std::set<int>& statuses_seen() const { return statuses_seen_; }

    // Operations that ask for the API key: (path template, "get" / "post" / ... / x-other-methods).
    std::vector<std::pair<std::string, std::string>> guarded_operations() const {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& [path, item] : document_.at("paths").as_object())
            for (const auto& [key, op] : item.as_object()) {
                if (key == "parameters")
                    continue;
                const json::value* security = op.as_object().if_contains("security");
                if (security == nullptr)
                    security = document_.if_contains("security");
                if (security != nullptr && !security->as_array().empty())
                    out.emplace_back(std::string(path), std::string(key));
            }
        return out;
    }

private:
    const json::value& resolved(const json::value& v) const {
        const json::value* ref = v.as_object().if_contains("$ref");
        return ref != nullptr ? resolve_pointer(document_, ref->as_string()) : v;
    }

    static json::array responses_keys(const json::object& responses) {
        json::array out;
        for (const auto& [key, value] : responses)
            out.emplace_back(key);
        return out;
    }
    static std::vector<std::string> content_keys(const json::object& content) {
        std::vector<std::string> out;
        for (const auto& [key, value] : content)
            out.emplace_back(key);
        return out;
    }

    // The documented path template a concrete path falls under ("" for none); literal segments win.
    std::string template_of(const std::string& path) const {
        const std::vector<std::string> given = segments(path);
        std::string best;
        int best_literals = -1;
        for (const auto& [candidate, item] : document_.at("paths").as_object()) {
            const std::vector<std::string> wanted = segments(candidate);
            if (wanted.size() != given.size())
                continue;
            int literals = 0;
            bool fits = true;
            for (std::size_t i = 0; i < wanted.size() && fits; ++i) {
                if (wanted[i].size() > 2 && wanted[i].front() == '{' && wanted[i].back() == '}')
                    fits = !given[i].empty();
                else if ((fits = wanted[i] == given[i]))
                    ++literals;
            }
            if (fits && literals > best_literals) {
                best = std::string(candidate);
                best_literals = literals;
            }
        }
        return best;
    }

    // What in the request disagrees with the document, or nothing.
    std::optional<std::string> request_problem(const json::object& item, const json::object& op, const std::string& path,
                                               const std::string& query, const std::string& body,
                                               const std::string& content_type) const {
        // Parameters: the path item's, then the operation's.
        std::map<std::pair<std::string, std::string>, const json::object*> parameters;
        for (const json::object* holder : {&item, &op})
            if (const json::value* list = holder->if_contains("parameters"))
                for (const json::value& p : list->as_array()) {
                    const json::object& param = resolved(p).as_object();
                    parameters[{std::string(param.at("in").as_string()), std::string(param.at("name").as_string())}] = &param;
                }
        const auto check_parameter = [&](const std::string& in, const std::string& name,
                                         const std::string& text) -> std::optional<std::string> {
            const auto found = parameters.find({in, name});
            if (found == parameters.end())
                return in + " parameter '" + name + "' is not documented";
            const json::value& schema = resolved(found->second->at("schema"));
            json::value value = json::string(text);
            static const std::regex whole_number("^-?[0-9]+$");
            const json::value* type = schema.as_object().if_contains("type");
            if (type != nullptr && type->as_string() == "integer" && std::regex_match(text, whole_number) && text.size() < 19)
                value = std::stoll(text);
            if (auto m = validator_.validate(value, schema, in + "." + name))
                return m->text();
            return std::nullopt;
        };
        // Path parameters, by their place in the template.
        const std::string path_template = template_of(path);
        const std::vector<std::string> wanted = segments(path_template);
        const std::vector<std::string> given = segments(path);
        for (std::size_t i = 0; i < wanted.size(); ++i)
            if (wanted[i].front() == '{')
                if (auto p = check_parameter("path", wanted[i].substr(1, wanted[i].size() - 2), given[i]))
                    return p;
        std::set<std::string> names;
        std::size_t start = 0;
        while (!query.empty() && start <= query.size()) {
            const std::size_t amp = query.find('&', start);
            const std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
            const std::size_t eq = pair.find('=');
            const std::string name = pair.substr(0, eq);
            names.insert(name);
            if (auto p = check_parameter("query", name, eq == std::string::npos ? "" : pair.substr(eq + 1)))
                return p;
            if (amp == std::string::npos)
                break;
            start = amp + 1;
        }
        for (const auto& [where, param] : parameters)
            if (where.first == "query" && param->contains("required") && param->at("required").as_bool() && names.count(where.second) == 0)
                return "query parameter '" + where.second + "' is required";
        // The body.
        const json::value* request_body = op.if_contains("requestBody");
        if (request_body == nullptr)
            return body.empty() ? std::nullopt : std::optional<std::string>("the operation takes no body");
        const json::object& rb = resolved(*request_body).as_object();
        if (body.empty())
            return rb.contains("required") && rb.at("required").as_bool() ? std::optional<std::string>("the body is required")
                                                                          : std::nullopt;
        const json::value* media = nullptr;
        for (const auto& [type, entry] : rb.at("content").as_object())
            if (media == nullptr && media_matches(type, content_type))
                media = &entry;
        if (media == nullptr)
            return "content type " + content_type + " is not documented for the body";
        if (media_type(content_type).rfind("application/json", 0) != 0)
            return std::nullopt;  // a vendor's own format: nothing to check
        boost::system::error_code ec;
        const json::value parsed = json::parse(body, ec);
        if (ec)
            return "the body is not JSON";
        if (auto m = validator_.validate(parsed, media->as_object().at("schema"), "$"))
            return m->text();
        return std::nullopt;
    }

    const json::object& document_;
    schema_validator validator_;
    std::string api_url_;
    std::string key_;
    std::map<std::string, std::set<std::string>> exercised_;
    std::set<int> statuses_seen_;
};

std::string rfc3339_in(std::chrono::seconds from_now) {
    const std::time_t at = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
    std::tm parts{};
    gmtime_r(&at, &parts);
    char text[40];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

const json::value& schema_named(const json::object& document, const std::string& name) {
    return document.at("components").at("schemas").at(name);
}

json::object sample_job() {
    json::object counts;
    for (const char* state : {"queued", "sending", "awaiting_receipt", "accepted", "delivered", "failed", "unknown",
                              "cancelled", "skipped_invalid", "skipped_duplicate", "skipped_suppressed"})
        counts[state] = 0;
    counts["accepted"] = 2;
    return {{"id", "job_0123456789abcdef"}, {"route", "otp"},        {"state", "finished"},
            {"created_at_ms", 1700000000000}, {"finished_at_ms", 1700000001000}, {"deadline_ms", 0},
            {"recipients", 2},                {"counts", counts},                {"send_at_ms", 0},
            {"is_cancelled", false}};
}

} // namespace

TEST_CASE("openapi: the schema validator finds the first mismatch and its JSON path", "[openapi]") {
    const json::object document = load_document();
    const schema_validator v(document);
    const json::value& job = schema_named(document, "Job");
    const auto problem = [&](const json::value& instance, const json::value& schema) {
        const std::optional<mismatch> m = v.validate(instance, schema);
        return m ? m->path : std::string("conforms");
    };

    CHECK(problem(sample_job(), job) == "conforms");
    json::object broken = sample_job();
    broken["counts"].as_object().erase("awaiting_receipt");
    CHECK(problem(broken, job) == "$.counts.awaiting_receipt");  // a missing required field
    broken = sample_job();
    broken["created_at_ms"] = "1700000000000";
    CHECK(problem(broken, job) == "$.created_at_ms");  // a wrong type
    broken["created_at_ms"] = 1.7e12;
    CHECK(problem(broken, job) == "$.created_at_ms");  // a double is not an integer
    broken = sample_job();
    broken["extra"] = true;
    CHECK(problem(broken, job) == "$.extra");  // an unexpected property
    broken = sample_job();
    broken["state"] = "done";
    CHECK(problem(broken, job) == "$.state");  // a wrong enum value
    broken = sample_job();
    broken["counts"].as_object()["failed"] = -1;
    CHECK(problem(broken, job) == "$.counts.failed");  // under the minimum
    broken = sample_job();
    broken["id"] = "job_xyz";
    CHECK(problem(broken, job) == "$.id");  // not the pattern
    broken = sample_job();
    broken["finished_at_ms"] = nullptr;
    CHECK(problem(broken, job) == "$.finished_at_ms");  // null where the schema is not nullable
    CHECK(v.validate(broken, job)->problem.find("null") != std::string::npos);

    // Nested arrays, nullable, and the message that comes with the path.
    const json::value& page = schema_named(document, "RecipientPage");
    json::object recipient{{"index", 0}, {"to", "+85261000000"}, {"state", "accepted"}, {"step", 0}, {"attempts", 1},
                           {"steps", json::array{{{"step", 0}, {"provider", "main"}, {"channel", "sms"},
                                                  {"result", "accepted"}, {"attempts", 1}, {"at_ms", 1}}}}};
    json::object good_page{{"job_id", "job_0123456789abcdef"}, {"recipients", json::array{recipient}}, {"next_offset", nullptr}};
    CHECK(problem(good_page, page) == "conforms");
    json::object bad_page = good_page;
    bad_page["recipients"].as_array()[0].as_object()["steps"].as_array()[0].as_object()["result"] = "bogus";
    CHECK(problem(bad_page, page) == "$.recipients[0].steps[0].result");
    CHECK(v.validate(bad_page, page)->problem == R"("bogus" is not one of ["accepted","delivered","failed","undelivered","no_receipt","unknown","invalid","suppressed"])");
    bad_page = good_page;
    bad_page["next_offset"] = "10";
    CHECK(problem(bad_page, page) == "$.next_offset");
    bad_page.erase("next_offset");
    CHECK(problem(bad_page, page) == "$.next_offset");
    CHECK(v.validate(bad_page, page)->problem == "is required but missing");

    // Requests: oneOf, anyOf, additionalProperties as a schema, maxLength, date-time.
    const json::value& request = schema_named(document, "JobRequest");
    const json::array one{{{"to", "+85261000000"}}};
    CHECK(problem(json::object{{"route", "otp"}, {"recipients", one}}, request) == "conforms");
    CHECK(problem(json::object{{"route", json::array{{{"provider", "main"}, {"channel", "sms"}, {"template", "T"}}}},
                               {"recipients", one}},
                  request) == "conforms");
    CHECK(problem(json::object{{"route", 5}, {"recipients", one}}, request) == "$.route");
    const json::array weighted{{{"channel", "sms"}, {"providers", json::array{{{"provider", "a"}, {"weight", 70}},
                                                                           {{"provider", "b"}, {"weight", 30}}}}}};
    CHECK(problem(json::object{{"route", weighted}, {"recipients", one}}, request) == "conforms");
    CHECK(problem(json::object{{"route", {{"rules", json::array{{{"name", "cn"}, {"countries", json::array{"CN"}},
                                                                 {"steps", weighted}}}}}},
                               {"recipients", one}},
                  request) == "conforms");
    CHECK(problem(json::object{{"route", {{"rules", json::array{{{"name", "cn"}, {"prefixes", json::array{"86"}},
                                                                 {"steps", weighted}}}}}},
                               {"recipients", one}},
                  request) == "$.route");
    CHECK(problem(json::object{{"route", json::array{{{"provider", "main"}}}}, {"recipients", one}}, request) == "$.route");
    CHECK(v.validate(json::object{{"route", json::array{{{"provider", "main"}}}}, {"recipients", one}}, request)->problem ==
          "matches none of oneOf (closest: $.route[0].channel: is required but missing)");
    CHECK(problem(json::object{{"route", "otp"}}, request) == "$");  // neither recipients nor open
    CHECK(problem(json::object{{"route", "otp"}, {"open", true}}, request) == "conforms");
    CHECK(problem(json::object{{"route", "otp"}, {"recipients", json::array{}}}, request) == "$");
    CHECK(problem(json::object{{"route", "otp"}, {"recipients", one}, {"params", {{"code", {{"n", 1}}}}}}, request) ==
          "$.params.code");
    CHECK(problem(json::object{{"route", "otp"}, {"recipients", one}, {"idempotency_key", std::string(201, 'k')}}, request) ==
          "$.idempotency_key");
    CHECK(problem(json::object{{"route", "otp"}, {"recipients", one}, {"send_at", "tomorrow"}}, request) == "$.send_at");
    CHECK(problem(json::object{{"route", "otp"}, {"recipients", one}, {"send_at", "2026-11-23T17:00:00.250+08:00"}}, request) ==
          "conforms");

    // An error narrowed to its status's codes.
    const json::value& not_found = document.at("components").at("responses").at("NotFound").at("content")
                                       .at("application/json").at("schema");
    CHECK(problem(json::object{{"code", "not_found"}, {"message", "no job x"}}, not_found) == "conforms");
    CHECK(problem(json::object{{"code", "conflict"}, {"message", "no job x"}}, not_found) == "$.code");
    CHECK(problem(json::object{{"code", "not_found"}}, not_found) == "$.message");

    // A keyword it does not implement is refused, not skipped.
    CHECK_THROWS_WITH(v.validate(json::value(1), json::object{{"multipleOf", 2}}),
                      Catch::Contains("'multipleOf' is not supported"));
}

TEST_CASE("openapi: the document is one the validator can check whole", "[openapi]") {
    const json::object document = load_document();
    CHECK(document.at("openapi") == "3.0.3");
    const schema_validator v(document);
    std::set<std::string> seen;
    for (const auto& [name, schema] : document.at("components").at("schemas").as_object()) {
        INFO("components/schemas/" << std::string(name));
        CHECK_NOTHROW(v.check_schema(schema, seen));
    }
    // Every schema under an operation, and every reference anywhere, resolves and can be checked.
    std::function<void(const json::value&, const std::string&)> walk = [&](const json::value& node, const std::string& at) {
        if (node.is_array()) {
            for (std::size_t i = 0; i < node.get_array().size(); ++i)
                walk(node.get_array()[i], at + "/" + std::to_string(i));
            return;
        }
        if (!node.is_object())
            return;
        for (const auto& [key, value] : node.get_object()) {
            INFO(at << "/" << std::string(key));
            if (key == "$ref")
                CHECK_NOTHROW(resolve_pointer(document, value.as_string()));
            else if (key == "schema")
                CHECK_NOTHROW(v.check_schema(value, seen));
            walk(value, at + "/" + std::string(key));
        }
    };
    walk(document.at("paths"), "#/paths");
    walk(document.at("components"), "#/components");
    // Every path parameter of a template is declared on its path item.
    for (const auto& [path, item] : document.at("paths").as_object())
        for (const std::string& segment : segments(path))
            if (!segment.empty() && segment.front() == '{') {
                bool declared = false;
                for (const json::value& p : item.as_object().at("parameters").as_array()) {
                    const json::value& param = p.as_object().contains("$ref") ? resolve_pointer(document, p.at("$ref").as_string()) : p;
                    declared = declared || (param.at("in") == "path" && param.at("name") == segment.substr(1, segment.size() - 2).c_str());
                }
                INFO(std::string(path));
                CHECK(declared);
            }
}

TEST_CASE("openapi: the server's answers conform to docs/openapi.json", "[openapi][e2e]") {
    const json::object document = load_document();
    sandbox_spec spec;
    spec.simulator = USPEEDO_SIMULATOR;
    spec.simulator_args = {"--receipt-delay-ms", "0"};
    spec.faults_json = R"({"block_list": ["+85261000003"]})";  // one recipient fails, with the vendor's reason
    spec.plugin = "uspeedo";
    spec.provider_config = {{"api_style", "action"}, {"account_id", 1}, {"access_key_id", "sim-access-key"}};
    spec.secret_field = "access_key_secret";
    spec.secret = "sim-access-secret";
    spec.route_step = {{"channel", "sms"}, {"template", "UTA20212831C85C"}, {"sender", "Switchboard"},
                       {"params", json::array{"code"}}};
    spec.max_request_bytes = 64 * 1024;
    spec.api_key = "key-openapi-0123456789";
    sandbox box(spec);
    conformance api(document, box.api_url(), spec.api_key);
    using enum request_is;
    const auto job_body = [](json::object fields) { return json::serialize(fields); };
    const std::string missing_job = "/v1/jobs/job_0000000000000000";

    // ---- health: no key needed, and other methods are unknown endpoints
    api.call("GET", "/healthz", "", 200, conforming, false);
    api.call("GET", "/readyz", "", 200, conforming, false);
    api.call("POST", "/healthz", "", 405, not_checked, false);
    api.call("DELETE", "/readyz", "", 405, not_checked, false);

    // ---- without a valid key, every operation that asks for one answers 401
    for (const auto& [path_template, op] : api.guarded_operations()) {
        std::string path = std::regex_replace(path_template, std::regex(R"(\{[a-z_]+\})"), "job_0000000000000000");
        std::string method = op == other_methods ? "PATCH" : lower(op);
        std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        api.call(method, path, "", 401, not_checked, false);
    }

    // ---- submit: 202, 201 (open), 200 and 409 (idempotency), 400s, 413, 405
    const json::array recipients{
        {{"to", "+85261000001"}, {"params", {{"code", "100001"}}}, {"ref", "user-1"}},
        {{"to", "+85261000002"}, {"params", {{"code", 100002}}}},
        {{"to", "+85261000003"}, {"params", {{"code", "100003"}}}, {"ref", "blocked"}},
        {{"to", "12"}, {"params", {{"code", "100004"}}}, {"ref", "not-a-number"}},
        {{"to", "+85261000001"}, {"params", {{"code", "100005"}}}, {"ref", "repeat"}}};
    const answer submitted =
        api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"region", "HK"}, {"recipients", recipients}}), 202, conforming);
    const std::string job(submitted.body.at("id").as_string());
    const json::array inline_route{{{"provider", "main"}, {"channel", "sms"}, {"template", "UTA20212831C85C"},
                                    {"sender", "Switchboard"}, {"params", json::array{"code"}}}};
    api.call("POST", "/v1/jobs",
             job_body({{"route", inline_route}, {"params", {{"code", "7"}}}, {"recipients", json::array{{{"to", "+85261000010"}}}}}),
             202, conforming);
    // An inline route with destination rules and a weighted step; its recipients carry their rule.
    json::object weighted = inline_route.front().as_object();
    weighted.erase("provider");
    weighted["providers"] = json::array{{{"provider", "main"}, {"weight", 3}}};
    const json::object rules{{"rules", json::array{{{"name", "hong-kong"}, {"countries", json::array{"HK"}}, {"steps", inline_route}},
                                                   {{"name", "rest"}, {"steps", json::array{weighted}}}}}};
    const answer by_rules = api.call(
        "POST", "/v1/jobs",
        job_body({{"route", rules}, {"params", {{"code", "7"}}}, {"recipients", json::array{{{"to", "+85261000011"}}, {{"to", "+447911123456"}}}}}),
        202, conforming);
    const std::string by_rules_job(by_rules.body.at("id").as_string());
    // Chosen as the job came in: no need to wait for it.
    const answer ruled = api.call("GET", "/v1/jobs/" + by_rules_job + "/recipients", "", 200, conforming);
    CHECK(ruled.body.at("recipients").at(0).at("rule") == "hong-kong");
    CHECK(ruled.body.at("recipients").at(1).at("rule") == "rest");
    const answer bad_rule = api.call(
        "POST", "/v1/jobs",
        job_body({{"route", {{"rules", json::array{{{"name", "x"}, {"countries", json::array{"XX"}}, {"steps", inline_route}}}}}},
                  {"open", true}}),
        400, conforming);
    CHECK(bad_rule.body.at("field") == "route.rules[0].countries[0]");
    const std::string keyed = job_body({{"route", "otp"}, {"idempotency_key", "order-7731"},
                                        {"recipients", json::array{{{"to", "+85261000020"}, {"params", {{"code", "1"}}}}}}});
    api.call("POST", "/v1/jobs", keyed, 202, conforming);
    api.call("POST", "/v1/jobs", keyed, 200, conforming);
    const answer conflict = api.call("POST", "/v1/jobs",
                                     job_body({{"route", "otp"}, {"idempotency_key", "order-7731"},
                                               {"recipients", json::array{{{"to", "+85261000021"}}}}}),
                                     409, conforming);
    CHECK(conflict.body.at("field") == "idempotency_key");

    api.call("POST", "/v1/jobs", R"({"route": )", 400, nonconforming);
    api.call("POST", "/v1/jobs", "[1, 2]", 400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"recipients", json::array{{{"to", "+85261000001"}}}}}), 400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "marketing"}, {"recipients", json::array{{{"to", "+1"}}}}}), 400, conforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"recipients", json::array{}}}), 400, nonconforming);
    const answer no_to = api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"recipients", json::array{{{"ref", "x"}}}}}),
                                  400, nonconforming);
    CHECK(no_to.body.at("field") == "recipients[0].to");
    api.call("POST", "/v1/jobs",
             job_body({{"route", "otp"}, {"recipients", json::array{{{"to", "+85261000001"}, {"params", {{"code", {{"n", 1}}}}}}}}}),
             400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"route", json::array{{{"provider", "nobody"}, {"channel", "sms"}}}}, {"open", true}}),
             400, conforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"region", "Mars"}, {"open", true}}), 400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"open", "yes"}}), 400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"idempotency_key", ""}, {"open", true}}), 400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"deadline", "tomorrow"}, {"open", true}}), 400, nonconforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"deadline", "2001-01-01T00:00:00Z"}, {"open", true}}), 400, conforming);
    // Over max_request_bytes (64 KiB): a good job, only too large.
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"recipients", numbered_recipients(2000)}}), 413, conforming);
    api.call("POST", "/v1/jobs", job_body({{"route", "otp"}, {"recipients", numbered_recipients(2000)}}), 413, conforming, false);  // before the key check
    api.call("PUT", "/v1/jobs", job_body({{"route", "otp"}}), 405);
    api.call("DELETE", "/v1/jobs", "", 405);

    // ---- list and show
    api.call("GET", "/v1/jobs", "", 200, conforming);
    const answer newest_two = api.call("GET", "/v1/jobs?limit=2", "", 200, conforming);
    CHECK(newest_two.body.at("jobs").as_array().size() == 2);
    CHECK(newest_two.body.at("next_offset") == 2);
    const answer after_two = api.call("GET", "/v1/jobs?limit=2&offset=2", "", 200, conforming);
    REQUIRE_FALSE(after_two.body.at("jobs").as_array().empty());
    CHECK(after_two.body.at("jobs").at(0).at("id") != newest_two.body.at("jobs").at(1).at("id"));
    const answer finished_jobs = api.call("GET", "/v1/jobs?state=finished", "", 200, conforming);
    for (const json::value& j : finished_jobs.body.at("jobs").as_array())
        CHECK(j.at("state") == "finished");
    CHECK(api.call("GET", "/v1/jobs?state=open", "", 200, conforming).body.at("jobs").as_array().empty());
    api.call("GET", "/v1/jobs?state=lost", "", 400, nonconforming);
    api.call("GET", "/v1/jobs?limit=abc", "", 400, nonconforming);
    api.call("GET", "/v1/jobs?limit=5000", "", 400, nonconforming);
    api.call("GET", "/v1/jobs/" + job, "", 200, conforming);
    api.call("GET", missing_job, "", 404, conforming);
    api.call("DELETE", "/v1/jobs/" + job, "", 405);

    // ---- a finished job's recipients, with every field the outcomes give
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (api.call("GET", "/v1/jobs/" + job, "", 200, conforming).body.at("state") != "finished") {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const answer all = api.call("GET", "/v1/jobs/" + job + "/recipients", "", 200, conforming);
    std::set<std::string> states;
    for (const json::value& r : all.body.at("recipients").as_array())
        states.insert(std::string(r.at("state").as_string()));
    CHECK(states == std::set<std::string>{"accepted", "failed", "skipped_invalid", "skipped_duplicate"});
    CHECK(all.body.at("next_offset").is_null());
    const answer first = api.call("GET", "/v1/jobs/" + job + "/recipients?limit=2", "", 200, conforming);
    CHECK(first.body.at("next_offset") == 2);
    api.call("GET", "/v1/jobs/" + job + "/recipients?offset=2&limit=2&state=failed", "", 200, conforming);
    api.call("GET", "/v1/jobs/" + job + "/recipients?offset=5", "", 200, conforming);
    api.call("GET", "/v1/jobs/" + job + "/recipients?offset=6", "", 400, conforming);  // past the job's 5
    api.call("GET", "/v1/jobs/" + job + "/recipients?state=lost", "", 400, nonconforming);
    api.call("GET", "/v1/jobs/" + job + "/recipients?limit=5000", "", 400, nonconforming);
    api.call("GET", "/v1/jobs/" + job + "/recipients?offset=-1", "", 400, nonconforming);
    api.call("GET", missing_job + "/recipients", "", 404, conforming);
    api.call("PUT", "/v1/jobs/" + job + "/recipients", "", 405);
    const answer on_main = api.call("GET", "/v1/jobs/" + job + "/recipients?provider=main", "", 200, conforming);
    CHECK(on_main.body.at("recipients").as_array().size() == 3);   // the two skipped never reached a provider
    CHECK(api.call("GET", "/v1/jobs/" + job + "/recipients?provider=nobody", "", 200, conforming)
              .body.at("recipients").as_array().empty());

    // ---- why recipients did not get through: one group per state, code and reason
    const answer failures = api.call("GET", "/v1/jobs/" + job + "/failures", "", 200, conforming);
    std::set<std::string> failed_states;
    for (const json::value& g : failures.body.at("failures").as_array()) {
        failed_states.insert(std::string(g.at("state").as_string()));
        CHECK(g.at("count") == 1);
    }
    CHECK(failed_states == std::set<std::string>{"failed", "skipped_invalid", "skipped_duplicate"});
    CHECK(api.call("GET", "/v1/jobs/" + job + "/failures?limit=1", "", 200, conforming).body.at("failures").as_array().size() == 1);
    api.call("GET", "/v1/jobs/" + job + "/failures?limit=x", "", 400, nonconforming);
    api.call("GET", missing_job + "/failures", "", 404, conforming);
    api.call("POST", "/v1/jobs/" + job + "/failures", "", 405);

    // ---- an open job: pages, start, and what is refused around them
    const answer opened = api.call("POST", "/v1/jobs",
                                   job_body({{"route", "otp"}, {"open", true}, {"recipients", numbered_recipients(3)}}), 201, conforming);
    CHECK(opened.body.at("state") == "open");
    const std::string open_job(opened.body.at("id").as_string());
    const std::string base = "/v1/jobs/" + open_job;
    const json::array page{{{"to", "+85261000100"}, {"params", {{"code", "1"}}}}, {{"to", "+85261000000"}}};
    CHECK(api.call("POST", base + "/recipients", job_body({{"recipients", page}, {"params", {{"code", "2"}}}}), 200, conforming)
              .body.at("recipients") == 5);
    const answer bad_page = api.call("POST", base + "/recipients", job_body({{"recipients", json::array{{{"to", "+85261000101"}}, json::object{}}}}),
                                     400, nonconforming);
    CHECK(bad_page.body.at("field") == "recipients[1].to");
    api.call("POST", base + "/recipients", job_body({{"recipients", json::array{}}}), 400, nonconforming);
    api.call("POST", base + "/recipients", "not json", 400, nonconforming);
    api.call("POST", missing_job + "/recipients", job_body({{"recipients", page}}), 404, conforming);
    api.call("GET", base + "/start", "", 405);
    api.call("POST", base + "/start", "", 202, conforming);
    api.call("POST", base + "/start", "", 409, conforming);
    api.call("POST", base + "/recipients", job_body({{"recipients", page}}), 409, conforming);
    api.call("POST", missing_job + "/start", "", 404, conforming);

    // ---- cancel: a job held until its send_at, then again, then one that does not exist
    const answer held = api.call("POST", "/v1/jobs",
                                 job_body({{"route", "otp"}, {"send_at", rfc3339_in(std::chrono::seconds(600))},
                                           {"recipients", numbered_recipients(4)}}),
                                 202, conforming);
    const std::string held_job(held.body.at("id").as_string());
    const answer cancelled = api.call("POST", "/v1/jobs/" + held_job + "/cancel", "", 200, conforming);
    CHECK(cancelled.body.at("cancelled") == 4);
    api.call("POST", "/v1/jobs/" + held_job + "/cancel", "", 409, conforming);
    api.call("POST", missing_job + "/cancel", "", 404, conforming);
    api.call("GET", "/v1/jobs/" + held_job + "/cancel", "", 405);
    const answer cancelled_recipients = api.call("GET", "/v1/jobs/" + held_job + "/recipients?state=cancelled", "", 200, conforming);
    CHECK(cancelled_recipients.body.at("recipients").as_array().size() == 4);

    // ---- status
    const answer providers = api.call("GET", "/v1/providers", "", 200, conforming);
    CHECK(providers.body.at("providers").at(0).at("name") == "main");
    api.call("POST", "/v1/providers", "", 405);
    const answer routes = api.call("GET", "/v1/routes", "", 200, conforming);
    CHECK(routes.body.at("routes").at(0).at("name") == "otp");
    CHECK(routes.body.at("routes").at(0).at("steps").at(0).at("provider") == "main");
    api.call("DELETE", "/v1/routes", "", 405);
    const answer metrics = api.call("GET", "/metrics", "", 200, conforming);
    CHECK(metrics.raw.find("switchboard_recipients{state=\"accepted\"}") != std::string::npos);
    api.call("POST", "/metrics", "", 405);

    // ---- the suppression list: add (any spelling of a number), list, a job kept from it, remove
    const auto entries = [](json::array list) { return json::serialize(json::object{{"entries", std::move(list)}}); };
    const answer added = api.call("POST", "/v1/suppressions",
                                  entries({{{"address", "+852 6100 0050"}, {"channel", "sms"}, {"reason", "opted out"}},
                                           {{"address", "+85261000051"}}}),
                                  200, conforming);
    CHECK(added.body.at("added") == 2);
    CHECK(api.call("POST", "/v1/suppressions", entries({{{"address", "+85261000050"}, {"channel", "sms"}, {"reason", "STOP"}}}),
                   200, conforming).body.at("updated") == 1);
    CHECK(api.call("POST", "/v1/suppressions", entries({{{"address", "12"}, {"channel", "sms"}}}), 400, conforming)
              .body.at("field") == "entries[0].address");
    CHECK(api.call("POST", "/v1/suppressions", entries({{{"address", "+85261000050"}, {"channel", "fax"}}}), 400, conforming)
              .body.at("field") == "entries[0].channel");
    api.call("POST", "/v1/suppressions", entries({}), 400, nonconforming);
    api.call("POST", "/v1/suppressions", entries({{{"adress", "+85261000050"}}}), 400, nonconforming);
    api.call("POST", "/v1/suppressions", "[]", 400, nonconforming);
    const answer listed = api.call("GET", "/v1/suppressions", "", 200, conforming);
    REQUIRE(listed.body.at("suppressions").as_array().size() == 2);
    CHECK(listed.body.at("suppressions").at(0).at("address") == "+85261000050");
    CHECK(listed.body.at("suppressions").at(0).at("reason") == "STOP");
    CHECK(listed.body.at("suppressions").at(1).at("channel") == "*");
    CHECK(api.call("GET", "/v1/suppressions?limit=1", "", 200, conforming).body.at("next_offset") == 1);
    api.call("GET", "/v1/suppressions?limit=x", "", 400, nonconforming);
    const answer kept = api.call("POST", "/v1/jobs",
                                 job_body({{"route", "otp"},
                                           {"recipients", json::array{{{"to", "+85261000050"}, {"params", {{"code", "1"}}}},
                                                                      {{"to", "+85261000052"}, {"params", {{"code", "2"}}}}}}}),
                                 202, conforming);
    CHECK(kept.body.at("counts").at("skipped_suppressed") == 1);
    const std::string kept_job(kept.body.at("id").as_string());
    const answer suppressed = api.call("GET", "/v1/jobs/" + kept_job + "/recipients?state=skipped_suppressed", "", 200, conforming);
    REQUIRE(suppressed.body.at("recipients").as_array().size() == 1);
    CHECK(suppressed.body.at("recipients").at(0).at("code") == "suppressed");
    CHECK(std::string(suppressed.body.at("recipients").at(0).at("reason").as_string()).find("STOP") != std::string::npos);
    api.call("DELETE", "/v1/suppressions/+85261000050?channel=sms", "", 200, conforming);
    api.call("DELETE", "/v1/suppressions/+85261000050?channel=sms", "", 404, conforming);
    api.call("DELETE", "/v1/suppressions/+852%206100%200051", "", 200, conforming);   // another spelling
    api.call("DELETE", "/v1/suppressions/+85261000051?channel=fax", "", 400, conforming);
    CHECK(api.call("GET", "/v1/suppressions", "", 200, conforming).body.at("suppressions").as_array().empty());
    api.call("PUT", "/v1/suppressions", "", 405);
    api.call("GET", "/v1/suppressions/+85261000051", "", 405);

    // ---- receipts: no key; uSpeedo's receipts are pulled, so a pushed one is refused
    const answer pushed =
        api.call("POST", "/v1/receipts/main", "status=delivered", 400, conforming, false, "application/x-www-form-urlencoded");
    CHECK(pushed.body.at("message") == "the callback could not be read as receipts");   // the plugin's reason is logged
    api.call("GET", "/v1/receipts/main", "", 400, conforming, false);
    api.call("POST", "/v1/receipts/main?token=abc", "{}", 400, conforming, false);
    api.call("POST", "/v1/receipts/nobody", "{}", 404, conforming, false);
    api.call("PUT", "/v1/receipts/main", "", 405, not_checked, false);
    api.call("DELETE", "/v1/receipts/nobody", "", 404, not_checked, false);

    // Nothing in the document went untested, and every status the server gives without special
    // setup was seen.
    const std::vector<std::string> missed = api.unexercised();
    INFO("documented but never exercised: " << json::serialize(json::value_from(missed)));
    CHECK(missed.empty());
    for (int status : {200, 201, 202, 400, 401, 404, 405, 409, 413}) {
        INFO("status " << status);
        CHECK(api.statuses_seen().count(status) == 1);
    }
}
