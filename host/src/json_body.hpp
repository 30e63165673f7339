// An API request's JSON body, read strictly: valid JSON, an object at the top, and no object with
// the same key twice (a parser would keep one of them silently, and the client meant one of them).
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::host {

struct json_body {
    boost::json::object document;
    std::string problem;   // empty when the body is a JSON object with no repeated key
    std::string field;     // where the problem is, when it is a repeated key ("recipients[2].params.code")
};

json_body read_json_body(std::string_view text);

// `value` written with the keys of every object in byte order: two documents that differ only in
// the order of their keys have the same canonical text.
std::string canonical_json(const boost::json::value& value);

} // namespace switchboard::host
