#include "json_body.hpp"

#include <switchboard/core/excerpt.hpp>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace switchboard::host {

namespace json = boost::json;

namespace {

// The keys one object has shown so far: a list while short (most objects have a few), a hash set
// once long (so an object of a hundred thousand keys costs no more than it must).
class key_set {
public:
    // False when `key` was there already.
    bool insert(const std::string& key) {
        if (!large_.empty())
            return large_.insert(key).second;
        if (std::find(small_.begin(), small_.end(), key) != small_.end())
            return false;
        small_.push_back(key);
        if (small_.size() > 16) {
            large_.insert(small_.begin(), small_.end());
            small_.clear();
        }
        return true;
    }

private:
    std::vector<std::string> small_;
    std::unordered_set<std::string> large_;
};

// A SAX pass that notes the first key an object has twice, and where. It builds nothing; the path
// is written only for that key.
struct repeated_key_finder {
    constexpr static std::size_t max_object_size = std::size_t(-1);
    constexpr static std::size_t max_array_size = std::size_t(-1);
    constexpr static std::size_t max_key_size = std::size_t(-1);
    constexpr static std::size_t max_string_size = std::size_t(-1);

    struct level {
        bool is_object = false;
        key_set keys;
        std::string last_key;     // in an object: the key of the value being read
        std::size_t items = 0;    // in an array: how many values started so far
    };
    std::vector<level> levels;
    std::string key;
    std::optional<std::string> repeated;   // the path of the first repeated key

    std::string path_to(std::size_t depth) const {
        std::string out;
        for (std::size_t i = 0; i + 1 < depth; ++i) {
            const level& l = levels[i];
            if (l.is_object)
                out += (out.empty() ? "" : ".") + core::excerpt(l.last_key);
            else
                out += "[" + std::to_string(l.items - 1) + "]";
        }
        return out;
    }
    void value_starts() {
        if (!levels.empty() && !levels.back().is_object)
            ++levels.back().items;
    }
    bool open(bool is_object) {
        value_starts();
        levels.emplace_back();
        levels.back().is_object = is_object;
        return true;
    }
    bool close() {
        levels.pop_back();
        return true;
    }
    bool scalar() {
        value_starts();
        return true;
    }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return open(true); }
    bool on_object_end(std::size_t, boost::system::error_code&) { return close(); }
    bool on_array_begin(boost::system::error_code&) { return open(false); }
    bool on_array_end(std::size_t, boost::system::error_code&) { return close(); }
    bool on_key_part(json::string_view part, std::size_t, boost::system::error_code&) {
        key.append(part.data(), part.size());
        return true;
    }
    bool on_key(json::string_view part, std::size_t, boost::system::error_code&) {
        key.append(part.data(), part.size());
        level& l = levels.back();
        if (!l.keys.insert(key) && !repeated) {
            const std::string parent = path_to(levels.size());
            repeated = (parent.empty() ? "" : parent + ".") + core::excerpt(key);
        }
        l.last_key = std::move(key);
        key.clear();
        return true;
    }
    bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return scalar(); }
    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return scalar(); }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return scalar(); }
    bool on_double(double, json::string_view, boost::system::error_code&) { return scalar(); }
    bool on_bool(bool, boost::system::error_code&) { return scalar(); }
    bool on_null(boost::system::error_code&) { return scalar(); }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

std::optional<std::string> first_repeated_key(std::string_view text) {
    json::basic_parser<repeated_key_finder> parser{json::parse_options{}};
    boost::system::error_code ec;
    parser.write_some(false, text.data(), text.size(), ec);
    return parser.handler().repeated;
}

void write_canonical(std::string& out, const json::value& value) {
    if (const json::object* o = value.if_object()) {
        std::vector<const json::key_value_pair*> items;
        for (const json::key_value_pair& item : *o)
            items.push_back(&item);
        std::sort(items.begin(), items.end(), [](const auto* a, const auto* b) { return a->key() < b->key(); });
        out += '{';
        for (std::size_t i = 0; i < items.size(); ++i) {
            out += i == 0 ? "" : ",";
            out += json::serialize(items[i]->key());
            out += ':';
            write_canonical(out, items[i]->value());
        }
        out += '}';
    } else if (const json::array* a = value.if_array()) {
        out += '[';
        for (std::size_t i = 0; i < a->size(); ++i) {
            out += i == 0 ? "" : ",";
            write_canonical(out, (*a)[i]);
        }
        out += ']';
    } else {
        out += json::serialize(value);
    }
}

} // namespace

json_body read_json_body(std::string_view text) {
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec)
        return {{}, "the body is not valid JSON (" + ec.message() + ")", {}};
    if (!parsed.is_object())
        return {{}, "the body must be a JSON object", {}};
    if (std::optional<std::string> repeated = first_repeated_key(text))
        return {{}, "is given twice: each field must appear once", std::move(*repeated)};
    return {std::move(parsed.get_object()), {}, {}};
}

std::string canonical_json(const json::value& value) {
    std::string out;
    write_canonical(out, value);
    return out;
}

} // namespace switchboard::host
