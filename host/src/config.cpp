#include "config.hpp"

#include "postgres_settings.hpp"

#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/phone_numbers.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <fstream>
#include <sstream>

namespace switchboard::host {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string join_lines(const std::vector<std::string>& problems) {
    std::string out;
    for (const std::string& p : problems)
        out += (out.empty() ? "" : "\n") + p;
    return out;
}

// Collects problems with their paths, so that one run reports all of them.
class checker {
public:
    void problem(const std::string& path, const std::string& what) { problems_.push_back(path + ": " + what); }
    void problem(const std::string& path_and_what) { problems_.push_back(path_and_what); }
    const std::vector<std::string>& problems() const { return problems_; }

    // A value that came from ${env:...} or ${file:...}: never to appear in a message.
    void secret(const std::string& value, const std::string& reference) {
        if (value.size() >= 4)  // shorter ones would blot out ordinary words; they are no secrets anyway
            secrets_.emplace_back(value, reference);
    }
    const std::vector<std::pair<std::string, std::string>>& secrets() const { return secrets_; }

    const json::object* object(const json::value* v, const std::string& path) {
        if (v == nullptr)
            return nullptr;
        if (!v->is_object()) {
            problem(path, std::string("expected an object, found ") + json::to_string(v->kind()).data());
            return nullptr;
        }
        return &v->get_object();
    }

    std::string string(const json::object& parent, std::string_view key, const std::string& path, bool required) {
        const json::value* v = parent.if_contains(key);
        if (v == nullptr) {
            if (required)
                problem(path + "." + std::string(key), "is required");
            return {};
        }
        if (!v->is_string() || v->get_string().empty()) {
            problem(path + "." + std::string(key), "expected a non-empty string");
            return {};
        }
        return std::string(v->get_string());
    }

    std::int64_t integer(const json::object& parent, std::string_view key, const std::string& path, std::int64_t fallback,
                         std::int64_t min, std::int64_t max) {
        const json::value* v = parent.if_contains(key);
        if (v == nullptr)
            return fallback;
        if (!v->is_int64() || v->get_int64() < min || v->get_int64() > max) {
            problem(path + "." + std::string(key),
                    "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
            return fallback;
        }
        return v->get_int64();
    }

    void unknown_keys(const json::object& o, const std::string& path, std::initializer_list<std::string_view> known) {
        for (const auto& [key, value] : o)
            if (std::find(known.begin(), known.end(), key) == known.end())
                problem(path + "." + std::string(key), "is not a known setting");
    }

private:
    std::vector<std::string> problems_;
    std::vector<std::pair<std::string, std::string>> secrets_;   // value, the reference it came from
};

// Whether `listen` is "IP:PORT" as the server takes it: an IPv4 or IPv6 address, a port 0 to 65535.
std::string listen_problem(const std::string& listen) {
    const std::size_t colon = listen.rfind(':');
    const std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
    unsigned char address[sizeof(in6_addr)];
    const bool ip = ::inet_pton(AF_INET, host.c_str(), address) == 1 || ::inet_pton(AF_INET6, host.c_str(), address) == 1;
    const bool port_ok = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
                         std::stoi(port) <= 65535;
    if (ip && port_ok)
        return {};
    return "'" + listen + "' is not IP:PORT (for example 127.0.0.1:8080, or 0.0.0.0:8080 for every interface)";
}

// An IP address as inet_ntop writes it (so "::0001" and "::1" are one), or empty when it is none.
std::string canonical_ip(const std::string& text) {
    unsigned char address[sizeof(in6_addr)];
    char written[INET6_ADDRSTRLEN];
    for (const int family : {AF_INET, AF_INET6})
        if (::inet_pton(family, text.c_str(), address) == 1 && ::inet_ntop(family, address, written, sizeof written))
            return written;
    return {};
}

// The public URL vendors post receipts to, without a trailing '/', or why it is none.
std::string public_url_problem(std::string& url) {
    const auto parsed = boost::urls::parse_absolute_uri(url);
    const bool fits = parsed && (parsed->scheme() == "http" || parsed->scheme() == "https") && !parsed->host().empty() &&
                      !parsed->has_userinfo() && !parsed->has_query();
    if (!fits)
        return "'" + core::excerpt(url) + "' is not an http:// or https:// URL with a host, without a query or fragment";
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    return {};
}

// Why the daemon could not keep its store at `file`, as far as can be told without opening it (a
// running daemon holds it): its directory must exist and be writable, and the file, if there, too.
std::string store_path_problem(const fs::path& file) {
    std::error_code ec;
    const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    if (!fs::is_directory(dir, ec))
        return "directory " + dir.string() + " does not exist: create it, or point store.sqlite elsewhere";
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        return "directory " + dir.string() + " is not writable by this user: the store and its WAL live there";
    if (fs::exists(file, ec) && (!fs::is_regular_file(file, ec) || ::access(file.c_str(), R_OK | W_OK) != 0))
        return file.string() + " is not a file this user can read and write";
    return {};
}

// store.postgres, its TLS settings and its number of connections; the settings that apply to an
// SQLite store only are refused beside it.
void read_postgres_store(const json::object& store, daemon_config& out, const fs::path& file, checker& check) {
    const std::string url = check.string(store, "postgres", "store", false);
    const json::object* tls = check.object(store.if_contains("tls"), "store.tls");
    const auto connections = static_cast<std::size_t>(check.integer(store, "connections", "store", 4, 1, 100));
    const std::chrono::milliseconds lease(check.integer(store, "lease_ms", "store", 10'000, 1'000, 600'000));
    if (url.empty()) {
        for (const char* key : {"tls", "connections", "lease_ms"})
            if (store.contains(key))
                check.problem(std::string("store.") + key, "applies to a PostgreSQL store only (store.postgres)");
        return;
    }
    if (store.contains("sqlite"))
        check.problem("store", "set either sqlite (one daemon, a file) or postgres (a database server), not both");
    if (store.contains("max_size_mb"))
        check.problem("store.max_size_mb", "applies to an SQLite store only: limit a PostgreSQL database on its server");
    postgres_tls settings;
    if (tls) {
        check.unknown_keys(*tls, "store.tls", {"mode", "ca_file", "cert_file", "key_file"});
        settings.mode = check.string(*tls, "mode", "store.tls", false);
        std::string* files[] = {&settings.ca_file, &settings.cert_file, &settings.key_file};
        const char* keys[] = {"ca_file", "cert_file", "key_file"};
        for (int i = 0; i < 3; ++i) {
            const fs::path p(check.string(*tls, keys[i], "store.tls", false));
            *files[i] = p.empty() || p.is_absolute() ? p.string() : (file.parent_path() / p).string();
        }
    }
    try {
        out.postgres_store = postgres_settings(url, settings, connections);
        out.postgres_store->lease = lease;
    } catch (const std::invalid_argument& e) {
        check.problem("store.postgres", e.what());
    }
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw config_error({file.string() + ": cannot be read"});
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Replaces ${env:NAME} and ${file:PATH} in every string of the document, in place.
void resolve_secrets(json::value& v, const std::string& path, checker& check) {
    if (v.is_object()) {
        for (auto& [key, child] : v.get_object())
            resolve_secrets(child, path + "." + std::string(key), check);
    } else if (v.is_array()) {
        std::size_t i = 0;
        for (json::value& child : v.get_array())
            resolve_secrets(child, path + "[" + std::to_string(i++) + "]", check);
    } else if (v.is_string()) {
        std::string text(v.get_string());
        std::size_t at = 0;
        while ((at = text.find("${", at)) != std::string::npos) {
            const std::size_t end = text.find('}', at);
            if (end == std::string::npos)
                break;
            const std::string reference = text.substr(at + 2, end - at - 2);
            std::string value;
            if (reference.rfind("env:", 0) == 0) {
                const char* env = std::getenv(reference.substr(4).c_str());
                if (env == nullptr)
                    check.problem(path, "environment variable " + reference.substr(4) + " is not set");
                else
                    value = env;
            } else if (reference.rfind("file:", 0) == 0) {
                std::ifstream in(reference.substr(5), std::ios::binary);
                if (!in)
                    check.problem(path, "secret file " + reference.substr(5) + " cannot be read");
                std::getline(in, value);
            } else {
                check.problem(path, "unknown reference ${" + reference + "}: use ${env:NAME} or ${file:PATH}");
            }
            check.secret(value, "${" + reference + "}");
            text.replace(at, end - at + 1, value);
            at += value.size();
        }
        v = text;
    }
}

void read_routes(const json::object& doc, daemon_config& out, checker& check) {
    const json::object* routes = check.object(doc.if_contains("routes"), "routes");
    if (routes == nullptr) {
        if (!doc.contains("routes"))
            check.problem("routes", "is required: at least one route");
        return;
    }
    for (const auto& [name, value] : *routes) {
        const std::string path = "routes." + std::string(name);
        std::vector<std::string> problems;
        core::route r = core::read_route(std::string(name), value, path, problems);
        for (const core::route_step& step : r.steps) {
            const bool known = std::any_of(out.providers.begin(), out.providers.end(),
                                           [&](const provider_config& p) { return p.name == step.provider; });
            if (!step.provider.empty() && !known)
                problems.push_back(path + step.where + ".provider: no provider instance named '" + step.provider + "'");
        }
        for (const std::string& p : problems)
            check.problem(p);
        out.routes.emplace(r.name, std::move(r));
    }
}

void read_providers(const json::object& doc, daemon_config& out, checker& check) {
    const json::object* providers = check.object(doc.if_contains("providers"), "providers");
    if (providers == nullptr) {
        if (!doc.contains("providers"))
            check.problem("providers", "is required: at least one provider instance");
        return;
    }
    for (const auto& [name, value] : *providers) {
        const std::string path = "providers." + std::string(name);
        const json::object* p = check.object(&value, path);
        if (p == nullptr)
            continue;
        check.unknown_keys(*p, path, {"plugin", "config", "rate_limits", "max_recipients_per_call", "calls_in_flight",
                                      "receipt_token", "suppress_on_codes", "circuit_breaker"});
        if (const json::object* breaker = check.object(p->if_contains("circuit_breaker"), path + ".circuit_breaker")) {
            const std::string at = path + ".circuit_breaker";
            check.unknown_keys(*breaker, at, {"failure_ratio", "window_calls", "min_calls", "cool_down_ms"});
            core::circuit_breaker_settings b;
            if (const json::value* ratio = breaker->if_contains("failure_ratio")) {
                if (!ratio->is_number() || ratio->to_number<double>() <= 0 || ratio->to_number<double>() > 1)
                    check.problem(at + ".failure_ratio", "expected a number above 0 and at most 1 (0.5: half the calls)");
                else
                    b.failure_ratio = ratio->to_number<double>();
            }
            b.window_calls = static_cast<std::size_t>(check.integer(*breaker, "window_calls", at, 20, 1, 10'000));
            b.min_calls = static_cast<std::size_t>(check.integer(*breaker, "min_calls", at, 10, 1, 10'000));
            if (b.min_calls > b.window_calls)
                check.problem(at + ".min_calls", "must be at most window_calls (" + std::to_string(b.window_calls) + ")");
            b.cool_down = std::chrono::milliseconds(check.integer(*breaker, "cool_down_ms", at, 30'000, 1, 86'400'000));
            out.dispatch.circuit_breakers.emplace(std::string(name), b);
        }
        if (const json::value* codes = p->if_contains("suppress_on_codes")) {
            const auto bad = [](const json::value& c) { return !c.is_string() || c.get_string().empty(); };
            if (!codes->is_array() || std::any_of(codes->get_array().begin(), codes->get_array().end(), bad))
                check.problem(path + ".suppress_on_codes",
                              "expected an array of the vendor's receipt codes (strings) that mean an opt-out or a block");
            else
                for (const json::value& c : codes->get_array())
                    out.dispatch.suppress_on_codes[std::string(name)].insert(std::string(c.get_string()));
        }
        if (p->contains("calls_in_flight"))
            out.dispatch.in_flight_limits.emplace(
                std::string(name), static_cast<std::size_t>(check.integer(*p, "calls_in_flight", path, 1, 1, 256)));
        // A lower per-call limit than the plugin's own, e.g. when the plugin's settings lower it.
        if (p->contains("max_recipients_per_call"))
            out.dispatch.batch_limits.emplace(
                std::string(name), static_cast<std::size_t>(check.integer(*p, "max_recipients_per_call", path, 1, 1, 1'000'000)));
        if (const json::object* limits = check.object(p->if_contains("rate_limits"), path + ".rate_limits")) {
            check.unknown_keys(*limits, path + ".rate_limits", {"requests_per_second", "recipients_per_second"});
            core::rate_override o;
            for (const auto& [key, value] : *limits) {
                if (key != "requests_per_second" && key != "recipients_per_second")
                    continue;  // reported above as not a known setting
                if (!value.is_number() || value.to_number<double>() < 0) {
                    check.problem(path + ".rate_limits." + std::string(key), "expected a number of at least 0 (0: no limit)");
                    continue;
                }
                (key == "requests_per_second" ? o.requests_per_second : o.recipients_per_second) = value.to_number<double>();
            }
            out.dispatch.rate_overrides.emplace(std::string(name), o);
        }
        provider_config pc{std::string(name), check.string(*p, "plugin", path, true), "{}", {}};
        pc.receipt_token = check.string(*p, "receipt_token", path, false);
        if (!pc.receipt_token.empty() && pc.receipt_token.size() < 16)
            check.problem(path + ".receipt_token", "expected at least 16 characters (use ${env:NAME})");
        if (const json::object* config = check.object(p->if_contains("config"), path + ".config"))
            pc.config_json = json::serialize(*config);
        out.providers.push_back(std::move(pc));
    }
}

void read_api_access(const json::object& doc, daemon_config& out, checker& check) {
    if (const json::value* open = doc.if_contains("open_api")) {
        if (!open->is_bool())
            check.problem("open_api", "expected true or false");
        else
            out.open_api = open->get_bool();
    }
    if (const json::value* console = doc.if_contains("console")) {
        if (!console->is_bool())
            check.problem("console", "expected true (serve the web console at /console/) or false");
        else
            out.console = console->get_bool();
    }
    if (const json::object* keys = check.object(doc.if_contains("api_keys"), "api_keys"))
        for (const auto& [name, key] : *keys) {
            if (!key.is_string() || key.get_string().size() < 16)
                check.problem("api_keys." + std::string(name), "expected a key of at least 16 characters (use ${env:NAME})");
            else
                out.api_keys.emplace(std::string(name), std::string(key.get_string()));
        }
    if (out.api_keys.empty() && !out.open_api)
        check.problem("api_keys", "is required: name at least one client key, or set \"open_api\": true to serve "
                                  "the API without keys (only where the network is trusted)");
}

// How vendors reach the daemon when a proxy stands in front of it (see callback_url.hpp).
void read_callback_origin(const json::object& server, callback_origin& out, checker& check) {
    if (server.contains("public_url")) {
        out.public_url = check.string(server, "public_url", "http_server", true);
        if (const std::string why = out.public_url.empty() ? "" : public_url_problem(out.public_url); !why.empty())
            check.problem("http_server.public_url", why);
    }
    const json::value* proxies = server.if_contains("trusted_proxies");
    if (proxies == nullptr)
        return;
    if (!proxies->is_array()) {
        check.problem("http_server.trusted_proxies", "expected an array of IP addresses");
        return;
    }
    for (std::size_t i = 0; i < proxies->get_array().size(); ++i) {
        const json::value& proxy = proxies->get_array()[i];
        const std::string address = proxy.is_string() ? canonical_ip(std::string(proxy.get_string())) : "";
        if (address.empty())
            check.problem("http_server.trusted_proxies[" + std::to_string(i) + "]",
                          "expected an IP address such as \"127.0.0.1\" or \"::1\", got " + core::excerpt(json::serialize(proxy)));
        else
            out.trusted_proxies.push_back(address);
    }
}

void read_http_server(const json::object& doc, daemon_config& out, checker& check) {
    const json::object* server = check.object(doc.if_contains("http_server"), "http_server");
    if (server == nullptr)
        return;
    check.unknown_keys(*server, "http_server",
                       {"max_connections", "max_header_bytes", "header_timeout_ms", "body_timeout_ms", "idle_timeout_ms",
                        "public_url", "trusted_proxies"});
    read_callback_origin(*server, out.receipt_origin, check);
    http_server_limits& l = out.server;
    l.max_connections = static_cast<std::size_t>(
        check.integer(*server, "max_connections", "http_server", static_cast<std::int64_t>(l.max_connections), 1, 1'000'000));
    l.max_header_bytes = static_cast<std::size_t>(
        check.integer(*server, "max_header_bytes", "http_server", static_cast<std::int64_t>(l.max_header_bytes), 1024, 1 << 20));
    for (const auto& [key, timeout] : {std::pair{"header_timeout_ms", &l.header_timeout}, {"body_timeout_ms", &l.body_timeout},
                                       {"idle_timeout_ms", &l.idle_timeout}})
        *timeout = std::chrono::milliseconds(check.integer(*server, key, "http_server", timeout->count(), 100, 3'600'000));
}

void read_limits(const json::object& doc, daemon_config& out, checker& check) {
    const json::object* limits = check.object(doc.if_contains("limits"), "limits");
    if (limits == nullptr)
        return;
    check.unknown_keys(*limits, "limits", {"max_unfinished_jobs", "max_open_jobs", "max_recipients_per_job"});
    job_limits& l = out.jobs;
    l.max_unfinished_jobs = static_cast<std::size_t>(
        check.integer(*limits, "max_unfinished_jobs", "limits", static_cast<std::int64_t>(l.max_unfinished_jobs), 1, 10'000'000));
    l.max_open_jobs = static_cast<std::size_t>(
        check.integer(*limits, "max_open_jobs", "limits", static_cast<std::int64_t>(l.max_open_jobs), 1, 10'000'000));
    l.max_recipients_per_job =
        check.integer(*limits, "max_recipients_per_job", "limits", l.max_recipients_per_job, 1, 1'000'000'000);
}

void read_http(const json::object& doc, daemon_config& out, checker& check) {
    const json::object* http = check.object(doc.if_contains("http_client"), "http_client");
    if (http == nullptr)
        return;
    check.unknown_keys(*http, "http_client", {"connect_timeout_ms", "request_timeout_ms", "max_response_bytes", "ca_file"});
    out.http.connect_timeout = std::chrono::milliseconds(
        check.integer(*http, "connect_timeout_ms", "http_client", out.http.connect_timeout.count(), 1, 600'000));
    out.http.request_timeout = std::chrono::milliseconds(
        check.integer(*http, "request_timeout_ms", "http_client", out.http.request_timeout.count(), 1, 600'000));
    out.http.max_response_bytes = static_cast<std::size_t>(check.integer(
        *http, "max_response_bytes", "http_client", static_cast<std::int64_t>(out.http.max_response_bytes), 1024, 1 << 30));
    out.http.ca_file = check.string(*http, "ca_file", "http_client", false);
}

void read_dispatch(const json::object& doc, daemon_config& out, checker& check) {
    const json::object* d = check.object(doc.if_contains("dispatch"), "dispatch");
    if (d == nullptr)
        return;
    check.unknown_keys(*d, "dispatch", {"max_attempts", "base_backoff_ms", "max_backoff_ms", "receipt_poll_ms", "calls_in_flight",
                                        "max_receipts_per_callback", "max_early_receipts"});
    for (const auto& [key, bound] : {std::pair{"max_receipts_per_callback", &out.dispatch.max_receipts_per_callback},
                                     {"max_early_receipts", &out.dispatch.max_early_receipts}})
        *bound = static_cast<std::size_t>(check.integer(*d, key, "dispatch", static_cast<std::int64_t>(*bound), 1, 100'000'000));
    out.dispatch.calls_in_flight = static_cast<std::size_t>(
        check.integer(*d, "calls_in_flight", "dispatch", static_cast<std::int64_t>(out.dispatch.calls_in_flight), 1, 256));
    out.dispatch.receipt_poll = std::chrono::milliseconds(
        check.integer(*d, "receipt_poll_ms", "dispatch", out.dispatch.receipt_poll.count(), 10, 86'400'000));
    out.dispatch.max_attempts = static_cast<int>(check.integer(*d, "max_attempts", "dispatch", out.dispatch.max_attempts, 1, 100));
    out.dispatch.base_backoff = std::chrono::milliseconds(
        check.integer(*d, "base_backoff_ms", "dispatch", out.dispatch.base_backoff.count(), 1, 3'600'000));
    out.dispatch.max_backoff = std::chrono::milliseconds(
        check.integer(*d, "max_backoff_ms", "dispatch", out.dispatch.max_backoff.count(), 1, 86'400'000));
}

void read_log(const json::object& doc, daemon_config& out, const fs::path& config_file, checker& check) {
    const json::object* log = check.object(doc.if_contains("log"), "log");
    if (log == nullptr)
        return;
    check.unknown_keys(*log, "log", {"level", "format", "file"});
    const auto one_of = [&](std::string_view key, std::initializer_list<std::string_view> allowed, std::string& into) {
        if (!log->contains(key))
            return;
        const std::string value = check.string(*log, key, "log", true);
        if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
            into = value;
            return;
        }
        std::string names;
        for (std::string_view a : allowed)
            names += (names.empty() ? "" : ", ") + std::string(a);
        check.problem("log." + std::string(key), "expected one of " + names + ", found '" + value + "'");
    };
    one_of("level", {"trace", "debug", "info", "warn", "error", "critical", "off"}, out.log.level);
    one_of("format", {"text", "json"}, out.log.format);
    if (log->contains("file")) {
        const fs::path file(check.string(*log, "file", "log", true));
        out.log.file = file.is_absolute() || file.empty() ? file : config_file.parent_path() / file;
    }
}

} // namespace

config_error::config_error(const std::vector<std::string>& problems)
    : std::runtime_error(join_lines(problems)), problems_(problems) {}

daemon_config load_config(const fs::path& file) { return read_config(read_file(file), file); }

daemon_config read_config(std::string_view text, const fs::path& file) {
    json::parse_options options;
    options.allow_comments = true;
    options.allow_trailing_commas = true;
    boost::system::error_code ec;
    json::value doc = json::parse(text, ec, {}, options);
    if (ec)
        throw config_error({file.string() + ": not valid JSON (" + ec.message() + ")"});
    if (!doc.is_object())
        throw config_error({file.string() + ": expected a JSON object at the top"});

    checker check;
    resolve_secrets(doc, "", check);
    const json::object& top = doc.get_object();
    check.unknown_keys(top, "", {"listen", "plugin_dirs", "providers", "routes", "http_client", "http_server", "dispatch", "limits",
                                 "max_request_bytes", "store", "shutdown_grace_ms", "api_keys", "open_api",
                                 "default_region", "log", "console"});
    daemon_config out;
    if (top.contains("listen"))
        out.listen = check.string(top, "listen", "", true);
    if (const std::string why = out.listen.empty() ? "" : listen_problem(out.listen); !why.empty())
        check.problem("listen", why);
    if (const json::value* dirs = top.if_contains("plugin_dirs")) {
        if (!dirs->is_array())
            check.problem("plugin_dirs", "expected an array of directories");
        else
            for (const json::value& dir : dirs->get_array()) {
                if (!dir.is_string()) {
                    check.problem("plugin_dirs", "expected an array of directories");
                    continue;
                }
                const fs::path p(std::string(dir.get_string()));
                out.plugin_dirs.push_back(p.is_absolute() ? p : file.parent_path() / p);
            }
    }
    if (top.contains("default_region")) {
        out.default_region = check.string(top, "default_region", "", true);
        if (!out.default_region.empty() && !core::is_supported_region(out.default_region))
            check.problem("default_region", "'" + out.default_region +
                                                "' is not a region code: use ISO 3166-1 alpha-2, such as \"HK\" or \"CN\"");
    }
    out.max_request_bytes = static_cast<std::size_t>(
        check.integer(top, "max_request_bytes", "", static_cast<std::int64_t>(out.max_request_bytes), 1024, 1LL << 31));
    out.shutdown_grace = std::chrono::milliseconds(
        check.integer(top, "shutdown_grace_ms", "", out.shutdown_grace.count(), 0, 600'000));
    if (const json::object* store = check.object(top.if_contains("store"), "store")) {
        check.unknown_keys(*store, "store", {"sqlite", "postgres", "tls", "connections", "lease_ms", "retention_hours", "max_size_mb"});
        out.store_max_bytes = check.integer(*store, "max_size_mb", "store", 0, 0, 64LL * 1024 * 1024) * 1024 * 1024;
        out.retention = std::chrono::hours(check.integer(*store, "retention_hours", "store", out.retention.count(), 1, 24 * 3650));
        const fs::path db(check.string(*store, "sqlite", "store", false));
        if (!db.empty())
            out.sqlite_store = db.is_absolute() ? db : file.parent_path() / db;
        if (const std::string why = db.empty() ? "" : store_path_problem(out.sqlite_store); !why.empty())
            check.problem("store.sqlite", why);
        read_postgres_store(*store, out, file, check);
    }
    read_api_access(top, out, check);
    read_providers(top, out, check);
    read_routes(top, out, check);
    read_http(top, out, check);
    read_http_server(top, out, check);
    read_limits(top, out, check);
    read_dispatch(top, out, check);
    read_log(top, out, file, check);
    out.secrets = check.secrets();
    if (!check.problems().empty()) {
        std::vector<std::string> problems;
        for (const std::string& p : check.problems())
            problems.push_back(redact(out, file.string() + ": " + (p.rfind(".", 0) == 0 ? p.substr(1) : p)));
        throw config_error(problems);
    }
    return out;
}

std::string redact(const daemon_config& config, std::string text) {
    for (const auto& [value, reference] : config.secrets)
        for (std::size_t at = 0; (at = text.find(value, at)) != std::string::npos; at += reference.size())
            text.replace(at, value.size(), reference);
    return text;
}

} // namespace switchboard::host
