// The PostgreSQL store, on the private test cluster ctest starts (the "postgres" fixture): the
// contract every store keeps, and what is PostgreSQL's own (migrations under a lock, one daemon a
// database, connections lost and made again, errors that name the server but never the password).
#include "store_contract.hpp"

#include <switchboard/core/postgres_job_store.hpp>

#include <postgres_database.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace switchboard::core;
using namespace switchboard::core::testing;
using switchboard::testing::postgres_database;
using switchboard::testing::run_on_cluster;

namespace {

std::unique_ptr<job_store> open_store(const std::string& url, std::size_t connections = 2) {
    return open_postgres_job_store({url, "the test cluster", connections});
}

// Ends every session on the database, as a restart of the server would.
void cut_sessions(const postgres_database& db) {
    run_on_cluster("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db.name() + "'");
}

// Calls `read` until it works, as a client retrying a 503 would: false when it never did.
template <class F>
bool works_again(F read) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        try {
            read();
            return true;
        } catch (const store_error&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    return false;
}

} // namespace

TEST_CASE("postgres job store keeps the store contract", "[store][postgres]") {
    postgres_database db;
    const auto store = open_store(db.url());
    check_store_contract(*store);
}

TEST_CASE("postgres job store: what was committed is there for the next daemon", "[store][postgres]") {
    postgres_database db;
    {
        const auto store = open_store(db.url());
        store->create_job(a_job("j1", 3, "key-1"), numbered(3));
        recipient_update accepted = to_state(2, recipient_state::accepted);
        accepted.message_id = "m-2";
        store->apply("j1", {accepted});
    }
    const auto reopened = open_store(db.url());
    REQUIRE(reopened->find_job_by_idempotency_key("key-1"));
    const auto all = reopened->recipients("j1", 0, 10);
    REQUIRE(all.size() == 3);
    CHECK(all[2].state == recipient_state::accepted);
    CHECK(all[2].message_id == "m-2");
    CHECK(reopened->count_by_state("j1").at(recipient_state::queued) == 2);
    CHECK(db.value("SELECT COUNT(*) FROM schema_migrations") == std::to_string(postgres_schema_version));
}

TEST_CASE("postgres job store: daemons starting together make the schema once, and one of them keeps the database",
          "[store][postgres]") {
    postgres_database db;
    constexpr int starting = 4;
    std::atomic<int> opened{0};
    std::vector<std::string> refusals(starting);
    std::vector<std::unique_ptr<job_store>> stores(starting);
    {
        std::vector<std::jthread> daemons;
        for (int i = 0; i < starting; ++i)
            daemons.emplace_back([&, i] {
                try {
                    stores[i] = open_store(db.url(), 1);
                    ++opened;
                } catch (const store_error& e) {
                    refusals[i] = e.what();
                }
            });
    }
    CHECK(opened == 1);
    for (const std::string& refusal : refusals)
        if (!refusal.empty())
            CHECK_THAT(refusal, Catch::Contains("is in use by another switchboard daemon") &&
                                    Catch::Contains("stop the other one"));
    CHECK(db.value("SELECT string_agg(version::text, ',') FROM schema_migrations") == "1");
}

TEST_CASE("postgres job store: a database in use is refused, and free again once closed", "[store][postgres]") {
    postgres_database db;
    {
        const auto first = open_store(db.url());
        CHECK_THROWS_WITH(open_store(db.url()), Catch::Contains("is in use by another switchboard daemon (server process"));
    }
    const auto second = open_store(db.url());
    second->create_job(a_job("j1", 1), numbered(1));
    CHECK(second->find_job("j1"));
}

TEST_CASE("postgres job store: a schema newer than this build's is refused, and left as it was", "[store][postgres]") {
    postgres_database db;
    open_store(db.url());
    db.exec("INSERT INTO schema_migrations (version) VALUES (99)");
    CHECK_THROWS_WITH(open_store(db.url()), Catch::Contains("has schema version 99, newer than this switchboard's 1"));
    CHECK(db.value("SELECT COUNT(*) FROM schema_migrations") == "2");
}

TEST_CASE("postgres job store: a server that refuses the login or cannot be reached is one clear error, "
          "never showing the password", "[store][postgres]") {
    postgres_database db;
    const std::string url = db.url();
    const std::string password = url.substr(url.find(':', 14) + 1, url.find('@') - url.find(':', 14) - 1);
    REQUIRE(password.size() >= 16);
    SECTION("a wrong password") {
        std::string wrong = url;
        wrong.replace(wrong.find(password), password.size(), "not-the-password");
        try {
            open_store(wrong);
            FAIL("a wrong password was let in");
        } catch (const store_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("cannot connect to the PostgreSQL store at the test cluster") &&
                                     Catch::Contains("password authentication failed") &&
                                     !Catch::Contains("not-the-password") && !Catch::Contains(password));
        }
    }
    SECTION("no server on the port") {
        CHECK_THROWS_WITH(open_store("postgresql://switchboard:" + password + "@127.0.0.1:1/x?connect_timeout=5"),
                          Catch::Contains("cannot connect") && Catch::Contains("127.0.0.1") &&
                              Catch::Contains("check that the server runs") && !Catch::Contains(password));
    }
}

TEST_CASE("postgres job store: connections lost with the server's sessions are made again, and nothing committed is lost",
          "[store][postgres]") {
    postgres_database db;
    const auto store = open_store(db.url(), 2);
    store->create_job(a_job("j1", 3), numbered(3));
    cut_sessions(db);
    // Each lost connection fails the one call that finds it lost (503 for the API's client), then
    // is connected again on its next use.
    CHECK(works_again([&] { store->apply("j1", {to_state(0, recipient_state::accepted)}); }));
    CHECK(works_again([&] { REQUIRE(store->recipients("j1", 0, 10).size() == 3); }));
    CHECK(store->count_by_state("j1").at(recipient_state::accepted) == 1);
    CHECK(store->count_by_state("j1").at(recipient_state::queued) == 2);
    CHECK(store->write_problem().empty());
}

TEST_CASE("postgres job store: a daemon whose database another daemon took while its connection was lost writes nothing more",
          "[store][postgres]") {
    postgres_database db;
    const auto first = open_store(db.url(), 1);
    first->create_job(a_job("j1", 2), numbered(2));
    cut_sessions(db);
    const auto second = open_store(db.url(), 1);   // free now: the first one's hold went with its session
    std::string refusal;
    for (int attempt = 0; attempt < 100 && refusal.find("took") == std::string::npos; ++attempt) {
        try {
            first->apply("j1", {to_state(0, recipient_state::failed)});
        } catch (const store_error& e) {
            refusal = e.what();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    CHECK_THAT(refusal, Catch::Contains("another switchboard daemon took the PostgreSQL store at the test cluster") &&
                            Catch::Contains("writes nothing more"));
    CHECK_THROWS_AS(first->claim("j1", {1}, "p"), store_error);
    CHECK(second->count_by_state("j1").at(recipient_state::queued) == 2);
    CHECK_THAT(first->write_problem(), Catch::Contains("another switchboard daemon took"));
}
