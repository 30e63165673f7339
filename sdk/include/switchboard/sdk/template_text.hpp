// Filling a message template with a recipient's parameters, as vendors without server-side
// templates need: numbered placeholders ("Your code is {1}") or named ones ("Hi {name}").
#pragma once

#include <switchboard/sdk/error.hpp>
#include <switchboard/sdk/json.hpp>
#include <switchboard/sdk/text.hpp>

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::sdk {

namespace detail {

// Calls `fill(name)` for each "{name}" of `text` and appends what it returns; "{{" and "}}" are
// literal braces; an unclosed '{' is an error naming `path`.
template <class Fill>
std::string render_placeholders(std::string_view text, const std::string& path, Fill fill) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
            out += c;
            ++i;
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        const std::size_t close = text.find('}', i + 1);
        if (close == std::string_view::npos || close == i + 1)
            throw field_error(path, "has a '{' at character " + std::to_string(i + 1) +
                                        " that opens no placeholder (write {{ for a brace)");
        out += fill(text.substr(i + 1, close - i - 1));
        i = close;
    }
    return out;
}

} // namespace detail

// "Your code is {1}" with {"123456"} -> "Your code is 123456". Throws field_error naming `path`
// for a placeholder that is not a number from 1 to values.size().
inline std::string render_numbered(std::string_view text, const std::vector<std::string>& values,
                                   const std::string& path = "step.template_text") {
    return detail::render_placeholders(text, path, [&](std::string_view name) -> const std::string& {
        std::size_t n = 0;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
        if (ec != std::errc() || end != name.data() + name.size() || n < 1 || n > values.size())
            throw field_error(path, "uses {" + std::string(name) + "}, but there are " + std::to_string(values.size()) +
                                        " values ({1} to {" + std::to_string(values.size()) + "})");
        return values[n - 1];
    });
}

// "Hi {name}" with params {"name": "Ada"} -> "Hi Ada"; a number is written as its JSON text.
// Throws field_error "params.<name>" when a placeholder's parameter is missing or not a string
// or number: the recipient's problem, to be its verdict.
inline std::string render_named(std::string_view text, const json::object& params, const std::string& path = "step.template_text") {
    return detail::render_placeholders(text, path, [&](std::string_view name) {
        const json::value* v = params.if_contains(name);
        if (v == nullptr || v->is_null())
            throw field_error("params." + std::string(name), "is required by the template");
        if (v->is_string())
            return std::string(v->get_string());
        if (v->is_number())
            return json::serialize(*v);
        throw field_error("params." + std::string(name),
                          std::string("must be a string or a number, not ") + object_reader::kind(*v));
    });
}

} // namespace switchboard::sdk
