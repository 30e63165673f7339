// The memory and SQLite stores: the contract every store keeps (store_contract.cpp), and what is
// SQLite's own (files, schema versions, room).
#include "store_contract.hpp"

#include <switchboard/core/job_store.hpp>
#include <switchboard/core/sqlite_job_store.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace switchboard::core;
using namespace switchboard::core::testing;

TEST_CASE("memory job store keeps the store contract", "[core][store]") {
    const auto store = make_memory_job_store();
    check_store_contract(*store);
}

namespace {
// A database file removed at the end of the test.
struct scratch_file {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("switchboard-store-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".db");
    static inline int counter = 0;
    ~scratch_file() {
        for (const char* suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(path.string() + suffix);
    }
};
} // namespace

TEST_CASE("sqlite job store keeps the store contract", "[core][store][sqlite]") {
    scratch_file file;
    const auto store = open_sqlite_job_store(file.path);
    check_store_contract(*store);
}

TEST_CASE("sqlite job store: what was committed is there after reopening", "[core][store][sqlite]") {
    scratch_file file;
    {
        const auto store = open_sqlite_job_store(file.path);
        store->create_job(a_job("j1", 3), numbered(3));
        recipient_update accepted = to_state(2, recipient_state::accepted);
        accepted.message_id = "m-2";
        store->apply("j1", {accepted});
    }
    const auto reopened = open_sqlite_job_store(file.path);
    REQUIRE(reopened->find_job("j1"));
    const auto all = reopened->recipients("j1", 0, 10);
    REQUIRE(all.size() == 3);
    CHECK(all[2].state == recipient_state::accepted);
    CHECK(all[2].message_id == "m-2");
    CHECK(all[0].to == "+85250000000");
}

TEST_CASE("sqlite job store: recipients in a call are still in it after reopening, until their outcome",
          "[core][store][sqlite]") {
    scratch_file file;
    const auto calls_left = [&] {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.path.c_str(), &db) == SQLITE_OK);
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM calls", -1, &s, nullptr);
        REQUIRE(sqlite3_step(s) == SQLITE_ROW);
        const int n = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
    };
    {   // A daemon took 0-2 and 4 into calls, heard back for 1, and was killed.
        const auto store = open_sqlite_job_store(file.path);
        store->create_job(a_job("j1", 6), numbered(6));
        CHECK(store->claim("j1", {0, 1, 2}, "sms-hk").size() == 3);
        CHECK(store->claim("j1", {4}, "voice").size() == 1);
        store->apply("j1", {to_state(1, recipient_state::accepted)});
    }
    CHECK(calls_left() == 2);
    {
        const auto reopened = open_sqlite_job_store(file.path);
        const auto in_flight = reopened->orphaned_in_flight("j1", job_store::caller::this_daemon);
        REQUIRE(in_flight.size() == 3);
        CHECK(in_flight[0].index == 0);
        CHECK(in_flight[1].index == 2);
        CHECK(in_flight[1].provider == "sms-hk");
        CHECK(in_flight[2].provider == "voice");
        CHECK(in_flight[2].attempts == 1);
        CHECK(reopened->count_by_state("j1").at(recipient_state::sending) == 3);
        CHECK(reopened->due_recipients("j1", 1'000'000, 10).size() == 2);   // 3 and 5
        CHECK(reopened->claim("j1", {0, 3}, "sms-hk") == std::vector<std::int64_t>{3});
        CHECK(reopened->apply_if("j1", recipient_state::sending,
                                 {to_state(0, recipient_state::unknown), to_state(2, recipient_state::unknown),
                                  to_state(4, recipient_state::unknown)})
                  .size() == 3);
    }
    CHECK(calls_left() == 1);   // 3's call, still out
    const auto again = open_sqlite_job_store(file.path);
    CHECK(again->recipients("j1", 0, 10, recipient_state::sending).size() == 1);
    CHECK(again->recipients("j1", 0, 10, recipient_state::unknown).size() == 3);
}

TEST_CASE("sqlite job store: recipients an earlier version left in a call (their rows say sending) are still in it",
          "[core][store][sqlite]") {
    scratch_file file;
    {
        const auto store = open_sqlite_job_store(file.path);
        store->create_job(a_job("j1", 3), numbered(3));
    }
    {   // As version 4 left a daemon killed with 0 and 1 in a call: rows in state 1, no calls table.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.path.c_str(), &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "UPDATE recipients SET state = 1, attempts = 1, provider = 'sms-hk' WHERE idx < 2; "
                               "UPDATE job_counts SET count = 1 WHERE state = 0; "
                               "INSERT INTO job_counts (job_id, state, count) VALUES ('j1', 1, 2); "
                               "DROP TABLE calls; PRAGMA user_version = 4;",
                           nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    const auto reopened = open_sqlite_job_store(file.path);
    CHECK(reopened->count_by_state("j1").at(recipient_state::sending) == 2);
    CHECK(reopened->due_recipients("j1", 1'000'000, 10).size() == 1);
    CHECK(reopened->claim("j1", {0, 1, 2}, "sms-hk") == std::vector<std::int64_t>{2});
    const auto in_flight = reopened->orphaned_in_flight("j1", job_store::caller::this_daemon);
    REQUIRE(in_flight.size() == 3);
    CHECK(in_flight[0].provider == "sms-hk");
    CHECK(reopened->settle_all("j1", recipient_state::sending, recipient_state::unknown, "outcome_unknown", "stopped") == 3);
    CHECK(reopened->count_by_state("j1").at(recipient_state::unknown) == 3);
    CHECK(reopened->count_by_state("j1").at(recipient_state::sending) == 0);
}

TEST_CASE("sqlite job store: a store of schema version 3 gains the suppression list and keeps its jobs",
          "[core][store][sqlite]") {
    scratch_file file;
    {
        const auto store = open_sqlite_job_store(file.path);
        store->create_job(a_job("j1", 2), numbered(2));
    }
    {   // as a build before the suppression list left it
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.path.c_str(), &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "DROP TABLE calls; DROP TABLE suppressions; PRAGMA user_version = 3;", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    const auto reopened = open_sqlite_job_store(file.path);
    CHECK(reopened->find_job("j1")->recipient_count == 2);
    CHECK(reopened->add_suppressions({{"+85250000001", "*", "opted out", 1000}}) == 1);
    CHECK(reopened->find_suppressions({"+85250000001"}).size() == 1);
}

TEST_CASE("sqlite job store: deleting finished jobs gives their space back", "[core][store][sqlite]") {
    scratch_file file;
    const auto store = open_sqlite_job_store(file.path);
    store->create_job(a_job("big", 20000), numbered(20000));
    const auto pages = [&file] {
        sqlite3* db = nullptr;
        sqlite3_open(file.path.c_str(), &db);
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &s, nullptr);
        sqlite3_step(s);
        const auto n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
    };
    const auto before = pages();
    store->finish_job("big", 1);
    CHECK(store->delete_finished_before(2) == 1);
    CHECK(store->recipients("big", 0, 10).empty());
    CHECK(pages() < before / 4);
}

TEST_CASE("sqlite job store: a full store refuses the change whole, says so, and keeps what it had",
          "[core][store][sqlite]") {
    scratch_file file;
    const auto store = open_sqlite_job_store(file.path, 256 * 1024);  // a quarter of a megabyte, as a full disk
    store->create_job(a_job("small", 10), numbered(10));
    CHECK_THROWS_AS(store->create_job(a_job("big", 20000), numbered(20000)), store_full);
    CHECK_THROWS_WITH(store->create_job(a_job("big", 20000), numbered(20000)),
                      Catch::Contains("is full") && Catch::Contains("raise store.max_size_mb"));
    CHECK_FALSE(store->find_job("big"));  // not half a job
    REQUIRE(store->find_job("small"));
    CHECK(store->recipients("small", 0, 100).size() == 10);
    store->apply("small", {to_state(0, recipient_state::accepted)});  // what fits still works
    CHECK(store->count_by_state("small").at(recipient_state::accepted) == 1);
}

TEST_CASE("sqlite job store: a store in use is refused, and free again once closed", "[core][store][sqlite]") {
    scratch_file file;
    {
        const auto first = open_sqlite_job_store(file.path);
        first->create_job(a_job("j1", 2), numbered(2));
        CHECK_THROWS_WITH(open_sqlite_job_store(file.path),
                          Catch::Contains("is in use by another switchboard process") &&
                              Catch::Contains("belongs to one daemon"));
        CHECK(first->find_job("j1"));  // the refused opener changed nothing
    }
    const auto second = open_sqlite_job_store(file.path);
    CHECK(second->find_job("j1"));
}

TEST_CASE("sqlite job store: unusable files are refused with one clear error", "[core][store][sqlite]") {
    SECTION("a directory that does not exist") {
        CHECK_THROWS_WITH(open_sqlite_job_store("/nonexistent/dir/switchboard.db"),
                          Catch::StartsWith("cannot open the store /nonexistent/dir/switchboard.db: ") &&
                              Catch::Contains("check that its directory exists and is writable"));
    }
    SECTION("a file that is not a database") {
        scratch_file file;
        std::ofstream(file.path) << "this is not a database, just text that is long enough to have a header page";
        CHECK_THROWS_WITH(open_sqlite_job_store(file.path), Catch::Contains("file is not a database"));
    }
    SECTION("a store file that was emptied") {
        scratch_file file;
        std::ofstream(file.path).flush();
        CHECK_THROWS_WITH(open_sqlite_job_store(file.path),
                          Catch::Contains("is an empty file") && Catch::Contains("restore it from a backup"));
    }
    SECTION("a store with a damaged page") {
        scratch_file file;
        {
            const auto store = open_sqlite_job_store(file.path);
            store->create_job(a_job("j1", 20000), numbered(20000));
        }
        {
            std::fstream damage(file.path, std::ios::in | std::ios::out | std::ios::binary);
            damage.seekp(40 * 4096);
            const std::string noise(4096, '\x5a');
            damage.write(noise.data(), static_cast<std::streamsize>(noise.size()));
        }
        CHECK_THROWS_WITH(open_sqlite_job_store(file.path), Catch::Contains("is damaged") &&
                                                                Catch::Contains("restore it from a backup"));
    }
    SECTION("a schema from a newer version") {
        scratch_file file;
        open_sqlite_job_store(file.path);
        {
            sqlite3* db = nullptr;
            sqlite3_open(file.path.c_str(), &db);
            sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
            sqlite3_close(db);
        }
        CHECK_THROWS_WITH(open_sqlite_job_store(file.path),
                          Catch::Contains("has schema version 99, newer than this switchboard's " +
                                          std::to_string(sqlite_schema_version)));
    }
    SECTION("a version 1 file is migrated, and its jobs and recipients are kept") {
        scratch_file file;
        {
            // The version 1 schema as it shipped, with one job in it.
            sqlite3* db = nullptr;
            sqlite3_open(file.path.c_str(), &db);
            sqlite3_exec(db, R"sql(
                CREATE TABLE jobs (id TEXT PRIMARY KEY, route TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                    state INTEGER NOT NULL, recipient_count INTEGER NOT NULL, finished_at_ms INTEGER NOT NULL DEFAULT 0,
                    idempotency_key TEXT UNIQUE, request_hash TEXT NOT NULL DEFAULT '', deadline_ms INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE recipients (job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
                    recipient TEXT NOT NULL, ref TEXT NOT NULL, params TEXT NOT NULL, state INTEGER NOT NULL,
                    step INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt_at_ms INTEGER NOT NULL,
                    provider TEXT NOT NULL, message_id TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
                    PRIMARY KEY (job_id, idx)) WITHOUT ROWID;
                CREATE INDEX recipients_by_state ON recipients (job_id, state, idx);
                CREATE TABLE job_counts (job_id TEXT NOT NULL, state INTEGER NOT NULL, count INTEGER NOT NULL,
                    PRIMARY KEY (job_id, state)) WITHOUT ROWID;
                CREATE TRIGGER recipients_counted_on_insert AFTER INSERT ON recipients BEGIN
                    INSERT INTO job_counts (job_id, state, count) VALUES (NEW.job_id, NEW.state, 1)
                        ON CONFLICT (job_id, state) DO UPDATE SET count = count + 1;
                END;
                CREATE TRIGGER recipients_counted_on_update AFTER UPDATE OF state ON recipients
                    WHEN OLD.state != NEW.state BEGIN
                    UPDATE job_counts SET count = count - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
                    INSERT INTO job_counts (job_id, state, count) VALUES (NEW.job_id, NEW.state, 1)
                        ON CONFLICT (job_id, state) DO UPDATE SET count = count + 1;
                END;
                INSERT INTO jobs (id, route, created_at_ms, state, recipient_count) VALUES ('old', 'otp', 1, 0, 1);
                INSERT INTO recipients VALUES ('old', 0, '+85255311111', '', '{}', 0, 0, 0, 0, '', '', '', '');
                PRAGMA user_version = 1;)sql",
                         nullptr, nullptr, nullptr);
            sqlite3_close(db);
        }
        const auto store = open_sqlite_job_store(file.path);
        REQUIRE(store->find_job("old"));
        CHECK(store->find_job("old")->route_json.empty());  // its route is the configured one of that name
        const recipient r = store->recipients("old", 0, 1).front();
        CHECK(r.to == "+85255311111");
        CHECK(r.history_json == "[]");
        CHECK(store->first_indexes("old", {"+85255311111"}).at("+85255311111") == 0);
        CHECK(store->count_by_state("old").at(recipient_state::queued) == 1);  // counted by v1's trigger
        // Recipients added after the migration are counted too (once a page, no longer by trigger).
        store->append_recipients("old", {numbered(3)[1], numbered(3)[2]});
        CHECK(store->count_by_state("old").at(recipient_state::queued) == 3);
        store->apply("old", {to_state(1, recipient_state::accepted)});
        CHECK(store->count_by_state("old").at(recipient_state::accepted) == 1);
        CHECK(store->count_by_state("old").at(recipient_state::queued) == 2);
    }
}
