// The PostgreSQL store, on the private test cluster ctest starts (the "postgres" fixture): the
// contract every store keeps, and what is PostgreSQL's own: migrations under a lock, several daemons
// on one database (leases, fencing, work split, shared pacing, leaders), connections lost and made
// again, errors that name the server but never the password.
#include "store_contract.hpp"

#include <switchboard/core/cluster.hpp>
#include <switchboard/core/postgres_job_store.hpp>

#include <postgres_database.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
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

TEST_CASE("postgres job store: daemons starting together make the schema once, and each holds a lease",
          "[store][postgres]") {
    postgres_database db;
    constexpr int starting = 4;
    std::vector<std::string> refusals(starting);
    std::vector<std::unique_ptr<job_store>> stores(starting);
    {
        std::vector<std::jthread> daemons;
        for (int i = 0; i < starting; ++i)
            daemons.emplace_back([&, i] {
                try {
                    stores[i] = open_store(db.url(), 1);
                } catch (const store_error& e) {
                    refusals[i] = e.what();
                }
            });
    }
    for (const std::string& refusal : refusals)
        CHECK(refusal.empty());
    CHECK(db.value("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations") == "1,2");
    CHECK(db.value("SELECT COUNT(*) FROM daemons") == "4");
    std::set<std::string> ids;
    for (const auto& store : stores) {
        REQUIRE(store);
        store->shared()->renew();
        CHECK(store->shared()->daemons() == 4);
        ids.insert(store->shared()->daemon_id());
    }
    CHECK(ids.size() == 4);
    stores.pop_back();   // a daemon that stops leaves at once
    CHECK(db.value("SELECT COUNT(*) FROM daemons") == "3");
}

TEST_CASE("postgres job store: daemons on one database split the work due, and each recipient goes into one call",
          "[store][postgres]") {
    postgres_database db;
    const auto first = open_store(db.url());
    const auto second = open_store(db.url());
    first->shared()->renew();
    second->shared()->renew();
    first->create_job(a_job("j1", 10), numbered(10));
    std::vector<std::int64_t> seen;
    for (const auto* store : {first.get(), second.get()})
        for (const recipient& r : store->due_recipients("j1", 2000, 100))
            seen.push_back(r.index);
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});   // each due to one daemon
    CHECK(first->due_recipients("j1", 2000, 100).size() == 5);
    // Both claim everyone at once: each recipient is taken by one of them.
    const std::vector<std::int64_t> all{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::vector<std::int64_t> by_first, by_second;
    {
        std::jthread a([&] { by_first = first->claim("j1", all, "p"); });
        std::jthread b([&] { by_second = second->claim("j1", all, "p"); });
    }
    CHECK(by_first.size() + by_second.size() == 10);
    CHECK(db.value("SELECT COUNT(DISTINCT daemon) FROM recipients WHERE state = 1") ==
          std::to_string((by_first.empty() ? 0 : 1) + (by_second.empty() ? 0 : 1)));
}

TEST_CASE("postgres job store: a daemon silent past its lease is fenced off, and its calls in flight are orphans "
          "the others settle", "[store][postgres]") {
    postgres_database db;
    const auto paused = open_postgres_job_store({db.url(), "the test cluster", 2, std::chrono::milliseconds(1000)});
    const auto alive = open_store(db.url());
    paused->create_job(a_job("j1", 4), numbered(4));
    REQUIRE(paused->claim("j1", {0, 1}, "p").size() == 2);
    CHECK(alive->shared()->jobs_with_orphans().empty());
    CHECK(alive->orphaned_in_flight("j1", job_store::caller::stopped_daemons).empty());

    std::this_thread::sleep_for(std::chrono::milliseconds(1200));   // past its lease, without renewing
    CHECK_FALSE(paused->shared()->lease_current());
    alive->shared()->renew();   // ends the silent daemon's lease
    CHECK(alive->shared()->daemons() == 1);
    CHECK(alive->shared()->jobs_with_orphans() == std::vector<std::string>{"j1"});
    CHECK(alive->orphaned_in_flight("j1", job_store::caller::stopped_daemons).size() == 2);

    // The paused daemon wakes: its claims and its outcomes are refused, and so is its renewal.
    CHECK_THROWS_AS(paused->claim("j1", {2, 3}, "p"), lease_lost);
    CHECK_THROWS_WITH(paused->apply("j1", {to_state(0, recipient_state::accepted)}),
                      Catch::Contains("lease") && Catch::Contains("has ended") &&
                          Catch::Contains("writes and sends nothing more"));
    CHECK_THROWS_AS(paused->shared()->renew(), lease_lost);
    CHECK_THAT(paused->write_problem(), Catch::Contains("has ended"));
    const auto counts = alive->count_by_state("j1");
    CHECK(counts.at(recipient_state::sending) == 2);
    CHECK(counts.at(recipient_state::queued) == 2);
    CHECK(counts.at(recipient_state::accepted) == 0);
}

TEST_CASE("postgres job store: calls are paced over all daemons, and one daemon at a time leads a task",
          "[store][postgres]") {
    postgres_database db;
    const auto first = open_store(db.url());
    const auto second = open_store(db.url());
    SECTION("turns at one call a second, taken in turn by two daemons, are a second apart whoever takes them") {
        // When each turn comes, by this process's clock: when it was asked for, plus the wait.
        std::vector<std::chrono::steady_clock::time_point> turns;
        for (int i = 0; i < 10; ++i) {
            const auto asked = std::chrono::steady_clock::now();
            turns.push_back(asked + (i % 2 == 0 ? first : second)->shared()->reserve_turn("cams", 1, 0, 1));
        }
        for (std::size_t i = 1; i < turns.size(); ++i)
            CHECK(turns[i] - turns[i - 1] >= std::chrono::milliseconds(1000));   // 1/0.95 s apart
        // The vendor says "throttled for a minute": no daemon's next turn comes sooner.
        second->shared()->hold("cams", std::chrono::minutes(1));
        CHECK(first->shared()->reserve_turn("cams", 1, 0, 1).count() >= 59'000);
    }
    SECTION("a provider without limits has no turns to wait for") {
        CHECK(first->shared()->reserve_turn("uspeedo", 0, 0, 1000).count() == 0);
    }
    SECTION("a task's leader keeps it while it asks; another takes it once the term is over") {
        CHECK(first->shared()->lead("retention", std::chrono::milliseconds(300)));
        CHECK_FALSE(second->shared()->lead("retention", std::chrono::milliseconds(300)));
        CHECK(first->shared()->lead("retention", std::chrono::milliseconds(300)));
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        CHECK(second->shared()->lead("retention", std::chrono::milliseconds(300)));
        CHECK_FALSE(first->shared()->lead("retention", std::chrono::milliseconds(300)));
    }
}

TEST_CASE("postgres job store: a schema newer than this build's is refused, and left as it was", "[store][postgres]") {
    postgres_database db;
    open_store(db.url());
    db.exec("INSERT INTO schema_migrations (version) VALUES (99)");
    CHECK_THROWS_WITH(open_store(db.url()), Catch::Contains("has schema version 99, newer than this switchboard's 2"));
    CHECK(db.value("SELECT COUNT(*) FROM schema_migrations") == "3");
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

TEST_CASE("postgres job store: a recipient claimed as read is not taken once another daemon moved it on",
          "[store][postgres]") {
    postgres_database db;
    const auto first = open_store(db.url());
    const auto second = open_store(db.url());
    first->create_job(a_job("j1", 2), numbered(2));
    const std::vector<recipient> read = first->due_recipients("j1", 2000, 10);   // before the second's call
    REQUIRE(second->claim("j1", {0, 1}, "p").size() == 2);
    recipient_update moved_on = to_state(0, recipient_state::queued);
    moved_on.step = 1;   // its receipt said undelivered: queued again, at the next step
    second->apply("j1", {moved_on, to_state(1, recipient_state::accepted)});
    std::vector<recipient> stale;
    for (const recipient& r : read)
        if (r.index == 0)
            stale.push_back(r);
    REQUIRE(stale.size() == 1);
    CHECK(first->claim_as_read("j1", stale, "p").empty());
    recipient now_queued = stale.front();
    now_queued.step = 1;
    CHECK(first->claim_as_read("j1", {now_queued}, "p") == std::vector<std::int64_t>{0});
}
