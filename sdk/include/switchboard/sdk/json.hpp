// Reading JSON documents with errors that name the field: "config.url: must be a string".
// Boost.JSON stays inside the plugin; only text crosses the ABI.
#pragma once

#include <switchboard/sdk/error.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::sdk {

namespace json = boost::json;

// Parses `text` as a JSON object; `what` names the document in the error ("batch", "config"). Its
// values live in one arena owned by the object (and by whatever is moved out of it): a thousand
// recipients' parameters cost one allocation or two, not several each.
inline json::object parse_object(std::string_view text, const std::string& what) {
    boost::system::error_code ec;
    // The values take up to about twice the bytes of their text: one block of that size, to begin
    // with (a second, larger block costs more than the parse of a thousand recipients gains).
    json::value value = json::parse(text, ec, json::make_shared_resource<json::monotonic_resource>(2 * text.size() + 1024));
    if (ec)
        throw field_error(what, "not valid JSON (" + ec.message() + ")");
    if (!value.is_object())
        throw field_error(what, std::string("must be a JSON object, not ") + json::to_string(value.kind()).data());
    return std::move(value.as_object());
}

inline std::string child_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

inline std::string index_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

// A view of one JSON object that knows where it sits in its document, so every error it raises
// names the full path of the offending field.
class object_reader {
public:
    object_reader(const json::object& object, std::string path) : object_(object), path_(std::move(path)) {}

    const json::object& object() const noexcept { return object_; }
    const std::string& path() const noexcept { return path_; }
    bool has(std::string_view key) const { return object_.if_contains(key) != nullptr; }

    std::string required_string(std::string_view key) const {
        return as_string(key, require(key));
    }
    std::optional<std::string> optional_string(std::string_view key) const {
        const json::value* v = object_.if_contains(key);
        if (v == nullptr || v->is_null())
            return std::nullopt;
        return as_string(key, *v);
    }
    std::string string_or(std::string_view key, std::string fallback) const {
        return optional_string(key).value_or(std::move(fallback));
    }

    // A required string that must not be empty. Never echoes the value: it may be a credential.
    std::string required_nonempty_string(std::string_view key) const {
        std::string value = required_string(key);
        if (value.empty())
            throw field_error(child_path(path_, key), "must not be empty");
        return value;
    }

    std::int64_t required_int(std::string_view key) const { return as_int(key, require(key)); }
    std::optional<std::int64_t> optional_int(std::string_view key) const {
        const json::value* v = object_.if_contains(key);
        if (v == nullptr || v->is_null())
            return std::nullopt;
        return as_int(key, *v);
    }
    std::int64_t int_or(std::string_view key, std::int64_t fallback) const {
        return optional_int(key).value_or(fallback);
    }

    bool bool_or(std::string_view key, bool fallback) const {
        const json::value* v = object_.if_contains(key);
        if (v == nullptr || v->is_null())
            return fallback;
        if (!v->is_bool())
            throw field_error(child_path(path_, key), "must be true or false");
        return v->get_bool();
    }

    object_reader required_object(std::string_view key) const {
        const json::value& v = require(key);
        if (!v.is_object())
            throw field_error(child_path(path_, key), std::string("must be an object, not ") + kind(v));
        return object_reader(v.get_object(), child_path(path_, key));
    }

    const json::array& required_array(std::string_view key) const {
        const json::value& v = require(key);
        if (!v.is_array())
            throw field_error(child_path(path_, key), std::string("must be an array, not ") + kind(v));
        return v.get_array();
    }

    static const char* kind(const json::value& v) { return json::to_string(v.kind()).data(); }

private:
    const json::value& require(std::string_view key) const {
        const json::value* v = object_.if_contains(key);
        if (v == nullptr)
            throw field_error(child_path(path_, key), "is required");
        return *v;
    }
    std::string as_string(std::string_view key, const json::value& v) const {
        if (!v.is_string())
            throw field_error(child_path(path_, key), std::string("must be a string, not ") + kind(v));
        return std::string(v.get_string());
    }
    std::int64_t as_int(std::string_view key, const json::value& v) const {
        if (v.is_int64())
            return v.get_int64();
        if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
            return static_cast<std::int64_t>(v.get_uint64());
        throw field_error(child_path(path_, key), std::string("must be an integer, not ") + kind(v));
    }

    const json::object& object_;
    std::string path_;
};

} // namespace switchboard::sdk
