#include "plugins_command.hpp"

#include <switchboard/core/config_schema.hpp>
#include <switchboard/core/plugin.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <stdexcept>

namespace switchboard::host {
namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& items, const char* separator = ",") {
    std::string out;
    for (const std::string& item : items)
        out += (out.empty() ? "" : separator) + item;
    return out.empty() ? "-" : out;
}

std::string per_second(double value) { return value > 0 ? fmt::format("{:g}", value) : "-"; }

void print_manifest(const core::plugin& p, std::ostream& out) {
    const core::plugin_manifest& m = p.manifest();
    const auto row = [&out](const char* label, const std::string& value) {
        out << fmt::format("{:<18}{}\n", label, value);
    };
    row("file:", p.file().string());
    row("name:", m.name);
    row("version:", m.version);
    row("abi:", m.abi);
    row("description:", m.description.empty() ? "-" : m.description);
    row("channels:", join(m.channels, ", "));
    row("max per call:", std::to_string(m.max_recipients_per_call));
    row("grouping:", join(m.grouping, ", "));
    row("requests/s:", per_second(m.requests_per_second));
    row("recipients/s:", per_second(m.recipients_per_second));
    row("receipts:", m.receipts);
    row("thread safe:", m.thread_safe ? "yes" : "no");
    row("transient errors:", join(m.transient_errors, ", "));
    row("config schema:", m.config_schema_json);
    row("step schema:", m.step_schema_json.empty() ? "- (steps are checked by the plugin alone)" : m.step_schema_json);
}

// The configuration a plugin's create() is given: one JSON object, as a provider's "config" holds.
std::string read_plugin_config(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw std::runtime_error(file.string() + ": cannot be read");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(text, ec);
    if (ec || !doc.is_object())
        throw std::runtime_error(file.string() + ": expected one JSON object (what a provider's \"config\" holds)" +
                                 (ec ? ", but it is not JSON: " + ec.message() : ""));
    return text;
}

} // namespace

int list_plugins(const std::vector<fs::path>& dirs, bool as_json, std::ostream& out, std::ostream& err) {
    const std::vector<core::plugin_scan_entry> found = core::scan_plugin_dirs(dirs);
    int exit_code = 0;
    std::vector<const core::plugin*> loaded;
    for (const core::plugin_scan_entry& entry : found) {
        if (entry.loaded)
            loaded.push_back(entry.loaded.get());
        else {
            err << "error: " << entry.error << '\n';
            exit_code = 1;
        }
    }
    if (as_json) {
        out << '[';
        for (std::size_t i = 0; i < loaded.size(); ++i)
            out << (i ? "," : "") << loaded[i]->manifest().json;
        out << "]\n";
        return exit_code;
    }
    constexpr std::string_view format = "{:<12} {:<9} {:<4} {:<32} {:>8} {:>6} {:>8}  {}\n";
    out << fmt::format(fmt::runtime(format), "NAME", "VERSION", "ABI", "CHANNELS", "MAX/CALL", "REQ/S", "RECEIPTS", "FILE");
    for (const core::plugin* p : loaded) {
        const core::plugin_manifest& m = p->manifest();
        out << fmt::format(fmt::runtime(format), m.name, m.version, m.abi, join(m.channels), m.max_recipients_per_call,
                           per_second(m.requests_per_second), m.receipts, p->file().string());
    }
    if (loaded.empty() && exit_code == 0) {
        std::vector<std::string> names;
        for (const fs::path& dir : dirs)
            names.push_back(dir.string());
        err << "no plugins in " << join(names, ", ") << '\n';
    }
    return exit_code;
}

int inspect_plugin(const fs::path& file, bool as_json, const fs::path& config, std::ostream& out, std::ostream& err) {
    try {
        const std::shared_ptr<core::plugin> p = core::load_named_plugin(file);
        if (!config.empty()) {
            const std::string settings = read_plugin_config(config);
            const std::vector<std::string> breaches =
                core::config_schema_problems(p->manifest().config_schema_json, settings, "config");
            for (const std::string& breach : breaches)
                err << "error: " << config.string() << ": " << breach << '\n';
            if (!breaches.empty())
                return 1;
            p->create_instance("inspect", settings);   // destroyed at once
        }
        if (as_json)
            out << p->manifest().json << '\n';
        else
            print_manifest(*p, out);
        if (!config.empty() && !as_json)
            out << fmt::format("{:<18}{}\n", "create:", "ok with " + config.string());
        return 0;
    } catch (const std::runtime_error& e) {   // plugin_error, or the configuration file's
        err << "error: " << e.what() << '\n';
        return 1;
    }
}

fs::path default_plugin_dir() {
    std::error_code ec;
    const fs::path binary = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        return fs::path("lib/switchboard/plugins");
    return (binary.parent_path().parent_path() / "lib" / "switchboard" / "plugins").lexically_normal();
}

} // namespace switchboard::host
