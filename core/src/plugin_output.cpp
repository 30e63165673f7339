#include "plugin_output.hpp"

#include <switchboard/core/excerpt.hpp>

#include <boost/json/stream_parser.hpp>
#include <boost/system/system_error.hpp>

namespace switchboard::core {

namespace json = boost::json;

boost::json::array plugin_output_array(std::string_view text, std::string_view member) {
    json::stream_parser parser;
    boost::system::error_code ec;
    const std::size_t read = parser.write(text.data(), text.size(), ec);
    if (!ec)
        parser.finish(ec);
    if (ec)
        throw plugin_output_error("not JSON: " + ec.message() + " at byte " + std::to_string(read) + " of " +
                                  std::to_string(text.size()) + ", starting '" + excerpt(text, 40) + "'");
    json::value doc = parser.release();
    json::object* object = doc.if_object();
    if (object == nullptr)
        throw plugin_output_error(std::string("expected a JSON object, found ") + json::to_string(doc.kind()).data());
    json::value* found = object->if_contains(member);
    if (found == nullptr || !found->is_array())
        throw plugin_output_error("expected an array \"" + std::string(member) + "\" in its document");
    return std::move(found->get_array());
}

std::string plain_reason(const std::exception& e) {
    // Boost.JSON's parser throws system_error, whose what() ends in a source location in Boost.
    if (const auto* error = dynamic_cast<const boost::system::system_error*>(&e))
        return error->code().message();
    return e.what();
}

} // namespace switchboard::core
