#include <switchboard/core/http_message.hpp>

#include <boost/algorithm/string/predicate.hpp>

namespace switchboard::core {

const std::string* find_header(const std::vector<http_header>& headers, std::string_view name) {
    for (const http_header& h : headers)
        if (boost::algorithm::iequals(h.name, name))
            return &h.value;
    return nullptr;
}

} // namespace switchboard::core
