// The PostgreSQL store's schema, as numbered migrations, each applied once, recorded in
// schema_migrations, all of them in one transaction. The tables mirror the SQLite store's (the
// same states by number, the same partial indexes), so both keep the same contract.
#include "postgres_schema.hpp"

#include <switchboard/core/postgres_job_store.hpp>

#include <array>

namespace switchboard::core::postgres {

namespace {

// Held for the migration's transaction: one key for this purpose, in every database.
constexpr std::int64_t migration_lock_key = 0x5357'4244'0000'0001;   // "SWBD", 1

// Text that is ordered or paged through (ids, message ids, addresses) compares byte by byte
// (COLLATE "C"), whatever the database's locale: pages never skip or repeat a row.
//
// Version 1: the schema of SQLite's version 4 (jobs, recipients, per-state counts kept by the
// store's code, early receipts, the suppression list, the readiness probe's row).
constexpr const char* schema_v1 = R"sql(
CREATE TABLE jobs (
    id TEXT COLLATE "C" PRIMARY KEY,
    route TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    state SMALLINT NOT NULL,
    recipient_count BIGINT NOT NULL,
    finished_at_ms BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT UNIQUE,
    request_hash TEXT NOT NULL DEFAULT '',
    deadline_ms BIGINT NOT NULL DEFAULT 0,
    route_json TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    cancelled BOOLEAN NOT NULL DEFAULT false,
    send_at_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_age ON jobs (created_at_ms, id);
CREATE INDEX jobs_finished ON jobs (finished_at_ms) WHERE state = 2;
CREATE TABLE recipients (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    ref TEXT NOT NULL,
    params TEXT NOT NULL,
    state SMALLINT NOT NULL,
    step INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    provider TEXT NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    history TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX recipients_due ON recipients (job_id, next_attempt_at_ms, idx) WHERE state = 0;
CREATE INDEX recipients_by_rare_state ON recipients (job_id, state, idx) WHERE state >= 4;
CREATE INDEX recipients_awaiting_until ON recipients (job_id, next_attempt_at_ms) WHERE state = 9;
CREATE INDEX recipients_by_message ON recipients (provider, message_id) WHERE message_id != '';
CREATE INDEX recipients_awaiting_receipt ON recipients (provider, message_id) WHERE state = 9;
CREATE INDEX recipients_by_address ON recipients (job_id, recipient);
CREATE TABLE job_counts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    state SMALLINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (job_id, state)
);
CREATE TABLE early_receipts (
    seq BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX early_receipts_by_message ON early_receipts (provider, message_id);
CREATE INDEX early_receipts_by_age ON early_receipts (received_at_ms);
CREATE TABLE suppressions (
    address TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    reason TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (address, channel)
);
CREATE TABLE health (probed_at_ms BIGINT NOT NULL);
INSERT INTO health VALUES (0);
)sql";

// Version 2: several daemons on one database. Each holds a lease (daemons) and stamps the
// recipients it puts in a call with it; calls are paced over all daemons (rate_turns), and work that
// must run once at a time has one leader (leads).
constexpr const char* schema_v2 = R"sql(
ALTER TABLE recipients ADD COLUMN daemon TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX recipients_in_flight ON recipients (job_id, daemon) WHERE state = 1;
CREATE TABLE daemons (
    id TEXT COLLATE "C" PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE rate_turns (
    provider TEXT PRIMARY KEY,
    next_call_us BIGINT NOT NULL DEFAULT 0,
    next_recipient_us BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE leads (
    task TEXT PRIMARY KEY,
    daemon TEXT NOT NULL,
    until TIMESTAMPTZ NOT NULL
);
)sql";

constexpr std::array migrations{schema_v1, schema_v2};
static_assert(migrations.size() == postgres_schema_version);

} // namespace

void migrate(connection& db) {
    transaction tx(db);
    db.exec("SELECT pg_advisory_xact_lock($1)", {migration_lock_key});
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL "
            "DEFAULT now())");
    const result found = db.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    const std::int64_t version = found.integer(0, 0);
    if (version > postgres_schema_version)
        throw store_error("the PostgreSQL store at " + db.where() + " has schema version " + std::to_string(version) +
                          ", newer than this switchboard's " + std::to_string(postgres_schema_version) +
                          ": run the newer switchboard, or point store.postgres at another database");
    for (std::int64_t next = version + 1; next <= postgres_schema_version; ++next) {
        db.exec_script(migrations[static_cast<std::size_t>(next - 1)]);
        db.exec("INSERT INTO schema_migrations (version) VALUES ($1)", {next});
    }
    tx.commit();
}

} // namespace switchboard::core::postgres
