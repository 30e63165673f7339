// application/x-www-form-urlencoded bodies: what vendors with form APIs take (Twilio, Alibaba's
// RPC style) and what their status callbacks post. Boost.URL does the escaping.
#pragma once

#include <switchboard/sdk/error.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/params_encoded_view.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::sdk {

struct form_field {
    std::string name;
    std::string value;
};
using form = std::vector<form_field>;

// "To=%2B85255311111&Body=Your+code" : each name and value escaped as HTML forms do (letters,
// digits and *-._ stay, a space is '+', every other byte %XX), joined by '&' in the given order.
inline std::string form_encode(const form& fields) {
    static constexpr boost::urls::grammar::lut_chars kept("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-._");
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    std::string out;
    for (const form_field& f : fields) {
        if (!out.empty())
            out += '&';
        out += boost::urls::encode(f.name, kept, opts);
        out += '=';
        out += boost::urls::encode(f.value, kept, opts);
    }
    return out;
}

// The fields of a form body, unescaped ('+' is a space), in order; a field without '=' has an
// empty value. Throws field_error naming `what` when an escape is malformed ("%ZZ").
inline form form_decode(std::string_view body, const std::string& what = "body") {
    const auto parsed = boost::urls::parse_query(body);
    if (!parsed)
        throw field_error(what, "is not a form body (" + parsed.error().message() + ")");
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    form out;
    for (const boost::urls::param_pct_view p : *parsed)
        out.push_back({p.key.decode(opts), p.has_value ? p.value.decode(opts) : std::string()});
    return out;
}

// The value of the first field named `name`, or nullptr.
inline const std::string* form_value(const form& fields, std::string_view name) {
    for (const form_field& f : fields)
        if (f.name == name)
            return &f.value;
    return nullptr;
}

} // namespace switchboard::sdk
