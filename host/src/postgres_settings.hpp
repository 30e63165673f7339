// store.postgres and store.tls as libpq takes them: the URL checked, TLS verified by default
// (except on loopback), and a name for the server that never carries the password.
#pragma once

#include <switchboard/core/postgres_job_store.hpp>

#include <string>

namespace switchboard::host {

struct postgres_tls {
    std::string mode;        // libpq's sslmode; empty: verify-full, or prefer on loopback and local sockets
    std::string ca_file;     // empty with verify-*: the system's CA bundle
    std::string cert_file;   // a client certificate, with key_file
    std::string key_file;
};

// The store settings for `url` (postgresql://USER:PASSWORD@HOST:PORT/DATABASE) with `tls`. Throws
// std::invalid_argument saying what is wrong and how to write it.
core::postgres_store_settings postgres_settings(const std::string& url, const postgres_tls& tls, std::size_t connections);

} // namespace switchboard::host
