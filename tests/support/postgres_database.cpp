#include "postgres_database.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <unistd.h>

namespace switchboard::testing {

namespace {

std::string query(const std::string& url, const std::string& sql) {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(url.c_str()), &PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to the test cluster: " + std::string(PQerrorMessage(c.get())));
    PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
    const std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
    const ExecStatusType status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error("test cluster refused '" + sql + "': " + PQresultErrorMessage(r.get()));
    return status == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
}

// The cluster URL with another database at its end.
std::string url_of(const std::string& database) {
    std::string url = test_cluster_url();
    return url.substr(0, url.rfind('/') + 1) + database;
}

} // namespace

std::string test_cluster_url() {
    const char* file = std::getenv("SWITCHBOARD_TEST_POSTGRES");
    if (file == nullptr)
        throw std::runtime_error("SWITCHBOARD_TEST_POSTGRES is not set: run this test through ctest, which starts the "
                                 "private cluster (scripts/postgres_cluster.sh) as the fixture \"postgres\"");
    std::ifstream in(file);
    std::string url;
    if (!std::getline(in, url) || url.empty())
        throw std::runtime_error(std::string("no cluster URL in ") + file + ": did scripts/postgres_cluster.sh start fail?");
    return url;
}

std::string run_on_cluster(const std::string& sql) { return query(test_cluster_url(), sql); }

postgres_database::postgres_database() {
    static std::atomic<int> made{0};
    name_ = "switchboard_test_" + std::to_string(::getpid()) + "_" + std::to_string(++made);
    run_on_cluster("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    run_on_cluster("CREATE DATABASE " + name_);
    url_ = url_of(name_);
}

postgres_database::~postgres_database() {
    try {
        run_on_cluster("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
        // The cluster is gone (a test that stops it); it is removed whole at the end.
    }
}

void postgres_database::exec(const std::string& sql) const { query(url_, sql); }

std::string postgres_database::value(const std::string& sql) const { return query(url_, sql); }

} // namespace switchboard::testing
