// Reading a plugin's configuration so that an operator learns every problem at once, not one per
// restart: each read records a problem instead of throwing, and finish() throws one field_error
// that names them all.
#pragma once

#include <switchboard/sdk/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::sdk {

class settings_reader {
public:
    explicit settings_reader(const json::object& config, std::string path = "config")
        : reader_(config, std::move(path)) {}

    // Each read gives the value, or (when it is wrong) records why and gives `fallback`.
    std::string required_string(std::string_view key) { return read(key, std::string(), [&] { return reader_.required_string(key); }); }
    // Never echoes the value: it may be a credential.
    std::string required_secret(std::string_view key) {
        return read(key, std::string(), [&] { return reader_.required_nonempty_string(key); });
    }
    std::string string_or(std::string_view key, std::string fallback) {
        return read(key, fallback, [&] { return reader_.string_or(key, fallback); });
    }
    std::optional<std::string> optional_string(std::string_view key) {
        return read(key, std::optional<std::string>(), [&] { return reader_.optional_string(key); });
    }
    bool bool_or(std::string_view key, bool fallback) { return read(key, fallback, [&] { return reader_.bool_or(key, fallback); }); }
    // An integer from `min` to `max`.
    std::int64_t int_or(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
        const std::int64_t value = read(key, fallback, [&] { return reader_.int_or(key, fallback); });
        if (value < min || value > max) {
            problem(child_path(reader_.path(), key),
                    "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + std::to_string(value));
            return fallback;
        }
        return value;
    }

    // Records every key of the configuration that is not in `known`.
    void refuse_unknown(std::initializer_list<std::string_view> known) {
        for (const auto& item : reader_.object())
            if (std::find(known.begin(), known.end(), item.key()) == known.end())
                problem(child_path(reader_.path(), item.key()), "is not a setting of this provider");
    }

    // A problem the plugin found itself (two settings that contradict each other, say).
    void problem(const std::string& path, const std::string& reason) { problems_.push_back(field_error(path, reason)); }

    const object_reader& reader() const noexcept { return reader_; }

    // Throws one field_error for every recorded problem: the first one's path, and a message
    // listing them all ("config.url: is required; config.token: must be a string, not int64").
    void finish() const {
        if (problems_.empty())
            return;
        std::string rest;
        for (std::size_t i = 1; i < problems_.size(); ++i)
            rest += std::string("; ") + problems_[i].what();
        throw field_error(problems_.front().path(), problems_.front().reason() + rest);
    }

private:
    template <class T, class Read>
    T read(std::string_view, T fallback, Read read_value) {
        try {
            return read_value();
        } catch (const field_error& e) {
            problems_.push_back(e);
            return fallback;
        }
    }

    object_reader reader_;
    std::vector<field_error> problems_;
};

} // namespace switchboard::sdk
