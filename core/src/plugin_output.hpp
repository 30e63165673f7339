// Reading the JSON documents a plugin writes (ABI 1.0: outcomes, verdicts, receipts, message
// ids). A malformed one is the plugin's fault, and its reason must say what is wrong in words the
// plugin's author can act on, never Boost's internal source location.
#pragma once

#include <boost/json/array.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace switchboard::core {

class plugin_output_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The array `member` of the JSON object `text`. Throws plugin_output_error: not JSON (where it
// stops being JSON), not an object, or no such array.
boost::json::array plugin_output_array(std::string_view text, std::string_view member);

// What an exception thrown while reading a plugin's document says, without Boost's source location.
std::string plain_reason(const std::exception& e);

} // namespace switchboard::core
