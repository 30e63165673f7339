#include "api_answers.hpp"

#include "job_request.hpp"

#include <switchboard/core/excerpt.hpp>

#include <boost/json.hpp>

#include <charconv>

namespace switchboard::host {

namespace json = boost::json;

http_server_response json_answer(int status, const json::value& body) {
    return {status, "application/json", json::serialize(body)};
}

http_server_response error_answer(int status, const std::string& code, const std::string& message, const std::string& field) {
    json::object body{{"code", code}, {"message", message}};
    if (!field.empty())
        body["field"] = field;
    return json_answer(status, body);
}

std::size_t query_number(const boost::urls::params_view& params, const char* name, std::size_t fallback, std::size_t max) {
    auto it = params.find(name);
    if (it == params.end())
        return fallback;
    const std::string text = (*it).value;
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > max)
        throw bad_request{name, "must be a whole number up to " + std::to_string(max) + ", got '" + core::excerpt(text) + "'"};
    return value;
}

} // namespace switchboard::host
