#include "postgres_settings.hpp"

#include <switchboard/core/excerpt.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <array>
#include <stdexcept>

#include <unistd.h>

namespace switchboard::host {

namespace {

constexpr const char* system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr std::array tls_modes{"verify-full", "verify-ca", "require", "prefer", "disable"};

bool is_loopback(const std::string& host) {
    return host.empty() || host.front() == '/' || host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" ||
           host == "::1";
}

void require_readable(const std::string& file, const std::string& what) {
    if (!file.empty() && ::access(file.c_str(), R_OK) != 0)
        throw std::invalid_argument("store.tls." + what + ": " + file + " cannot be read by this user");
}

} // namespace

core::postgres_store_settings postgres_settings(const std::string& url, const postgres_tls& tls, std::size_t connections) {
    auto parsed = boost::urls::parse_uri(url);
    // Not quoted: a URL that does not parse may hold its password anywhere (one with a '#' or '@'
    // not percent-encoded, say).
    if (!parsed || (parsed->scheme() != "postgresql" && parsed->scheme() != "postgres"))
        throw std::invalid_argument("not a postgresql:// URL: write postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
                                    "(the password as ${env:NAME}, with any of : / ? # @ % in it percent-encoded)");
    boost::urls::url target(*parsed);
    for (const auto& param : target.params())
        if (param.key.rfind("ssl", 0) == 0)
            throw std::invalid_argument("the URL sets " + param.key +
                                        ": set TLS in store.tls (mode, ca_file, cert_file, key_file) instead");
    std::string host = target.host();
    if (host.empty())
        if (const auto socket = target.params().find("host"); socket != target.params().end())
            host = (*socket).value;
    if (host.empty())
        throw std::invalid_argument("'" + core::excerpt(target.remove_password().buffer()) +
                                    "' names no server: write postgresql://USER:PASSWORD@HOST:PORT/DATABASE");

    std::string mode = tls.mode.empty() ? (is_loopback(host) ? "prefer" : "verify-full") : tls.mode;
    if (std::find(tls_modes.begin(), tls_modes.end(), mode) == tls_modes.end())
        throw std::invalid_argument("store.tls.mode: '" + core::excerpt(mode) +
                                    "' is not one of verify-full, verify-ca, require, prefer, disable");
    require_readable(tls.ca_file, "ca_file");
    require_readable(tls.cert_file, "cert_file");
    require_readable(tls.key_file, "key_file");
    if (tls.cert_file.empty() != tls.key_file.empty())
        throw std::invalid_argument("store.tls: cert_file and key_file go together: give both, or neither");
    target.params().set("sslmode", mode);
    if (mode.rfind("verify", 0) == 0)
        target.params().set("sslrootcert", tls.ca_file.empty() ? system_ca_bundle : tls.ca_file);
    if (!tls.cert_file.empty()) {
        target.params().set("sslcert", tls.cert_file);
        target.params().set("sslkey", tls.key_file);
    }
    if (!target.params().contains("connect_timeout"))
        target.params().set("connect_timeout", "10");
    if (!target.params().contains("application_name"))
        target.params().set("application_name", "switchboard");
    // A database that vanished without closing the connection (a network cut) is found in about
    // 25 s instead of the system's two hours.
    for (const auto& [key, value] : {std::pair{"keepalives_idle", "10"}, {"keepalives_interval", "5"},
                                     {"keepalives_count", "3"}})
        if (!target.params().contains(key))
            target.params().set(key, value);

    boost::urls::url shown(target);
    shown.remove_password().remove_query();
    return {std::string(target.buffer()), std::string(shown.buffer()) + " (TLS " + mode + ")", connections};
}

} // namespace switchboard::host
