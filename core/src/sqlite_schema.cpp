// The store's schema, as numbered migrations: a file is brought from whatever version it has to
// this build's, in one transaction, and a file from a newer build is refused rather than guessed at.
#include "sqlite_schema.hpp"

namespace switchboard::core::sqlite {

namespace {

constexpr const char* schema_v1 = R"sql(
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    state INTEGER NOT NULL,
    recipient_count INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT UNIQUE,
    request_hash TEXT NOT NULL DEFAULT '',
    deadline_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE recipients (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    ref TEXT NOT NULL,
    params TEXT NOT NULL,
    state INTEGER NOT NULL,
    step INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE INDEX recipients_by_state ON recipients (job_id, state, idx);
-- Counts per state, kept by triggers, so that a job's counts cost the same at 10 or 10 million recipients.
CREATE TABLE job_counts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    state INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (job_id, state)
) WITHOUT ROWID;
CREATE TRIGGER recipients_counted_on_insert AFTER INSERT ON recipients BEGIN
    INSERT INTO job_counts (job_id, state, count) VALUES (NEW.job_id, NEW.state, 1)
        ON CONFLICT (job_id, state) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER recipients_counted_on_update AFTER UPDATE OF state ON recipients WHEN OLD.state != NEW.state BEGIN
    UPDATE job_counts SET count = count - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
    INSERT INTO job_counts (job_id, state, count) VALUES (NEW.job_id, NEW.state, 1)
        ON CONFLICT (job_id, state) DO UPDATE SET count = count + 1;
END;
)sql";

// Version 2: routes stored with their jobs, a default region per job, the steps each recipient
// tried, and the indexes receipts and duplicate checks look recipients up by.
constexpr const char* schema_v2 = R"sql(
ALTER TABLE jobs ADD COLUMN route_json TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN send_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recipients ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
CREATE INDEX recipients_by_message ON recipients (provider, message_id) WHERE message_id != '';
CREATE INDEX recipients_awaiting_receipt ON recipients (provider, message_id) WHERE state = 9;
CREATE INDEX recipients_by_address ON recipients (job_id, recipient);
CREATE TABLE early_receipts (
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX early_receipts_by_message ON early_receipts (provider, message_id);
CREATE INDEX early_receipts_by_age ON early_receipts (received_at_ms);
-- Recipients arrive by the thousand: their counts are added once a page (insert_recipients), not by
-- a trigger once a row.
DROP TRIGGER IF EXISTS recipients_counted_on_insert;
CREATE INDEX recipients_awaiting_until ON recipients (job_id, next_attempt_at_ms) WHERE state = 9;
)sql";

// Version 3: the engine writes each recipient twice per vendor call (into the call, then its
// outcome), and every index a write touches is paid for on each of those writes. Counts are kept
// by the store's code once a write, not by a trigger once a row; the state index gives way to
// partial indexes holding only recipients waiting for a call (in the order they come due) and
// those in a state that is rare in a job (failed, unknown, cancelled, skipped, awaiting a
// receipt: the states numbered 4 and up), so that going into a call and being accepted touch as
// few indexes as possible.
constexpr const char* schema_v3 = R"sql(
DROP TRIGGER IF EXISTS recipients_counted_on_update;
DROP INDEX IF EXISTS recipients_by_state;
CREATE INDEX recipients_due ON recipients (job_id, next_attempt_at_ms, idx) WHERE state = 0;
CREATE INDEX recipients_by_rare_state ON recipients (job_id, state, idx) WHERE state >= 4;
-- One row the readiness check writes: a store that cannot take this write cannot take any.
CREATE TABLE health (probed_at_ms INTEGER NOT NULL);
INSERT INTO health VALUES (0);
)sql";

// Version 4: the suppression list, one row an address and channel ('*': every channel).
constexpr const char* schema_v4 = R"sql(
CREATE TABLE suppressions (
    address TEXT NOT NULL,
    channel TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (address, channel)
) WITHOUT ROWID;
)sql";

// Version 5: recipients taken into a vendor call are recorded by one row for the call, their
// indexes as runs ("0-999"), not by rewriting each recipient's row (sqlite_calls_in_flight.hpp):
// half of the writes a recipient cost. Rows left "sending" (state 1) by an earlier version are
// still read as in a call.
constexpr const char* schema_v5 = R"sql(
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    indexes TEXT NOT NULL
);
CREATE INDEX calls_by_job ON calls (job_id);
)sql";

int user_version(const connection& db) {
    statement s(db, "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

} // namespace

void migrate(connection& db, const std::string& file) {
    const int found = user_version(db);
    if (found > schema_version)
        throw store_error("store " + file + " has schema version " + std::to_string(found) + ", newer than this switchboard's " +
                          std::to_string(schema_version) + ": run the newer switchboard, or point the store at another file");
    if (found == schema_version)
        return;
    transaction tx(db);
    if (found < 1)
        db.exec(schema_v1);
    if (found < 2)
        db.exec(schema_v2);
    if (found < 3)
        db.exec(schema_v3);
    if (found < 4)
        db.exec(schema_v4);
    if (found < 5)
        db.exec(schema_v5);
    db.exec("PRAGMA user_version = " + std::to_string(schema_version));
    tx.commit();
}

} // namespace switchboard::core::sqlite
