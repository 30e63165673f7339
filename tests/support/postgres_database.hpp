// A database of its own on the private test cluster (scripts/postgres_cluster.sh, started by ctest
// as the "postgres" fixture), made for one test and dropped after it.
#pragma once

#include <string>

namespace switchboard::testing {

// The cluster's URL (postgresql://switchboard:…@127.0.0.1:PORT/postgres), read from the file that
// SWITCHBOARD_TEST_POSTGRES names. Throws std::runtime_error saying how to get one when it is missing.
std::string test_cluster_url();

class postgres_database {
public:
    postgres_database();   // CREATE DATABASE with a name no other test uses
    ~postgres_database();  // DROP DATABASE, sessions still on it cut
    postgres_database(const postgres_database&) = delete;
    postgres_database& operator=(const postgres_database&) = delete;

    const std::string& name() const noexcept { return name_; }
    // Its URL, password included.
    const std::string& url() const noexcept { return url_; }
    // Runs SQL on it, as its owner; throws std::runtime_error with the server's message.
    void exec(const std::string& sql) const;
    // The first column of the first row of a query, as text.
    std::string value(const std::string& sql) const;

private:
    std::string name_;
    std::string url_;
};

// Runs SQL on the cluster's own `postgres` database (CREATE and DROP DATABASE, pg_terminate_backend).
std::string run_on_cluster(const std::string& sql);

} // namespace switchboard::testing
