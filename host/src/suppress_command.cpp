#include "suppress_command.hpp"

#include "daemon_client.hpp"
#include "recipients_file.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <ostream>

namespace switchboard::host {

namespace {

constexpr std::size_t entries_a_request = 5000;

json::object entry(const std::string& address, const std::string& channel, const std::string& reason) {
    json::object e{{"address", address}, {"channel", channel}};
    if (!reason.empty())
        e["reason"] = reason;
    return e;
}

// POSTs `entries`; returns {added, updated}.
std::pair<std::int64_t, std::int64_t> post(const suppress_options& options, json::array entries) {
    const json::value answer = call_daemon("POST", options.server + "/v1/suppressions", options.api_key,
                                           json::serialize(json::object{{"entries", std::move(entries)}}));
    return {answer.at("added").as_int64(), answer.at("updated").as_int64()};
}

} // namespace

int add_suppression(const suppress_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        const auto [added, updated] = post(options, json::array{entry(options.address, options.channel, options.reason)});
        out << (added > 0 ? "added" : "updated") << ": " << options.address << " on "
            << (options.channel == "*" ? std::string("every channel") : options.channel) << '\n';
    });
}

int remove_suppression(const suppress_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        const std::string address = boost::urls::encode(options.address, boost::urls::unreserved_chars);
        const std::string channel = boost::urls::encode(options.channel, boost::urls::unreserved_chars);
        const json::value answer = call_daemon("DELETE", options.server + "/v1/suppressions/" + address + "?channel=" + channel,
                                               options.api_key);
        out << "removed: " << std::string(answer.at("removed").at("address").as_string()) << " on "
            << (options.channel == "*" ? std::string("every channel") : options.channel) << '\n';
    });
}

int list_suppressions(const suppress_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        out << fmt::format("{:<24} {:<12} {:<20}  {}\n", "ADDRESS", "CHANNEL", "SINCE", "REASON");
        for (std::int64_t offset = 0;;) {
            const json::value answer = call_daemon(
                "GET", options.server + "/v1/suppressions?limit=1000&offset=" + std::to_string(offset), options.api_key);
            for (const json::value& e : answer.at("suppressions").as_array())
                out << fmt::format("{:<24} {:<12} {:<20}  {}\n", std::string(e.at("address").as_string()),
                                   std::string(e.at("channel").as_string()), utc_time(e.at("created_at_ms").as_int64()),
                                   std::string(e.at("reason").as_string()));
            if (answer.at("next_offset").is_null())
                return;
            offset = answer.at("next_offset").as_int64();
        }
    });
}

// The file is read as `switchboard send` reads recipients: its `to` column holds the addresses; a
// `channel` or `reason` column, when there is one, gives each entry's own.
int import_suppressions(const suppress_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        const recipient_items items = read_recipients_file(options.file, recipients_format::csv);
        std::int64_t added = 0;
        std::int64_t updated = 0;
        json::array page;
        std::size_t page_start = 0;   // the index in `items` of the page's first entry
        const auto send_page = [&] {
            try {
                const auto [a, u] = post(options, page);
                added += a;
                updated += u;
            } catch (const daemon_error& e) {
                // "entries[3].address" names the fourth entry of this page: say which row of the file.
                std::size_t k = 0;
                if (std::sscanf(e.field.c_str(), "entries[%zu]", &k) != 1 || k >= page.size())
                    throw;
                throw std::runtime_error(options.file.filename().string() + ": row " + std::to_string(page_start + k + 1) +
                                         " after the header (" + std::string(page[k].at("address").as_string()) +
                                         "): " + e.message + "; rows " + std::to_string(page_start + 1) +
                                         " on were not imported (" + std::to_string(added + updated) + " before them were)");
            }
            page_start += page.size();
            page = json::array();
            err << "imported " << added + updated << " of " << items.size() << '\n';
        };
        for (const std::string& item : items) {
            const json::object r = json::parse(item).as_object();
            const json::object* params = r.contains("params") ? &r.at("params").as_object() : nullptr;
            const auto column = [&](const char* name, const std::string& otherwise) {
                return params != nullptr && params->contains(name) ? std::string(params->at(name).as_string()) : otherwise;
            };
            page.push_back(entry(std::string(r.at("to").as_string()), column("channel", options.channel),
                                 column("reason", options.reason)));
            if (page.size() == entries_a_request)
                send_page();
        }
        if (!page.empty())
            send_page();
        out << "imported " << options.file.filename().string() << ": " << added << " added, " << updated << " updated\n";
    });
}

} // namespace switchboard::host
